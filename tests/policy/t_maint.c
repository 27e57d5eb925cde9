/*
 * t_maint.c — the maintenance keys (policy/maint.c): durations, kinds of
 * pages, byte amounts, the PSI line, the checks across keys; and the same
 * keys as a policy's [maintenance] section, with FILE:LINE.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/tap.h"
#include "policy/policy.h"

static int set(struct zt_maint *m, const char *k, const char *v, char *msg)
{
	msg[0] = '\0';
	return zt_maint_set(m, k, v, msg, 300);
}

static void durations(void)
{
	static const struct { const char *in; int ok; unsigned secs; } t[] = {
		{ "90", 1, 90 }, { "90s", 1, 90 }, { "10m", 1, 600 }, { "2h", 1, 7200 },
		{ "1d", 1, 86400 }, { "off", 1, 0 }, { "0", 1, 0 }, { "366d", 1, 366 * 86400 },
		{ "367d", 0, 0 }, { "-5", 0, 0 }, { "5x", 0, 0 }, { "h", 0, 0 }, { "", 0, 0 },
		{ "1hh", 0, 0 }, { "99999999999999999999", 0, 0 },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		unsigned s = 12345;
		int r = zt_duration_parse(t[i].in, &s);
		ok(t[i].ok ? r == 0 && s == t[i].secs : r == -EINVAL,
		   "duration '%s' %s", t[i].in, t[i].ok ? "parses" : "is refused");
	}
}

static void keys(void)
{
	struct zt_maint m;
	char msg[300];

	zt_maint_default(&m);
	is_int(m.wb_pages, ZT_WB_HUGE_IDLE | ZT_WB_IDLE, "default pages: huge_idle idle");
	is_int(m.interval, 3600, "default interval 1 h");
	is_int(zt_maint_check(&m, msg, sizeof(msg)), 0, "the defaults pass the checks");
	is_int(set(&m, "writeback-pages", "idle, incompressible", msg), 0, "pages list");
	is_int(m.wb_pages, ZT_WB_IDLE | ZT_WB_INCOMPRESSIBLE, "idle + incompressible");
	is_int(set(&m, "writeback-pages", "idle cold", msg), -EINVAL, "unknown kind");
	ok(strstr(msg, "unknown kind 'cold'"), "named: %s", msg);
	is_int(set(&m, "writeback-pages", "none", msg), 0, "none");
	is_int(m.wb_pages, 0, "none: no kinds");
	is_int(set(&m, "writeback-pages", "idle", msg), 0, "pages idle again");
	is_int(set(&m, "writeback-budget", "512M", msg), 0, "budget 512M");
	ok(m.wb_budget == 512ull << 20, "512 MiB");
	is_int(set(&m, "writeback-budget", "ram/4", msg), -EINVAL, "budget as RAM share");
	ok(strstr(msg, "not a share of RAM"), "said: %s", msg);
	is_int(set(&m, "recompress-threshold", "4K", msg), -EINVAL, "threshold a page");
	is_int(set(&m, "recompress-threshold", "2K", msg), 0, "threshold 2K");
	is_int(set(&m, "writeback-device", "sdb1", msg), -EINVAL, "relative device");
	is_int(set(&m, "writeback-device", "/dev/loop7", msg), 0, "absolute device");
	is_str(m.writeback_device, "/dev/loop7", "kept");
	is_int(set(&m, "recompress-algorithm", "zstd", msg), 0, "algorithm");
	is_int(set(&m, "recompress-algorithm", "zstd lz4", msg), -EINVAL, "two words");
	is_int(set(&m, "pressure-trigger", "25%", msg), 0, "pressure 25%");
	is_int(m.pressure, 25, "25");
	is_int(set(&m, "pressure-trigger", "101", msg), -EINVAL, "pressure 101");
	is_int(set(&m, "maintenance-interval", "0", msg), -EINVAL, "interval 0");
	is_int(set(&m, "maintenance-interval", "5m", msg), 0, "interval 5m");
	is_int(zt_maint_check(&m, msg, sizeof(msg)), -EINVAL, "backoff 10m > interval 5m");
	ok(strstr(msg, "maintenance-backoff (600s)"), "said: %s", msg);
	is_int(set(&m, "size", "1G", msg), -ENOENT, "not a maintenance key: -ENOENT");
	is_int(set(&m, "maintenance-backoff", "1m", msg), 0, "backoff 1m");
	is_int(set(&m, "writeback-pages", "none", msg), 0, "pages none");
	is_int(zt_maint_check(&m, msg, sizeof(msg)), -EINVAL, "device without pages");
}

static void psi(void)
{
	ok(zt_psi_some_avg10("some avg10=12.50 avg60=1.00 avg300=0.00 total=5\n") == 12.5,
	   "avg10 read");
	ok(zt_psi_some_avg10("full avg10=1.00") < 0, "not the some line");
	ok(zt_psi_some_avg10("") < 0, "empty");
}

static char problems[1024];
static void report(void *ctx, const char *file, int line, const char *msg)
{
	size_t n = strlen(problems);
	snprintf(problems + n, sizeof(problems) - n, "%d: %s\n", line, msg);
}

static void policy_section(void)
{
	char path[] = "/tmp/t_maint.XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	struct zt_policy *p = calloc(1, sizeof(*p));

	fputs("[maintenance]\nwriteback-idle-age = 30m\nwriteback-pages = idle huge\n"
	      "recompress-threshold = ram/2\nmaintenance-interval = 1m\n", f);
	fclose(f);
	zt_policy_default(p);
	is_int(zt_policy_load(p, path, report, NULL), 1, "policy: one bad key");
	ok(strstr(problems, "4: bad size 'ram/2'") || strstr(problems, "4: recompress"),
	   "FILE:LINE of the bad key: %s", problems);
	is_int(p->maint.wb_idle_age, 1800, "writeback-idle-age from the policy");
	problems[0] = '\0';
	is_int(zt_policy_validate(p, report, NULL), 1, "backoff 10m > interval 1m");
	ok(strstr(problems, "5: maintenance-backoff"), "at the last maintenance key: %s",
	   problems);
	unlink(path);
	free(p);
}

/* Load text as a policy file; validate (or, warnings, warn); the count. */
static int load_text(const char *text, bool warnings)
{
	char path[] = "/tmp/t_maint.XXXXXX";
	int fd = mkstemp(path), n;
	FILE *f = fdopen(fd, "w");
	struct zt_policy *p = calloc(1, sizeof(*p));

	fputs(text, f);
	fclose(f);
	zt_policy_default(p);
	problems[0] = '\0';
	n = zt_policy_load(p, path, report, NULL);
	if (!n)
		n = warnings ? zt_policy_warnings(p, report, NULL) : zt_policy_validate(p, report, NULL);
	unlink(path);
	free(p);
	return n;
}

#define TIER "[text]\ntier = zram\n[zram]\nsize = 64M\n[spill]\ntarget = /dev/vdb\n"

/* zram writes back over the backing device's slots: the device's own
 * spill is refused, at the writeback-device line. */
static void wb_device_not_spill(void)
{
	is_int(load_text(TIER "[maintenance]\nwriteback-device = /dev/vdb\n"
			 "writeback-idle-age = 10s\n", false), 1, "the spill as writeback-device");
	ok(strstr(problems, "8: writeback-device /dev/vdb is this device's own spill"),
	   "said at its line: %s", problems);
	is_int(load_text(TIER "[maintenance]\nwriteback-idle-age = 10s\n"
			 "writeback-device = /dev/vdc\n", false), 0, "another device: valid");
	is_int(load_text("[spill]\ntarget = vdb\n[maintenance]\n"
			 "writeback-device = /dev/disk/by-id/vdb\n", false), 1,
	       "a bare spill name resolves to by-id: the same path");
	is_int(load_text(TIER "[maintenance]\nwriteback-device = /dev/vdc\n"
			 "recompress-algorithm = zstd\n", true), 1,
	       "a class goes to zram: one warning (not safe as swap)");
	ok(!strstr(problems, "writeback-device") && !strstr(problems, "recompress"),
	   "none about [maintenance]: %s", problems);
	is_int(load_text("[maintenance]\nwriteback-device = /dev/vdc\n", true), 1,
	       "writeback-device with no zram tier: a warning");
	ok(strstr(problems, "2: warning: writeback-device is for the zram tier"),
	   "at its line: %s", problems);
	is_int(load_text("[maintenance]\nrecompress-algorithm = zstd\n"
			 "writeback-idle-age = 1h\n", true), 1,
	       "recompress-algorithm with no zram tier: a warning");
	is_int(load_text("[maintenance]\nwriteback-idle-age = 1h\n", true), 0,
	       "an age alone (store demotion): no warning");
}

int main(void)
{
	durations();
	keys();
	psi();
	policy_section();
	wb_device_not_spill();
	return tap_done();
}
