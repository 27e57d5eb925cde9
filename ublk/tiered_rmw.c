/*
 * tiered_rmw.c — part of a page written without holding the queue thread.
 *
 * A sub-page WRITE, and the partial page at either end of a DISCARD or
 * WRITE_ZEROES, must read the page, change its bytes and write it whole.
 * When the page lives on a block tier (spill, the zram tier), or is placed
 * on one, that is device I/O: done with pread/pwrite under the entry lock
 * (tgt_tiered.c write_partial) it holds the queue thread, and every request
 * behind it on the queue, for two device round trips.
 *
 * Here both go on the ring.  The entry lock is not held across them: a
 * second request of this queue on the same page would spin forever on the
 * lock its own thread holds, and other queues would spin for a device's
 * latency.  Instead the page is validated at the end, as block-tier reads
 * are (tgt_tiered.c):
 *   1. its entry is noted (`was`) and its bytes read into one of the
 *      queue's RMW pages: on the ring from a block tier, else at once under
 *      the lock (memory tiers, a packed spill page, a page never written,
 *      a zram tier without backing device: it only decompresses);
 *   2. the request's bytes (or zeros) go over them and the page is placed
 *      as any write is (classified: it may change tier) and, on a block
 *      tier, written on the ring;
 *   3. the entry is locked: if it still is `was` (the 20-bit tag of a
 *      block-tier entry makes a reused slot differ) the new location
 *      replaces it and the old one is freed.  If another write got there
 *      first the new location is freed and the page starts again at 1 from
 *      that write's bytes, so concurrent writes to one page all land.
 * A page that loses RMW_TRIES times, or whose read or write fails, is done
 * by write_partial instead, all under the lock: it places with the
 * fallbacks of a full zram tier or a dead spill, and reports a failing
 * device's error.  When every RMW page of the queue is busy the request is
 * parked (TIERED_PAGE_PARK) until one is free.
 *
 * ZTIER_UBLK_RMW=sync in the server's environment keeps every such page on
 * write_partial (the comparison in tests/vm/bench-rmw.sh).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ublk/tier_zram.h"
#include "ublk/tiered.h"

#define RMW_TRIES 4     /* lost races before the page is done under the lock */
#define RMW_PAGES 16    /* per queue (64 KiB): RMWs out at once, at most 32 */

struct tiered_rmw {
	uint64_t was, now;                /* the entry read; the new location */
	struct span s;                    /* the page and the request's bytes
	                                     (buf NULL: zeros)                */
	unsigned tag, tries;
	bool writing;                     /* the SQE out is step 2's write     */
	void *page;                       /* RMW_PAGES pages, page-aligned     */
};

/* The page still holds what was read: its entry is the same, but for a
 * store page's age (a read or a demotion pass moves it, not the data). */
static bool unchanged(uint64_t cur, uint64_t was)
{
	if (zu_pte_tier(cur) == ZT_TIER_STORE && zu_pte_tier(was) == ZT_TIER_STORE)
		return zu_pte_store_aged(cur, 0) == zu_pte_store_aged(was, 0);
	return cur == was;
}

/* Is e's page read or written on the ring (fd, off: where)? */
static bool is_async(struct tq *tq, uint64_t e, int *fd, off_t *off)
{
	const struct ztu_tier_ops *ops;

	if (zu_pte_is_empty(e))
		return false;
	ops = ztu_tier_ops(zu_pte_tier(e));
	*fd = ops->io_fd ? ops->io_fd(&tq->tc, zu_pte_untagged(e), off) : -1;
	return *fd >= 0;
}

static void issue(struct ztu_queue *q, struct tiered_rmw *r, int fd, off_t off)
{
	struct tq *tq = q->tgt;
	struct io_uring_sqe *sqe = ztu_tgt_sqe(q, r->tag, TIERED_OP_RMW,
					       (uint32_t)(r - tq->rmw));

	if (r->writing)
		io_uring_prep_write(sqe, fd, r->page, ZT_PAGE_SIZE, (uint64_t)off);
	else
		io_uring_prep_read(sqe, fd, r->page, ZT_PAGE_SIZE, (uint64_t)off);
}

/* The page done (res: 0 or -errno): its RMW page is free again. */
static int done(struct tq *tq, struct tiered_rmw *r, int res)
{
	tq->rmw_free |= 1u << (r - tq->rmw);
	return res;
}

/* What the lock-held path makes of the page (the last resort). */
static int under_lock(struct tq *tq, struct tiered_rmw *r)
{
	return done(tq, r, tiered_write_partial(tq, &r->s, r->s.buf));
}

static int read_old(struct ztu_queue *q, struct tiered_rmw *r);

/* Step 3: swap the new location in if the page is still what was read. */
static int commit(struct ztu_queue *q, struct tiered_rmw *r)
{
	struct tq *tq = q->tgt;
	uint64_t cur;
	int ret = zu_pt_lock(tq->tc.t->pt, r->s.pgno, 0, &cur);

	if (ret) {
		tiered_free_loc(tq, r->now);
		return done(tq, r, ret);
	}
	if (unchanged(cur, r->was)) {
		tiered_unlock_swap(tq, r->s.pgno, cur, r->now);
		return done(tq, r, 0);
	}
	zu_pt_unlock(tq->tc.t->pt, r->s.pgno, cur);
	tiered_free_loc(tq, r->now);
	atomic_fetch_add_explicit(&tq->tc.t->rereads, 1, memory_order_relaxed);
	if (++r->tries >= RMW_TRIES)
		return under_lock(tq, r);
	return read_old(q, r);
}

/* Step 2: the request's bytes over the page read, placed, written. */
static int merge(struct ztu_queue *q, struct tiered_rmw *r)
{
	struct tq *tq = q->tgt;
	int fd, ret;
	off_t off;

	if (r->s.buf)
		memcpy((char *)r->page + r->s.off, r->s.buf, r->s.len);
	else
		memset((char *)r->page + r->s.off, 0, r->s.len);
	if ((ret = tiered_place_from(tq, r->page, ZT_TIER_NONE, &r->now)))
		return done(tq, r, ret);
	if (!is_async(tq, r->now, &fd, &off))
		return commit(q, r);              /* in memory, or written in put */
	r->writing = true;
	issue(q, r, fd, off);
	return TIERED_RMW_OUT;
}

/* Step 1: the page's bytes as they are now, into r->page: on the ring
 * from a block tier, else here under the lock. */
static int read_old(struct ztu_queue *q, struct tiered_rmw *r)
{
	struct tq *tq = q->tgt;
	uint64_t e = zu_pt_peek(tq->tc.t->pt, r->s.pgno);
	int fd, ret;
	off_t off;

	r->writing = false;
	/* (a zram page in memory is only decompressed: cheaper here than a
	 * worker thread's wake-up, as read_run.c says) */
	if (is_async(tq, e, &fd, &off) && !zu_pte_is_packed(e) &&
	    !(zu_pte_tier(e) == ZT_TIER_ZRAM && ztu_zram_in_memory(tq->tc.t))) {
		r->was = e;
		issue(q, r, fd, off);
		return TIERED_RMW_OUT;
	}
	ret = zu_pt_lock(tq->tc.t->pt, r->s.pgno, ZU_PT_NOCREATE, &e);
	if (ret == -ENOENT) {
		e = ZU_PTE_EMPTY;                  /* no leaf: never written */
		ret = 0;
	} else if (!ret) {
		if (!zu_pte_is_empty(e))
			ret = ztu_tier_ops(zu_pte_tier(e))->get(&tq->tc, zu_pte_untagged(e),
								r->page);
		zu_pt_unlock(tq->tc.t->pt, r->s.pgno, e);
	}
	if (ret)
		return done(tq, r, ret);
	if (zu_pte_is_empty(e))
		memset(r->page, 0, ZT_PAGE_SIZE);
	r->was = e;
	if (!r->s.buf && zu_pte_is_empty(e))
		return done(tq, r, 0);             /* zeroing part of a zero page */
	return merge(q, r);
}

int tiered_rmw_page(struct ztu_queue *q, unsigned tag, const struct span *s)
{
	struct tq *tq = q->tgt;
	struct tiered_rmw *r;
	int ret;

	if (!tq->rmw)
		return tiered_write_partial(tq, s, s->buf);
	if (!tq->rmw_free)
		return TIERED_PAGE_PARK;
	r = &tq->rmw[__builtin_ctz(tq->rmw_free)];
	tq->rmw_free &= tq->rmw_free - 1;
	r->s = *s;
	r->tag = tag;
	r->tries = 0;
	ret = read_old(q, r);
	if (ret != TIERED_RMW_OUT)
		return ret;
	tq->tags[tag].pending++;
	return 0;
}

void tiered_rmw_cqe(struct ztu_queue *q, unsigned tag, uint32_t arg, int res)
{
	struct tq *tq = q->tgt;
	struct tag_state *ts = &tq->tags[tag];
	struct tiered_rmw *r = &tq->rmw[arg];
	int ret;

	if (res != ZT_PAGE_SIZE && r->writing) {   /* the new location failed */
		tiered_write_failed(tq, r->now);
		ret = under_lock(tq, r);
	} else if (res != ZT_PAGE_SIZE) {          /* the old: say it as sync would */
		ret = under_lock(tq, r);
	} else {
		ret = r->writing ? commit(q, r) : merge(q, r);
	}
	if (ret == TIERED_RMW_OUT)
		return;
	if (ret && !ts->err)
		ts->err = ret;
	ts->pending--;
}

int tiered_rmw_init(struct tq *tq)
{
	const char *mode = getenv("ZTIER_UBLK_RMW");
	void *all;

	if (mode && !strcmp(mode, "sync"))
		return 0;
	tq->rmw = calloc(RMW_PAGES, sizeof(*tq->rmw));
	if (!tq->rmw || posix_memalign(&all, ZT_PAGE_SIZE, (size_t)RMW_PAGES * ZT_PAGE_SIZE))
		return -ENOMEM;
	for (unsigned i = 0; i < RMW_PAGES; i++)
		tq->rmw[i].page = (char *)all + (size_t)i * ZT_PAGE_SIZE;
	tq->rmw_free = (uint32_t)((1ull << RMW_PAGES) - 1);  /* (rmw_free: 32 bits) */
	return 0;
}

void tiered_rmw_deinit(struct tq *tq)
{
	if (tq->rmw)
		free(tq->rmw[0].page);
	free(tq->rmw);
	tq->rmw = NULL;
}
