/*
 * t_maint.c — the maintenance triggers (zramctl-glue/maint.c) on the host
 * kernel's real zram (root only).
 *
 * One device made with hot_add, and when the kernel has writeback a loop
 * device on a sparse file as its backing_dev.  Each trigger is probed: what
 * the kernel has must work (pages written back within the budget, bd_stat
 * counting them; recompression accepted), what it lacks must be
 * -EOPNOTSUPP naming the Kconfig option.  Data reads back bit-exact after.
 * The zram device, the loop device and the file are removed on every exit
 * (atexit, signals, alarm); nothing we did not create is touched.
 */
#include "tests/tap.h"
#include "zramctl-glue/zramctl_glue.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>

#define NPAGES 64
#define DISKSIZE (16u << 20)

static struct zg_dev dev = { .id = -1 };
static int created = -1;
static char loopdev[64];               /* "" none */
static char backing[] = "/tmp/t_maint_wb.XXXXXX";
static bool have_file;
static unsigned char *data;
static size_t ps;

static void cleanup(void)
{
	char cmd[128];

	if (created >= 0 && dev.id == created && zg_destroy(&dev) < 0)
		tap_diag("cleanup: zram%d not removed", created);
	if (loopdev[0]) {
		snprintf(cmd, sizeof(cmd), "losetup -d %s", loopdev);
		if (system(cmd))
			tap_diag("cleanup: %s failed", cmd);
		loopdev[0] = '\0';
	}
	if (have_file)
		unlink(backing);
	have_file = false;
}

static void on_signal(int sig)
{
	exit(128 + sig);
}

static const char *errmsg(void)
{
	static char msg[512];
	return zg_strerror(&dev.err, msg, sizeof(msg));
}

/* A loop device on a 64 MiB sparse file; "" when losetup cannot. */
static void make_backing(void)
{
	char cmd[128];
	int fd = mkstemp(backing);
	FILE *p;

	if (fd < 0 || ftruncate(fd, 64 << 20) < 0)
		return;
	close(fd);
	have_file = true;
	snprintf(cmd, sizeof(cmd), "losetup --find --show %s", backing);
	if (!(p = popen(cmd, "r")))
		return;
	if (!fgets(loopdev, sizeof(loopdev), p))
		loopdev[0] = '\0';
	loopdev[strcspn(loopdev, "\n")] = '\0';
	pclose(p);
}

static void write_pages(int fd)
{
	for (size_t i = 0; i < NPAGES * ps; i++)
		data[i] = (unsigned char)("the zram device stores pages\n"[i % 29] ^ (i / ps));
	ok(pwrite(fd, data, NPAGES * ps, 0) == (ssize_t)(NPAGES * ps), "wrote %d pages", NPAGES);
}

static void read_back(int fd)
{
	unsigned char *back;

	if (posix_memalign((void **)&back, ps, NPAGES * ps))
		return;
	ok(pread(fd, back, NPAGES * ps, 0) == (ssize_t)(NPAGES * ps) &&
	   !memcmp(back, data, NPAGES * ps), "read back bit-exact after maintenance");
	free(back);
}

/* -EOPNOTSUPP naming option, when the kernel lacks the feature. */
static void lacks(int r, const char *what, const char *option)
{
	is_int(r, -EOPNOTSUPP, what);
	ok(strstr(dev.err.hint, option) != NULL, "%s: hint names %s: %s", what, option,
	   errmsg());
}

static void writeback(unsigned feat)
{
	struct zg_stats st;
	uint64_t left;
	bool on;

	if (!(feat & ZG_F_WRITEBACK) || !loopdev[0]) {
		lacks(zg_set_writeback_limit(&dev, 8), "writeback_limit", "CONFIG_ZRAM_WRITEBACK");
		lacks(zg_writeback_limit(&dev, &left, &on), "writeback_limit read",
		      "CONFIG_ZRAM_WRITEBACK");
		lacks(zg_writeback(&dev, "idle"), "writeback", "writeback");
		return;
	}
	is_int(zg_set_writeback_limit(&dev, 8), 0, "budget of 8 pages set");
	is_int(zg_mark_idle(&dev, "all"), 0, "mark all idle");
	int r = zg_writeback(&dev, "idle");
	ok(r == 0 || r == -EIO, "writeback idle: %d (%s)", r, r ? errmsg() : "ok");
	is_int(zg_read_stats(&dev, &st), 0, "bd_stat read");
	ok(st.bd.present && st.bd.bd_writes > 0 && st.bd.bd_writes <= 8,
	   "bd_writes %llu: some, within the budget of 8",
	   (unsigned long long)st.bd.bd_writes);
	is_int(zg_writeback_limit(&dev, &left, &on), 0, "budget read back");
	ok(on && left + st.bd.bd_writes == 8, "budget left %llu = 8 - written",
	   (unsigned long long)left);
}

static void recompress(unsigned feat, bool have_algo)
{
	if (!(feat & ZG_F_RECOMPRESS)) {
		lacks(zg_recompress_pages(&dev, "idle", 1024, 0), "recompress",
		      "CONFIG_ZRAM_MULTI_COMP");
		return;
	}
	if (!have_algo) {
		tap_diag("no second algorithm to recompress with: not tried");
		return;
	}
	is_int(zg_mark_idle(&dev, "all"), 0, "mark all idle before recompress");
	int r = zg_recompress_pages(&dev, "idle", 0, 0);
	ok(r == 0, "recompress type=idle: %s", r ? errmsg() : "ok");
}

/* A second algorithm the kernel offers (not the first), or NULL. */
static const char *second_algorithm(struct zg_algorithms *a, unsigned feat)
{
	if (!(feat & ZG_F_RECOMP_ALGORITHM) || a->count < 2)
		return NULL;
	for (int i = 0; i < a->count; i++)
		if (strcmp(a->name[i], "lzo-rle") && i != a->active)
			return a->name[i];
	return NULL;
}

int main(void)
{
	struct zg_config cfg = { .disksize = DISKSIZE };
	struct zg_algorithms algos;
	unsigned feat;
	int fd, r;

	if (geteuid() != 0)
		tap_skip_all("needs root (hot_add is 0400)");
	if (access("/sys/class/zram-control", F_OK))
		tap_skip_all("no zram on this kernel (/sys/class/zram-control missing)");
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGALRM, on_signal);
	alarm(60);
	ps = (size_t)sysconf(_SC_PAGESIZE);
	if (posix_memalign((void **)&data, ps, NPAGES * ps))
		return 1;
	if ((created = zg_hot_add(&dev)) < 0)
		tap_skip_all("hot_add failed");
	is_int(zg_features(&dev, &feat), 0, "features probed");
	tap_diag("zram%d: writeback %s, recompress %s", dev.id,
		 feat & ZG_F_WRITEBACK ? "yes" : "no", feat & ZG_F_RECOMPRESS ? "yes" : "no");
	zg_algorithms(&dev, &algos);
	cfg.recomp_algorithm = second_algorithm(&algos, feat);
	if (feat & ZG_F_BACKING_DEV)
		make_backing();
	cfg.backing_dev = loopdev[0] ? loopdev : NULL;
	r = zg_apply(&dev, &cfg);
	ok(r == 0, "configured: %s", r ? errmsg() : "ok");
	if (!(feat & ZG_F_RECOMP_ALGORITHM)) {
		struct zg_config bad = { .disksize = DISKSIZE, .recomp_algorithm = "zstd" };
		zg_reset(&dev);
		lacks(zg_apply(&dev, &bad), "recomp_algorithm", "CONFIG_ZRAM_MULTI_COMP");
		zg_reset(&dev);
		is_int(zg_apply(&dev, &cfg), 0, "configured again");
	}
	if ((fd = zg_open_node(&dev, O_RDWR | O_DIRECT)) < 0)
		return tap_done();
	write_pages(fd);
	is_int(zg_mark_idle(&dev, "all"), 0, "mark all idle");
	r = zg_mark_idle_age(&dev, 3600);
	if (r == -EOPNOTSUPP)
		lacks(r, "idle by age", "CONFIG_ZRAM_TRACK_ENTRY_ACTIME");
	else
		is_int(r, 0, "idle by age (3600 s) accepted");
	writeback(feat);
	recompress(feat, cfg.recomp_algorithm != NULL);
	read_back(fd);
	close(fd);
	is_int(zg_destroy(&dev), 0, "device removed");
	return tap_done();
}
