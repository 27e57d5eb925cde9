/*
 * t_maint_reload.c — a reload's maintenance keys on a built zram swap
 * (daemon_maint_live.c through daemon_load.c): what the kernel takes live
 * is applied, what it takes only on a new device is said with FILE:LINE and
 * kept as it was.  No device is made: the stack is only marked built (its
 * zram id names no device; no key here makes the code touch one).
 */
#include <sys/stat.h>
#include <unistd.h>

#include "tests/tap.h"
#include "manager/daemon_log.c"
#include "manager/daemon_ztierconf.c"
#include "manager/daemon_dropin.c"
#include "manager/daemon_load.c"
#include "manager/daemon_maint_live.c"

static char dir[] = "/tmp/t_maint_reload.XXXXXX";
static char conf[64], pdir[64], log_text[4096];

#define HEAD "[ztierd]\nlog-level = info\n[zram-swap z]\nsize = 64M\n"

/* Write ztier.conf, reload it; the log in log_text. */
static void reload(struct zd_daemon *d, const char *text)
{
	FILE *f = fopen(conf, "w"), *t = tmpfile();
	size_t n;

	fputs(text, f);
	fclose(f);
	int saved = tap_stderr_to(t);
	zd_config_read(d, true);
	tap_stderr_restore(saved);
	rewind(t);
	n = fread(log_text, 1, sizeof(log_text) - 1, t);
	log_text[n] = '\0';
	fclose(t);
}

static bool logged(const char *s)
{
	return strstr(log_text, s) != NULL;
}

static void live_keys(struct zd_daemon *d, struct zd_stack *s)
{
	reload(d, HEAD "writeback-device = /dev/loop7\nrecompress-algorithm = zstd\n"
	       "maintenance-interval = 10m\nmaintenance-backoff = 1m\npressure-trigger = 20%\n");
	ok(logged("z: maintenance applied live: maintenance-interval, maintenance-backoff, "
		  "pressure-trigger"), "interval, backoff, trigger: applied live, named");
	ok(s->zswap.maint.interval == 600 && s->zswap.maint.backoff == 60 &&
	   s->zswap.maint.pressure == 20, "and in force");
	ok(!logged("needs 'ztierctl down"), "no rebuild asked for");
	reload(d, HEAD "writeback-device = /dev/loop7\nrecompress-algorithm = zstd\n"
	       "maintenance-interval = 10m\nmaintenance-backoff = 1m\npressure-trigger = 20%\n");
	ok(!logged("applied live"), "the same file again: nothing applied");
	reload(d, HEAD "writeback-device = /dev/loop7\nrecompress-algorithm = zstd\n"
	       "writeback-idle-age = off\nrecompress-threshold = 2K\n");
	ok(logged("applied live: writeback-idle-age, recompress-threshold, maintenance-interval"),
	   "writeback turned off live; threshold; interval back to its default");
	reload(d, HEAD "writeback-device = /dev/loop7\nrecompress-algorithm = zstd\n"
	       "writeback-idle-age = 1h\n");
	ok(s->zswap.maint.wb_idle_age == 3600, "and on again: the device has its backing device");
}

static void built_once(struct zd_daemon *d, struct zd_stack *s)
{
	char want[256];

	reload(d, HEAD "writeback-device = /dev/loop8\n\nrecompress-algorithm = lz4hc\n"
	       "writeback-idle-age = 1h\n");
	snprintf(want, sizeof(want), "%s:5: [zram-swap z] writeback-device: the kernel sets "
		 "backing_dev only on a new device; ignored until 'ztierctl down z; ztierctl up z'",
		 conf);
	ok(logged(want), "writeback-device: FILE:LINE, why, and how to apply it");
	snprintf(want, sizeof(want), "%s:7: [zram-swap z] recompress-algorithm:", conf);
	ok(logged(want), "recompress-algorithm: FILE:LINE");
	is_str(s->zswap.maint.writeback_device, "/dev/loop7", "the backing device in force stays");
	is_str(s->zswap.maint.recomp_algorithm, "zstd", "so does the second algorithm");
	s->maint.recomp_built = false;          /* as if built without recompression */
	reload(d, HEAD "writeback-device = /dev/loop7\nrecompress-algorithm = zstd\n"
	       "recompress-idle-age = off\n");
	reload(d, HEAD "writeback-device = /dev/loop7\nrecompress-algorithm = zstd\n"
	       "recompress-idle-age = 10m\n");
	snprintf(want, sizeof(want), "%s:7: [zram-swap z] recompress-idle-age: the device was "
		 "built without recompression", conf);
	ok(logged(want), "recompression turned on for a device built without: not live");
	ok(s->zswap.maint.recomp_idle_age == 0, "and not in force");
	reload(d, HEAD "size = 128M\nwriteback-device = /dev/loop7\nrecompress-algorithm = zstd\n");
	ok(logged("size, algorithm, priority or discard changed"), "size: a rebuild, as before");
}

int main(void)
{
	static struct zd_daemon d = { .opt_level = -1 };

	if (!mkdtemp(dir))
		tap_skip_all("cannot create a temporary directory");
	snprintf(conf, sizeof(conf), "%s/ztier.conf", dir);
	snprintf(pdir, sizeof(pdir), "%s/policy.d", dir);
	mkdir(pdir, 0700);
	d.conf_path = conf;
	d.opt_policy_dir = pdir;
	reload(&d, HEAD "writeback-device = /dev/loop7\nrecompress-algorithm = zstd\n");
	struct zd_stack *s = zd_stack_find(&d, "z");
	if (!ok(s && s->kind == ZD_KIND_ZRAM, "stack z read"))
		return tap_done();
	s->state = ZD_ST_UP;                     /* as if built, with both */
	s->zram_id = 1 << 20;
	s->maint.wb_built = s->maint.recomp_built = true;
	live_keys(&d, s);
	built_once(&d, s);
	s->zram_id = -1;
	s->state = ZD_ST_DOWN;
	reload(&d, HEAD "writeback-device = /dev/loop9\nrecompress-algorithm = zstd\n");
	is_str(s->zswap.maint.writeback_device, "/dev/loop9", "a stack not built takes every key");
	ok(!logged("ignored until"), "without a word");

	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd)) { /* best effort */ }
	return tap_done();
}
