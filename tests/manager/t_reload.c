/*
 * t_reload.c — a reload of a running ztier stack (manager/daemon_load.c):
 * any change to its policy, in any section, becomes pending (kept until
 * down/up, logged); the same settings read again, from other files or lines,
 * change nothing.  The config code is compiled into this test; nothing
 * builds stacks (daemon_stack.c, daemon_udev.c are left out): a stack is
 * only marked up here, never built.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "tests/tap.h"
#include "manager/daemon_log.c"
#include "manager/daemon_ztierconf.c"
#include "manager/daemon_dropin.c"
#include "manager/daemon_load.c"
#include "manager/daemon_maint_live.c"

/* ---- the test -------------------------------------------------------------- */

static char dir[] = "/tmp/t_reload.XXXXXX";
static char conf[64], pdir[64];

static void write_file(const char *rel, const char *text)
{
	char p[128];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	if ((f = fopen(p, "w"))) {
		fputs(text, f);
		fclose(f);
	}
}

#define BASE "[zram]\nsize = 64M\nalgorithm = lz4\n[text]\ntier = zram\nfallback = store\n"

/* Write db.conf, reload, and say whether the running stack got a pending
 * policy (and log nothing else about it). */
static bool reload_pending(struct zd_daemon *d, const char *text)
{
	write_file("policy.d/db.conf", text);
	zd_config_read(d, true);
	struct zd_stack *s = zd_stack_find(d, "db");
	return s && s->has_pending;
}

static void unpend(struct zd_daemon *d)
{
	struct zd_stack *s = zd_stack_find(d, "db");

	free(s->pending);
	s->pending = NULL;
	s->has_pending = false;
}

int main(void)
{
	static struct zd_daemon d = { .opt_level = ZD_ERR };

	if (!mkdtemp(dir))
		tap_skip_all("cannot create a temporary directory");
	snprintf(conf, sizeof(conf), "%s/ztier.conf", dir);
	snprintf(pdir, sizeof(pdir), "%s/policy.d", dir);
	mkdir(pdir, 0700);
	write_file("ztier.conf", "[ztierd]\nlog-level = error\n");
	write_file("policy.d/db.conf", BASE);
	d.conf_path = conf;
	d.opt_policy_dir = pdir;

	is_int(zd_config_read(&d, false), 0, "start: ztier.conf and db.conf read");
	struct zd_stack *s = zd_stack_find(&d, "db");
	if (!ok(s && s->policy, "stack db with its policy"))
		return tap_done();
	s->state = ZD_ST_UP;          /* as if built */

	ok(!reload_pending(&d, BASE), "the same file again: nothing pending");
	ok(!reload_pending(&d, "# moved down a line\n" BASE),
	   "same settings on other lines: nothing pending");

	ok(reload_pending(&d, BASE "[zram]\nalgorithm = zstd\n"),
	   "only [zram] algorithm changed: pending");
	s = zd_stack_find(&d, "db");
	ok(s->pending && !strcmp(s->pending->zram.algorithm, "zstd"), "the pending policy has zstd");
	is_str(s->policy->zram.algorithm, "lz4", "the running stack keeps lz4");
	unpend(&d);
	ok(reload_pending(&d, BASE "[zram]\nsize = 128M\n"), "only [zram] size changed: pending");
	unpend(&d);
	ok(reload_pending(&d, BASE "[zram]\nparams = level=3\n"), "only [zram] params: pending");
	unpend(&d);
	ok(reload_pending(&d, BASE "[zram]\nmemory-limit = 32M\n"),
	   "only [zram] memory-limit: pending");
	unpend(&d);
	ok(reload_pending(&d, BASE "[device]\nqueues = 2\n"), "[device] queues: pending");
	unpend(&d);

	char dropdir[128];
	snprintf(dropdir, sizeof(dropdir), "%s/db.conf.d", pdir);
	mkdir(dropdir, 0700);
	write_file("policy.d/db.conf.d/10-same.conf", "[zram]\nalgorithm = lz4\n");
	ok(!reload_pending(&d, BASE), "a drop-in that sets the same value: nothing pending");

	s = zd_stack_find(&d, "db");
	free(s->policy);
	free(s->pending);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd)) { /* best effort */ }
	return tap_done();
}
