/*
 * t_zram.c — zramctl-glue on the host kernel's real zram (root only).
 *
 * One device made with hot_add goes through its whole life: probe features,
 * refuse an unknown algorithm, configure (lz4 + disksize), write and read
 * back known pages with O_DIRECT (zero, same-filled, text, random) and check
 * mm_stat, refuse disksize and comp_algorithm once initialised, refuse reset
 * and hot_remove while an fd is open (the EBUSY path, with a message naming
 * the device), reset + re-apply, mem_limit, the triggers, hot_remove.
 *
 * The device is always removed, also on failure (atexit, signals, alarm).
 * /dev/zram0 and every device we did not create are never touched.
 */
#include "tests/tap.h"
#include "zramctl-glue/zramctl_glue.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#define NPAGES 64            /* 16 zero, 16 same-filled, 16 text, 16 random */
#define DISKSIZE (16u << 20)

static struct zg_dev dev = { .id = -1 };
static int created = -1;     /* the id we created, for cleanup */
static int node_fd = -1;
static size_t ps;
static unsigned char *data;  /* NPAGES pages written to the device */
static const char *algo;     /* lz4, or the kernel's first if it lacks lz4 */

static void cleanup(void)
{
	if (node_fd >= 0)
		close(node_fd);
	node_fd = -1;
	if (created < 0 || dev.id != created)
		return;
	dev.busy_timeout_ms = 0;
	if (zg_hot_remove(&dev) < 0) {
		char msg[512];
		tap_diag("cleanup: %s", zg_strerror(&dev.err, msg, sizeof(msg)));
	}
}

static void on_signal(int sig)
{
	exit(128 + sig);             /* runs cleanup() */
}

static const char *errmsg(void)
{
	static char msg[512];
	return zg_strerror(&dev.err, msg, sizeof(msg));
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void fill_text(unsigned char *p)
{
	static const char *words[] = { "the ", "zram ", "device ", "stores ",
		"compressed ", "pages ", "in ", "memory ", "and ", "swap ",
		"tier ", "of ", "kernel ", "policy ", "\n", "data, " };
	size_t n = 0;
	while (n < ps) {
		const char *w = words[next_rand() % 16];
		for (size_t i = 0; w[i] && n < ps; i++)
			p[n++] = (unsigned char)w[i];
	}
}

static void make_data(void)
{
	for (size_t pg = 0; pg < NPAGES; pg++) {
		unsigned char *p = data + pg * ps;
		if (pg < 16)
			memset(p, 0, ps);
		else if (pg < 32)
			for (size_t i = 0; i < ps; i += 8)
				memcpy(p + i, &(uint64_t){ 0xa5a5a5a5deadbeefull + pg }, 8);
		else if (pg < 48)
			fill_text(p);
		else
			for (size_t i = 0; i < ps; i += 8)
				memcpy(p + i, &(uint64_t){ next_rand() }, 8);
	}
}

static void test_create(void)
{
	int id = zg_hot_add(&dev);
	if (!ok(id > 0, "hot_add created zram%d", id)) {
		tap_diag("%s", errmsg());
		if (id == 0)
			tap_diag("hot_add returned 0: refusing to use zram0");
		exit(tap_done());
	}
	created = id;
}

static void test_features(unsigned *mask)
{
	char line[512] = "";
	is_int(zg_features(&dev, mask), 0, "features probed");
	for (unsigned i = 0; i < ZG_F_COUNT; i++)
		if (*mask & (1u << i))
			strcat(strcat(line, " "), zg_feature_name(1u << i));
	tap_diag("zram%d has:%s", dev.id, line);
	ok(*mask & ZG_F_MM_STAT, "mm_stat present");

	struct zg_algorithms a;
	int n = zg_algorithms(&dev, &a);
	ok(n > 0 && a.active >= 0, "comp_algorithm lists %d, active %s",
	   n, a.active >= 0 ? a.name[a.active] : "?");
	algo = a.name[0];
	for (int i = 0; i < a.count; i++)
		if (strcmp(a.name[i], "lz4") == 0)
			algo = "lz4";
	static char keep[ZG_ALGO_NAME_MAX];
	snprintf(keep, sizeof(keep), "%s", algo);
	algo = keep;
	if (strcmp(algo, "lz4") != 0)
		tap_diag("kernel offers no lz4: using %s", algo);
}

static void test_unknown_algorithm(void)
{
	struct zg_config bad = { .algorithm = "zg-no-such-algo", .disksize = DISKSIZE };
	is_int(zg_apply(&dev, &bad), -EINVAL, "unknown algorithm: -EINVAL");
	const char *m = errmsg();
	tap_diag("%s", m);
	char who[32];
	snprintf(who, sizeof(who), "zram%d: ", dev.id);
	ok(strncmp(m, who, strlen(who)) == 0 && strstr(m, "'zg-no-such-algo'") &&
	   strstr(m, "comp_algorithm") && strstr(m, "Invalid argument"),
	   "message names device, value, attribute, errno");
	ok(strstr(m, "kernel offers: ") && strstr(m, algo), "message lists the kernel's algorithms");
	is_int(zg_initstate(&dev), 0, "device still uninitialised");
}

/* A backing device is refused, never dropped: without backing_dev in sysfs
 * the request fails with EOPNOTSUPP; with it, a non-block file is ENOTBLK. */
static void test_backing_dev(unsigned mask)
{
	struct zg_config c = { .algorithm = algo, .backing_dev = "/etc/hostname",
			       .disksize = DISKSIZE };
	int want = (mask & ZG_F_BACKING_DEV) ? -ENOTBLK : -EOPNOTSUPP;
	is_int(zg_apply(&dev, &c), want, "backing_dev request is honoured or refused");
	tap_diag("%s", errmsg());
	ok(strstr(errmsg(), "backing_dev") != NULL, "message names backing_dev");
	is_int(zg_initstate(&dev), 0, "device still uninitialised");
}

static void test_configure(const struct zg_config *cfg)
{
	is_int(zg_apply(&dev, cfg), 0, "apply algorithm + disksize");
	is_int(zg_initstate(&dev), 1, "initstate 1 (no uevent needed)");
	struct zg_algorithms a;
	zg_algorithms(&dev, &a);
	ok(a.active >= 0 && strcmp(a.name[a.active], algo) == 0, "active algorithm is %s", algo);

	is_int(zg_set_disksize(&dev, DISKSIZE), -EBUSY, "disksize on initialised device: -EBUSY");
	tap_diag("%s", errmsg());
	ok(strstr(errmsg(), "disksize") && strstr(errmsg(), "busy"), "message names disksize");
	is_int(zg_apply(&dev, cfg), -EBUSY, "apply on initialised device: -EBUSY");
	tap_diag("%s", errmsg());
}

static int write_pages(int fd, const unsigned char *buf, size_t first, size_t n)
{
	int failed = 0;
	for (size_t pg = 0; pg < n; pg++)
		if (pwrite(fd, buf + pg * ps, ps, (off_t)((first + pg) * ps)) != (ssize_t)ps)
			failed++;
	return failed;
}

static bool read_matches(int fd, size_t first, size_t n)
{
	unsigned char *back = aligned_alloc(ps, n * ps);
	bool same = pread(fd, back, n * ps, (off_t)(first * ps)) == (ssize_t)(n * ps) &&
		    memcmp(back, data + first * ps, n * ps) == 0;
	free(back);
	return same;
}

static void test_data(void)
{
	node_fd = zg_open_node(&dev, O_RDWR | O_DIRECT);
	if (!ok(node_fd >= 0, "opened /dev/zram%d O_DIRECT", dev.id)) {
		tap_diag("%s", errmsg());
		exit(tap_done());
	}
	is_int(write_pages(node_fd, data, 0, NPAGES), 0, "wrote 64 pages with O_DIRECT");
	ok(read_matches(node_fd, 0, NPAGES), "read back identical");

	struct zg_stats st;
	is_int(zg_read_stats(&dev, &st), 0, "stats read");
	tap_diag("mm_stat: orig %llu compr %llu used %llu same %llu huge %llu",
		 (unsigned long long)st.mm.orig_data_size, (unsigned long long)st.mm.compr_data_size,
		 (unsigned long long)st.mm.mem_used_total, (unsigned long long)st.mm.same_pages,
		 (unsigned long long)st.mm.huge_pages);
	is_int(st.mm.orig_data_size, NPAGES * ps, "orig_data_size counts all 64 pages");
	is_int(st.mm.same_pages, 32, "32 same-filled pages (zero included)");
	ok(st.mm.compr_data_size >= 16 * ps && st.mm.compr_data_size < 28 * ps,
	   "compr_data_size plausible: random stored whole, text compressed");
	if (st.mm.huge_pages != ZG_ABSENT)
		is_int(st.mm.huge_pages, 16, "16 huge (random) pages");
	ok(st.io.present && st.io.failed_writes == 0 && st.io.failed_reads == 0,
	   "io_stat: no failed I/O");
	ok(st.bd.present || st.bd.bd_count == ZG_ABSENT, "bd_stat absent is not an error");
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* reset with our fd open must fail after the bounded wait, data intact. */
static void test_reset_busy(void)
{
	long long t0 = now_ms();
	is_int(zg_reset(&dev), -EBUSY, "reset with an open fd: -EBUSY");
	long long waited = now_ms() - t0;
	const char *m = errmsg();
	tap_diag("%s", m);
	char who[32];
	snprintf(who, sizeof(who), "zram%d: writing '1' to reset: ", dev.id);
	ok(strncmp(m, who, strlen(who)) == 0 && strstr(m, strerror(EBUSY)) &&
	   strstr(m, "is open"), "message names device, reset, EBUSY and the cause");
	ok(waited >= ZG_BUSY_TIMEOUT_MS && waited < ZG_BUSY_TIMEOUT_MS + 1000,
	   "retried for the bound (%lld ms)", waited);
	is_int(zg_initstate(&dev), 1, "still initialised");
	ok(read_matches(node_fd, 0, NPAGES), "data intact after the refused reset");
}

/* After closing: reset works, wipes the configuration; re-apply it. */
static void test_reset(const struct zg_config *cfg)
{
	close(node_fd);
	node_fd = -1;
	is_int(zg_reset(&dev), 0, "reset after closing the fd");
	is_int(zg_initstate(&dev), 0, "reset: uninitialised");
	struct zg_stats st;
	zg_read_stats(&dev, &st);
	is_int(st.mm.orig_data_size, 0, "reset: data gone");
	struct zg_algorithms a;
	zg_algorithms(&dev, &a);
	tap_diag("after reset the active algorithm is %s", a.name[a.active]);

	is_int(zg_reconfigure(&dev, cfg), 0, "reconfigure (reset + apply)");
	zg_algorithms(&dev, &a);
	ok(strcmp(a.name[a.active], algo) == 0, "%s active again", algo);
	is_int(zg_initstate(&dev), 1, "initialised again");
}

/* mem_limit below what random pages need: writes fail, io_stat counts them. */
static void test_mem_limit(void)
{
	struct zg_stats st;
	is_int(zg_set_mem_limit(&dev, 64 << 10), 0, "mem_limit 64 KiB at run time");
	zg_read_stats(&dev, &st);
	is_int(st.mm.mem_limit, 64 << 10, "mm_stat shows the limit");

	node_fd = zg_open_node(&dev, O_RDWR | O_DIRECT);
	ok(node_fd >= 0, "reopened");
	int failed = write_pages(node_fd, data + 48 * ps, 0, 16) +
		     write_pages(node_fd, data + 48 * ps, 16, 16);
	zg_read_stats(&dev, &st);
	tap_diag("%d of 32 random page writes failed; mem_used_total %llu; failed_writes %llu",
		 failed, (unsigned long long)st.mm.mem_used_total,
		 (unsigned long long)st.io.failed_writes);
	ok(failed > 0, "writes beyond mem_limit fail");
	ok(st.io.failed_writes > 0, "io_stat counts failed writes");

	is_int(zg_set_mem_limit(&dev, 0), 0, "mem_limit 0 (unlimited)");
	is_int(write_pages(node_fd, data, 0, NPAGES), 0, "writes succeed again");
	ok(read_matches(node_fd, 0, NPAGES), "read back identical");
}

static void test_triggers(unsigned mask)
{
	is_int(zg_compact(&dev), mask & ZG_F_COMPACT ? 0 : -EOPNOTSUPP, "compact");
	is_int(zg_mark_idle(&dev, "all"), mask & ZG_F_IDLE ? 0 : -EOPNOTSUPP, "idle all");
	int r = zg_writeback(&dev, "idle");
	if (mask & ZG_F_WRITEBACK)
		is_int(r, -ENODEV, "writeback without backing device: -ENODEV");
	else
		is_int(r, -EOPNOTSUPP, "writeback absent: -EOPNOTSUPP");
	tap_diag("%s", errmsg());
	r = zg_recompress(&dev, "type=huge");
	if (!(mask & ZG_F_RECOMPRESS)) {
		is_int(r, -EOPNOTSUPP, "recompress absent: -EOPNOTSUPP");
		ok(strstr(errmsg(), "recompress"), "message names recompress");
	} else {
		tap_diag("recompress -> %d: %s", r, errmsg());
		ok(r == 0 || r == -EINVAL, "recompress runs or refuses without secondary");
	}
}

static void test_remove(void)
{
	int id = dev.id;
	dev.busy_timeout_ms = 300;
	is_int(zg_hot_remove(&dev), -EBUSY, "hot_remove with an open fd: -EBUSY");
	tap_diag("%s", errmsg());
	ok(strstr(errmsg(), "hot_remove"), "message names hot_remove");
	is_int(dev.id, id, "still attached");
	close(node_fd);
	node_fd = -1;
	dev.busy_timeout_ms = 0;
	is_int(zg_hot_remove(&dev), 0, "hot_remove after closing");
	is_int(dev.id, -1, "detached");
	ok(zg_attach(&dev, id) == -ENOENT, "zram%d is gone", id);
	tap_diag("%s", errmsg());
	dev.id = -1;
	created = -1;
}

int main(void)
{
	if (geteuid() != 0)
		tap_skip_all("needs root (hot_add is 0400)");
	if (access("/sys/class/zram-control", F_OK) != 0)
		tap_skip_all("no zram on this kernel (/sys/class/zram-control missing)");
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGALRM, on_signal);
	alarm(60);

	ps = (size_t)sysconf(_SC_PAGESIZE);
	data = aligned_alloc(ps, NPAGES * ps);
	make_data();

	unsigned mask = 0;
	test_create();
	test_features(&mask);
	test_unknown_algorithm();
	test_backing_dev(mask);
	struct zg_config cfg = { .algorithm = algo, .disksize = DISKSIZE };
	test_configure(&cfg);
	test_data();
	test_reset_busy();
	test_reset(&cfg);
	test_mem_limit();
	test_triggers(mask);
	test_remove();
	free(data);
	return tap_done();
}
