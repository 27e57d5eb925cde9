/*
 * fz_conf.c — libFuzzer harness: ztier.conf (manager/daemon_ztierconf.c)
 * through the shared INI line reader.  Problems are formatted as the log
 * would have them, then dropped: the log is not under test.
 */
#include "tests/fuzz/fuzz.h"
#include "manager/daemon_log.c"

static void fz_problem(void *ctx, const char *file, int line, const char *msg);
#define zd_log_problem fz_problem
#include "manager/daemon_ztierconf.c"

static void fz_problem(void *ctx, const char *file, int line, const char *msg)
{
	char where[ZT_PATH_MAX + 16], out[1024];

	(void)ctx;
	snprintf(out, sizeof(out), "%s: %s", zt_where(where, sizeof(where), file, line), msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct zd_conf c;

	zd_conf_default(&c);
	if (zd_conf_load(&c, fz_file("conf", data, size)) < 0)
		return 0;
	if (c.npolicy_dirs > ZD_DIRS_MAX || c.nzswap > ZD_STACKS_MAX || c.socket[0] != '/')
		abort();
	return 0;
}
