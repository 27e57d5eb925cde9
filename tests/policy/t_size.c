/*
 * t_size.c — policy sizes: parsing, errors, formatting and resolving.
 */
#include <errno.h>

#include "policy/policy.h"
#include "tests/tap.h"

static void parses(const char *s, uint64_t bytes, uint32_t num, uint32_t den)
{
	struct zt_size z = { 1, 1, 1 };
	int err = zt_size_parse(s, &z);

	ok(err == 0 && z.bytes == bytes && z.ram_num == num && z.ram_den == den,
	   "'%s' -> %" PRIu64 " bytes, ram*%u/%u", s, bytes, num, den);
}

static void fails(const char *s, int want)
{
	struct zt_size z;
	int err = zt_size_parse(s, &z);

	ok(err == want, "'%s' rejected with %s (got %d)", s,
	   want == -EINVAL ? "EINVAL" : "ERANGE", err);
}

static void formats(const char *s, const char *want)
{
	struct zt_size z;
	char buf[64];

	zt_size_parse(s, &z);
	is_str(zt_size_format(&z, buf, sizeof(buf)), want, s);
}

int main(void)
{
	parses("4096", 4096, 0, 0);
	parses("4K", 4096, 0, 0);
	parses("512M", 512ull << 20, 0, 0);
	parses("4G", 4ull << 30, 0, 0);
	parses("4g", 4ull << 30, 0, 0);
	parses("4GiB", 4ull << 30, 0, 0);
	parses("4GB", 4ull << 30, 0, 0);
	parses("1T", 1ull << 40, 0, 0);
	parses("15E", 15ull << 60, 0, 0);
	parses("0", 0, 0, 0);
	parses(" 8M ", 8ull << 20, 0, 0);
	parses("ram", 0, 1, 1);
	parses("ram/4", 0, 1, 4);
	parses("ram*3/4", 0, 3, 4);
	parses("ram * 3 / 4", 0, 3, 4);
	parses("ram*2", 0, 2, 1);

	fails("", -EINVAL);
	fails("G", -EINVAL);
	fails("4X", -EINVAL);
	fails("4GG", -EINVAL);
	fails("-4G", -EINVAL);
	fails("4.5G", -EINVAL);
	fails("0x10", -EINVAL);
	fails("ram/", -EINVAL);
	fails("ram/4x", -EINVAL);
	fails("ramx", -EINVAL);
	fails("ram/0", -ERANGE);
	fails("ram*0", -ERANGE);
	fails("ram/99999999999", -ERANGE);
	fails("ram*4294967295", -ERANGE);   /* would resolve past 16 EiB */
	fails("ram*2048", -ERANGE);         /* over 1024 x RAM: a typo */
	fails("ram/2048", -ERANGE);
	parses("ram*1024", 0, 1024, 1);
	fails("16E", -ERANGE);
	fails("17179869184G", -ERANGE);
	fails("99999999999999999999", -ERANGE);

	formats("4096", "4K");
	formats("4097", "4097");
	formats("512M", "512M");
	formats("1024M", "1G");
	formats("ram", "ram");
	formats("ram/4", "ram/4");
	formats("ram*3/4", "ram*3/4");
	formats("ram*2", "ram*2");

	struct zt_size z;
	zt_size_parse("ram/4", &z);
	is_int(zt_size_resolve(&z, 16ull << 30), 4ull << 30, "ram/4 of 16G is 4G");
	zt_size_parse("ram/3", &z);
	is_int(zt_size_resolve(&z, 10000 * 4096ull) % 4096, 0, "ram/3 rounds down to whole pages");
	zt_size_parse("ram*3/4", &z);
	is_int(zt_size_resolve(&z, 8ull << 30), 6ull << 30, "ram*3/4 of 8G is 6G");
	zt_size_parse("ram", &z);
	ok(zt_size_resolve(&z, 0) > 0, "ram resolves against /proc/meminfo");
	zt_size_parse("512M", &z);
	is_int(zt_size_resolve(&z, 1), 512ull << 20, "absolute size ignores RAM");
	ok(zt_size_is_set(&z), "512M is set");
	zt_size_parse("0", &z);
	ok(!zt_size_is_set(&z), "0 is unset");
	return tap_done();
}
