/*
 * t_parse.c — the pure parts of zramctl-glue: the comp_algorithm listing
 * parser and the one-line messages (zg_strerror, zg_module_message).  No
 * kernel involved, so these run everywhere, as any user.
 */
#include "tests/tap.h"
#include "zramctl-glue/zg_internal.h"

#include <errno.h>

static void test_algorithms(void)
{
	struct zg_algorithms a;
	is_int(zg_parse_algorithms("[lzo-rle] lzo lz4 \n", &a), 3, "host-style listing: 3 algorithms");
	is_int(a.active, 0, "active is the bracketed first one");
	is_str(a.name[0], "lzo-rle", "brackets stripped");
	is_str(a.name[2], "lz4", "last name kept");

	is_int(zg_parse_algorithms("lzo lzo-rle [zstd] deflate\n", &a), 4, "4 algorithms");
	is_int(a.active, 2, "active in the middle");
	is_int(zg_parse_algorithms("\n", &a), 0, "empty listing");
	is_int(a.active, -1, "no active algorithm");
	is_int(zg_parse_algorithms("lzo [] lz4", &a), -EPROTO, "empty brackets rejected");

	char many[512] = "";
	for (int i = 0; i < ZG_ALGOS_MAX + 1; i++)
		strcat(many, "a ");
	is_int(zg_parse_algorithms(many, &a), -EPROTO, "too many algorithms rejected");
}

static void test_strerror(void)
{
	char buf[512];
	struct zg_err e = { .id = 3, .err = -EINVAL, .wrote = true,
			    .attr = "comp_algorithm", .value = "foo",
			    .hint = "kernel offers: lzo lzo-rle [lz4]" };
	is_str(zg_strerror(&e, buf, sizeof(buf)),
	       "zram3: writing 'foo' to comp_algorithm: Invalid argument "
	       "(kernel offers: lzo lzo-rle [lz4])", "write error, one line with hint");

	struct zg_err r = { .id = -1, .err = -EACCES, .attr = "hot_add" };
	is_str(zg_strerror(&r, buf, sizeof(buf)),
	       "zram-control: reading hot_add: Permission denied", "read error on the class");

	struct zg_err none = { .id = 5 };
	is_str(zg_strerror(&none, buf, sizeof(buf)), "zram5: no error", "no error");

	char small[16];
	zg_strerror(&e, small, sizeof(small));
	is_str(small, "zram3: writing ", "truncated, still terminated");
}

static void test_module_message(void)
{
	char buf[512];
	struct zg_module m = { .name = "zram", .options = "num_devices=0",
			       .release = "6.18.1", .modules_dir = "/lib/modules/6.18.1",
			       .state = ZG_MOD_BUILTIN, .kernel_modules = true };
	is_str(zg_module_message(&m, buf, sizeof(buf)),
	       "zram: cannot load module: no modules for kernel 6.18.1 "
	       "(/lib/modules/6.18.1 missing); zram is built in, "
	       "options 'num_devices=0' not applied", "built in, no modules dir");

	struct zg_module u = { .name = "ublk_drv", .release = "6.18.1",
			       .modules_dir = "/lib/modules/6.18.1",
			       .state = ZG_MOD_UNAVAILABLE, .err = -ENOPKG };
	is_str(zg_module_message(&u, buf, sizeof(buf)),
	       "ublk_drv: cannot load module: no modules for kernel 6.18.1 "
	       "(/lib/modules/6.18.1 missing; /proc/modules missing: no module support); "
	       "ublk_drv is not built in", "no modules dir, no module support");

	u.have_modules_dir = true;
	is_str(zg_module_message(&u, buf, sizeof(buf)),
	       "ublk_drv: cannot load module: kernel 6.18.1 has no module support "
	       "(/proc/modules missing); ublk_drv is not built in", "no module support");

	struct zg_module l = { .name = "zram", .options = "num_devices=0",
			       .state = ZG_MOD_LOADED, .kernel_modules = true,
			       .have_modules_dir = true };
	is_str(zg_module_message(&l, buf, sizeof(buf)),
	       "zram: module loaded with options num_devices=0", "loaded now");
}

int main(void)
{
	test_algorithms();
	test_strerror();
	test_module_message();
	return tap_done();
}
