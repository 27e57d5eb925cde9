/*
 * t_zram_discard.c — freed zram slots discarded off the queue thread
 * (zram_discard.c), on the host's real zram (root, hot_add; skipped
 * otherwise).  For a swap device and for one that is not: text pages are
 * written to zram slots, then released as a queue releases them (the
 * discarder thread, and the ring where the kernel takes the discard
 * command); every slot comes back free only after zram dropped its page
 * (mm_stat back to 0, io_stat notify_free counts each one).  A swap device
 * never uses the ring.  Prints what a release costs the calling thread
 * against the synchronous BLKDISCARD it replaces (measured here).  zram
 * takes no REQ_NOWAIT, so its ring probe fails on the kernels seen so far;
 * the ring path is then shown on a loop device (blk-mq: it does).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <time.h>

#include "tests/tap.h"
#include "ublk/tier_zram.h"
#include "ublk/tiered.h"

#define NPAGES 256u

static char msg[ZTU_MSG_MAX];

static struct ztu_dev *dev(bool swap)
{
	struct ztu_dev *d = calloc(1, sizeof(*d));

	d->cfg.target = ZTU_TARGET_TIERED;
	d->cfg.size = UINT64_C(64) << 20;
	d->cfg.commit_upfront = swap;
	d->cfg.rule[ZT_CLASS_TEXT].tier = ZT_TIER_ZRAM;
	snprintf(d->cfg.zram.algorithm, sizeof(d->cfg.zram.algorithm), "lz4");
	d->cfg.zram.disksize = UINT64_C(4) << 20;          /* 1024 slots */
	return d;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* NPAGES text pages into zram slots (no entries: only the slots). */
static bool fill(struct ztu_tier_ctx *tc, uint64_t *slots)
{
	static const struct zt_codec none = { ZT_CODEC_RAW, 0 };
	struct zt_page_class cls = { 0 };
	uint64_t e;

	for (unsigned i = 0; i < NPAGES; i++) {
		for (unsigned k = 0; k < ZT_PAGE_SIZE; k++)
			((char *)tc->scratch)[k] = (char)('a' + (k / 64 + i) % 26);
		if (ztu_tier_blk.put(tc, ZT_TIER_ZRAM, tc->scratch, &cls, &none, true, &e) ||
		    ztu_tier_blk.write_sync(tc, e, tc->scratch))
			return false;
		slots[i] = zu_pte_slot_nr(e);
	}
	return true;
}

static struct zg_stats zstats(int id)
{
	struct zg_stats zs = { 0 };
	struct zg_dev z;

	if (zg_attach(&z, id) == 0)
		zg_read_stats(&z, &zs);
	return zs;
}

/* Half of the slots on a ring of our own, as a queue would (when the
 * discarder allows it); the completions go to ztu_discarder_done. */
static unsigned release_on_ring(struct ztu_discarder *dc, const uint64_t *slots, unsigned n)
{
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	unsigned done = 0;
	int sub;

	if (!ztu_discarder_ring(dc) || io_uring_queue_init(n, &ring, 0) < 0)
		return 0;
	for (unsigned i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		if (!sqe)
			break;
		memset(sqe, 0, sizeof(*sqe));
		ztu_discarder_prep(sqe, ztu_discarder_fd(dc), slots[i]);
		sqe->user_data = slots[i];
	}
	sub = io_uring_submit_and_wait(&ring, n);
	n = sub > 0 ? (unsigned)sub : 0;
	while (done < n && io_uring_wait_cqe(&ring, &cqe) == 0) {
		ztu_discarder_done(dc, cqe->user_data, cqe->res);
		io_uring_cqe_seen(&ring, cqe);
		done++;
	}
	io_uring_queue_exit(&ring);
	return done;
}

static bool wait_free(struct ztu_tiers *t)
{
	for (int i = 0; i < 200 && ztu_blk_used(t->blk[ZT_TIER_ZRAM]); i++)
		nanosleep(&(struct timespec){ 0, 10000000L }, NULL);
	return ztu_blk_used(t->blk[ZT_TIER_ZRAM]) == 0;
}

/* Release the pages as a queue does, then what the synchronous discard of
 * the same pages cost (the queue thread paid it before). */
static void release_all(struct ztu_tiers *t, struct ztu_tier_ctx *tc, const char *what)
{
	static uint64_t slots[NPAGES];
	struct ztu_discarder *dc = ztu_zram_discarder(t);
	struct zg_stats before, after;
	unsigned ringed, i;
	uint64_t t0, t1;

	if (!ok(fill(tc, slots), "%s: %u text pages in zram slots", what, NPAGES))
		return;
	before = zstats(ztu_zram_id(t));
	ringed = release_on_ring(dc, slots, NPAGES / 2);
	t0 = now_ns();
	for (i = ringed; i < NPAGES; i++)
		ztu_zram_release(t, slots[i]);
	t1 = now_ns();
	ok(wait_free(t), "%s: every slot free again (%u by the ring, %u by the thread)", what,
	   ringed, NPAGES - ringed);
	after = zstats(ztu_zram_id(t));
	is_int(after.mm.orig_data_size, 0, "zram holds none of the pages");
	is_int(after.io.notify_free - before.io.notify_free, NPAGES,
	       "zram counted one discarded page each (notify_free)");
	is_int(ztu_discarder_count(dc), NPAGES, "the discarder counted them");
	tap_diag("%s: a release costs the caller %.2f us a slot", what,
		 (double)(t1 - t0) / 1000.0 / (NPAGES - ringed));
	if (!fill(tc, slots))
		return;
	t0 = now_ns();
	for (i = 0; i < NPAGES; i++)
		ztu_zram_discard(t, slots[i]);
	t1 = now_ns();
	for (i = 0; i < NPAGES; i++)
		zu_slots_free(ztu_blk_slots(t->blk[ZT_TIER_ZRAM]), slots[i]);
	tap_diag("%s: a synchronous BLKDISCARD costs %.2f us a slot", what,
		 (double)(t1 - t0) / 1000.0 / NPAGES);
}

static void test_mode(bool swap)
{
	struct ztu_dev *d = dev(swap);
	struct ztu_qstats st = { 0 };
	struct ztu_tier_ctx tc = { .st = &st };
	const char *what = swap ? "swap" : "not swap";
	bool ring;

	if (!ok(ztu_tiered_init(d, msg, sizeof(msg)) == 0, "%s: a device with a zram tier", what))
		tap_diag("  %s", msg);
	else if (posix_memalign(&tc.scratch, ZT_PAGE_SIZE, ZT_PAGE_SIZE) == 0) {
		tc.t = d->tgt;
		ring = ztu_discarder_ring(ztu_zram_discarder(tc.t));
		if (swap)
			ok(!ring, "swap: never the ring");
		else
			tap_diag("not swap: discards on the ring: %s",
				 ring ? "yes" : "no (this kernel's zram refuses them)");
		release_all(tc.t, &tc, what);
		free(tc.scratch);
	}
	ok(ztu_tiered_deinit(d) == 0, "%s: torn down, zram device removed", what);
	free(d);
}

/* A loop device over a new 4 MiB file: its fd, or -1. */
static int loop_attach(char *file, char *node, size_t len)
{
	int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC), n, bfd, lfd;

	n = ctl < 0 ? -1 : ioctl(ctl, LOOP_CTL_GET_FREE);
	if (ctl >= 0)
		close(ctl);
	bfd = n < 0 ? -1 : mkstemp(file);
	if (bfd < 0)
		return -1;
	snprintf(node, len, "/dev/loop%d", n);
	lfd = open(node, O_RDWR | O_CLOEXEC);
	if (ftruncate(bfd, 4 << 20) || lfd < 0 || ioctl(lfd, LOOP_SET_FD, bfd) < 0) {
		if (lfd >= 0)
			close(lfd);
		lfd = -1;
		unlink(file);
	}
	close(bfd);
	return lfd;
}

static void ring_path(struct ztu_discarder *dc, struct zu_slots *sl, atomic_bool *full)
{
	static uint64_t slots[NPAGES];
	unsigned ringed, i;

	for (i = 0; i < NPAGES; i++)
		zu_slots_alloc(sl, NULL, &slots[i]);
	ringed = release_on_ring(dc, slots, NPAGES / 2);
	for (i = ringed; i < NPAGES; i++)
		ztu_discarder_release(dc, slots[i]);
	is_int(ringed, NPAGES / 2, "loop: half the slots discarded on a ring");
	for (i = 0; i < 200 && zu_slots_used(sl); i++)
		nanosleep(&(struct timespec){ 0, 10000000L }, NULL);
	is_int(zu_slots_used(sl), 0, "loop: every slot free again");
	is_int(ztu_discarder_count(dc), NPAGES, "loop: each discarded once");
	ok(!atomic_load(full), "loop: the full mark cleared by the frees");
}

static void test_ring(void)
{
	char file[] = "/tmp/t_zram_discard.XXXXXX", node[32];
	int lfd = loop_attach(file, node, sizeof(node));
	struct zu_slots *sl = zu_slots_create(1024);
	struct ztu_discarder *dc = NULL;
	atomic_bool full = true;

	if (lfd < 0) {
		ok(1, "# SKIP no loop device here");
	} else if (ok(ztu_discarder_start(&dc, lfd, sl, &full, true) == 0 &&
		      !ztu_discarder_ring(dc), "loop, swap: never the ring")) {
		ztu_discarder_stop(dc);
		dc = NULL;
		if (ok(ztu_discarder_start(&dc, lfd, sl, &full, false) == 0 &&
		       ztu_discarder_ring(dc), "loop, not swap: the kernel takes ring discards"))
			ring_path(dc, sl, &full);
	}
	ztu_discarder_stop(dc);
	zu_slots_destroy(sl);
	if (lfd >= 0) {
		ioctl(lfd, LOOP_CLR_FD, 0);
		close(lfd);
		unlink(file);
	}
}

int main(void)
{
	if (geteuid() != 0 || access("/sys/class/zram-control/hot_add", R_OK))
		tap_skip_all("needs root and zram's hot_add");
	test_mode(true);
	test_mode(false);
	test_ring();
	return tap_done();
}
