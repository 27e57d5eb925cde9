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
 *      queue's RMW pages: on the ring from a block tier (a packed spill
 *      page's slot is decoded there once read), else at once under the
 *      lock (memory tiers, a sync spill page, a page never written, a zram
 *      tier without backing device: it only decompresses);
 *   2. the request's bytes (or zeros) go over them and the page is placed
 *      as any write is (classified: it may change tier) and, on a block
 *      tier, written on the ring;
 *   3. the entry is locked and the page checked (unchanged): if it still
 *      holds what was read, the new location replaces it and the old one
 *      is freed.  Else another write got there first: the new location is
 *      freed and the page starts again at 1 from that write's bytes, so
 *      concurrent writes to one page all land, in some order.
 * A page that loses RMW_TRIES times, or whose read or write fails, is done
 * by tiered_write_partial instead, all under the lock: it places with the
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

#include "ublk/demote.h"
#include "ublk/tiered.h"

#define RMW_TRIES 4     /* lost races before the page is done under the lock */
#define RMW_PAGES 16    /* per queue (64 KiB): RMWs out at once (<= 32: the
                           bits of tq->rmw_free) */
#define RMW_OUT 2       /* a step's result: its SQE is out, the page not done */

struct tiered_rmw {
	uint64_t was, now;                /* the entry read; the new location */
	struct span s;                    /* the page and the request's bytes
	                                     (buf NULL: zeros)                */
	enum zt_class cls;                /* the page's class, as placed       */
	unsigned tag, tries;
	bool writing;                     /* the SQE out is step 2's write     */
	void *page;                       /* RMW_PAGES pages, page-aligned     */
};

/* Does the entry alone say what the page holds?  An empty one or an inline
 * fill word is the page; a block-tier entry's 19-bit tag is new for each
 * write (tgt_tiered.c).  The store's and the fill table's locations are
 * reused: the same entry may name another write's bytes later. */
static bool says_all(uint64_t e)
{
	enum zt_tier t = zu_pte_tier(e);

	if (zu_pte_is_empty(e))
		return true;
	if (t == ZT_TIER_META)
		return !(zu_pte_payload(e) & ZU_FILL_TABLE_BIT);
	return (t == ZT_TIER_ZRAM || t == ZT_TIER_SPILL) && !zu_pte_is_packed(e);
}

/* Step 3's check, the entry cur locked: does the page still hold what was
 * read?  Where the entry cannot say, its bytes outside the request's part
 * must be the ones read: then the result is as if this write came after
 * the one that wrote them.  A packed page is judged by its entry, as reads
 * judge it (tgt_tiered.c read_check: its slot, length and 5-bit tag), so
 * that no spill read is done under the lock. */
static bool unchanged(struct tq *tq, const struct tiered_rmw *r, uint64_t cur)
{
	const char *a = tq->bounce, *b = r->page;
	size_t end = (size_t)r->s.off + r->s.len;

	if (says_all(cur) || says_all(r->was) || zu_pte_is_packed(cur) ||
	    zu_pte_is_packed(r->was))
		return cur == r->was;
	if (tiered_get(tq, cur, tq->bounce))
		return false;
	return !memcmp(a, b, r->s.off) && !memcmp(a + end, b + end, ZT_PAGE_SIZE - end);
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

/* The page done (res: 0 or -errno): its RMW page is free again; returns
 * res. */
static int done(struct tq *tq, struct tiered_rmw *r, int res)
{
	tq->rmw_free |= 1u << (r - tq->rmw);
	return res;
}

/* The new location dropped (another write got there first, or it failed):
 * freed, and its write no longer counted in class_writes, since the next
 * try, or the lock-held path, places and counts the page again. */
static void drop_now(struct tq *tq, struct tiered_rmw *r, bool failed)
{
	if (failed)
		tiered_write_failed(tq, r->now);
	else
		tiered_free_loc(tq, r->now);
	ztu_ctr_add(&tq->tc.st->class_writes[r->cls], -1);
}

/* What the lock-held path makes of the page (the last resort). */
static int under_lock(struct tq *tq, struct tiered_rmw *r)
{
	return done(tq, r, tiered_write_partial(tq, &r->s, r->s.buf));
}

static int read_old(struct ztu_queue *q, struct tiered_rmw *r);

/* Another write got to the page first: from step 1 again, or, after
 * RMW_TRIES of those, the lock-held path. */
static int again(struct ztu_queue *q, struct tiered_rmw *r)
{
	struct tq *tq = q->tgt;

	atomic_fetch_add_explicit(&tq->tc.t->rereads, 1, memory_order_relaxed);
	if (++r->tries >= RMW_TRIES)
		return under_lock(tq, r);
	return read_old(q, r);                 /* (at most RMW_TRIES deep) */
}

/* Step 3: swap the new location in if the page is still what was read.
 * (A leaf is made only for a page that was empty: else its absence means
 * the page was discarded meanwhile, a change like any other.) */
static int commit(struct ztu_queue *q, struct tiered_rmw *r)
{
	struct tq *tq = q->tgt;
	unsigned flags = zu_pte_is_empty(r->was) ? 0 : ZU_PT_NOCREATE;
	uint64_t cur;
	int ret = zu_pt_lock(tq->tc.t->pt, r->s.pgno, flags, &cur);

	if (ret && ret != -ENOENT) {
		tiered_free_loc(tq, r->now);
		return done(tq, r, ret);
	}
	if (!ret && unchanged(tq, r, cur)) {
		tiered_unlock_swap(tq, r->s.pgno, cur, r->now);
		return done(tq, r, 0);
	}
	if (!ret)
		zu_pt_unlock(tq->tc.t->pt, r->s.pgno, cur);
	drop_now(tq, r, false);
	return again(q, r);
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
	if ((ret = tiered_place_from(tq, r->page, ZT_TIER_NONE, &r->now, &r->cls)))
		return done(tq, r, ret);
	if ((fd = tiered_ring_fd(tq, r->now, &off)) < 0)
		return commit(q, r);              /* in memory, or written in put */
	r->writing = true;
	issue(q, r, fd, off);
	return RMW_OUT;
}

/* Step 1: the page's bytes as they are now, into r->page: on the ring
 * from a block tier, else here under the lock. */
static int read_old(struct ztu_queue *q, struct tiered_rmw *r)
{
	struct tq *tq = q->tgt;
	uint64_t e = zu_pt_peek(tq->tc.t->pt, r->s.pgno);
	off_t off;
	int fd = tiered_ring_fd(tq, e, &off), ret;

	r->writing = false;
	if (fd >= 0 && !tiered_zram_read_now(tq, fd)) {
		r->was = e;
		issue(q, r, fd, off);
		return RMW_OUT;
	}
	ret = zu_pt_lock(tq->tc.t->pt, r->s.pgno, ZU_PT_NOCREATE, &e);
	if (ret == -ENOENT) {
		e = ZU_PTE_EMPTY;                  /* no leaf: never written */
		memset(r->page, 0, ZT_PAGE_SIZE);
		ret = 0;
	} else if (!ret) {
		ret = tiered_get(tq, e, r->page);
		zu_pt_unlock(tq->tc.t->pt, r->s.pgno, e);
	}
	if (ret)
		return done(tq, r, ret);
	r->was = e;
	if (!r->s.buf && zu_pte_is_empty(e))
		return done(tq, r, 0);             /* zeroing part of a zero page */
	return merge(q, r);
}

/* Step 1's read came back.  A packed page's slot holds the store's bytes,
 * decoded here (through the bounce page: decoding is not in place); bytes
 * that do not decode are another page's, written in a slot freed and
 * reused meanwhile: the page changed. */
static int read_done(struct ztu_queue *q, struct tiered_rmw *r)
{
	struct tq *tq = q->tgt;

	if (!zu_pte_is_packed(r->was))
		return merge(q, r);
	if (zu_packed_decode(tq->tc.codec, r->was, r->page, tq->bounce))
		return again(q, r);
	memcpy(r->page, tq->bounce, ZT_PAGE_SIZE);
	return merge(q, r);
}

int tiered_rmw_page(struct ztu_queue *q, unsigned tag, const struct span *s)
{
	struct tq *tq = q->tgt;
	struct tiered_rmw *r;
	int ret;

	if (!tq->rmw)
		return tiered_write_partial(tq, s, s->buf);
	/* in order: a request waiting for an RMW page gets one before any
	 * that comes after it (wants_rmw: it is the one resumed) */
	if (!tq->rmw_free || (tq->rmw_waiters && !tq->tags[tag].wants_rmw))
		return TIERED_PAGE_PARK;
	tq->tags[tag].wants_rmw = false;
	r = &tq->rmw[__builtin_ctz(tq->rmw_free)];
	tq->rmw_free &= tq->rmw_free - 1;
	r->s = *s;
	r->tag = tag;
	r->tries = 0;
	ret = read_old(q, r);
	if (ret != RMW_OUT)
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
		drop_now(tq, r, true);
		ret = under_lock(tq, r);
	} else if (res != ZT_PAGE_SIZE) {          /* the old: the sync path reports it */
		ret = under_lock(tq, r);
	} else {
		ret = r->writing ? commit(q, r) : read_done(q, r);
	}
	if (ret == RMW_OUT)
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
