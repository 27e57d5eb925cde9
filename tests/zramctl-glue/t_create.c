/*
 * t_create.c — zg_create/zg_destroy on the host kernel's real zram (root):
 * a device from a spec, configured as asked; a spec the kernel refuses
 * leaves no device behind and says why; zg_destroy removes it; the parts
 * only maintenance needs are left out when refused (zg_create_optional).
 */
#include "tests/tap.h"
#include "zramctl-glue/zramctl_glue.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int count_devices(void)
{
	DIR *d = opendir("/sys/block");
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += strncmp(e->d_name, "zram", 4) == 0;
	if (d)
		closedir(d);
	return n;
}

static void test_refused(void)
{
	struct zg_spec bad = { .algorithm = "zg-no-such-algo", .disksize = 16u << 20 };
	struct zg_dev dev;
	char msg[512];
	int before = count_devices();

	is_int(zg_create(&dev, &bad), -EINVAL, "unknown algorithm refused");
	zg_strerror(&dev.err, msg, sizeof(msg));
	ok(strstr(msg, "comp_algorithm") != NULL, "the message names it: %s", msg);
	is_int(count_devices(), before, "and no device is left behind");
}

static void test_created(void)
{
	struct zg_spec spec = { .disksize = 16u << 20, .mem_limit = 8u << 20 };
	struct zg_dev dev;
	char path[64], buf[64] = "";
	FILE *f;
	int id;

	is_int(zg_create(&dev, &spec), 0, "created with the kernel's algorithm");
	id = dev.id;
	snprintf(path, sizeof(path), "/sys/block/zram%d/disksize", id);
	if ((f = fopen(path, "r"))) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
	}
	is_str(buf, "16777216\n", "disksize applied");
	is_int(zg_destroy(&dev), 0, "destroyed");
	snprintf(path, sizeof(path), "/sys/block/zram%d", id);
	ok(access(path, F_OK) != 0, "zram%d is gone", id);
}

struct refusals {
	int n;
	char attr[2][32];
};

static void refused(void *ctx, const struct zg_err *err)
{
	struct refusals *r = ctx;

	if (r->n < 2)
		snprintf(r->attr[r->n], sizeof(r->attr[0]), "%s", err->attr);
	r->n++;
}

/* What only maintenance needs never costs the device: a part the kernel
 * refuses (this host: no WRITEBACK, no MULTI_COMP) is said and left out;
 * one it takes stays.  Either way the device is made. */
static void test_optional(void)
{
	struct zg_spec spec = { .disksize = 16u << 20, .backing_dev = "/dev/zg-no-such-disk",
				.recomp_algorithm = "zg-no-such-algo" };
	struct refusals r = { 0 };
	struct zg_dev dev;
	char bd[256];
	int err;

	is_int(zg_create_optional(&dev, &spec, refused, &r), 0, "made despite both parts");
	is_int(r.n, 2, "both refused, each said once");
	ok(!strcmp(r.attr[0], "recomp_algorithm") && !strcmp(r.attr[1], "backing_dev"),
	   "in the kernel's order: %s, %s", r.attr[0], r.attr[1]);
	ok(!spec.backing_dev[0] && !spec.recomp_algorithm[0], "and cleared from the spec");
	err = zg_backing_dev(&dev, bd, sizeof(bd));
	ok(err == -EOPNOTSUPP || (err == 0 && !bd[0]), "no backing device held (%d)", err);
	is_int(zg_destroy(&dev), 0, "destroyed");
	spec = (struct zg_spec){ .algorithm = "zg-no-such-algo", .disksize = 16u << 20 };
	r.n = 0;
	is_int(zg_create_optional(&dev, &spec, refused, &r), -EINVAL,
	       "a refused algorithm is not optional");
	is_int(r.n, 0, "nothing said as optional");
}

int main(void)
{
	if (geteuid() != 0)
		tap_skip_all("needs root (hot_add is 0400)");
	if (access("/sys/class/zram-control", F_OK) != 0 &&
	    access("/sys/module/zram", F_OK) != 0 && access("/lib/modules", F_OK) != 0)
		tap_skip_all("no zram on this kernel");
	test_refused();
	test_created();
	test_optional();
	return tap_done();
}
