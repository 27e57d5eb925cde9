/*
 * tgt_tiered.c — the tiered target: every 4 KiB page where the policy says.
 *
 * A request is cut into pages (a 512 B-aligned request may start and end
 * inside a page).  Each page is handled on its own:
 *
 *   READ   lock the entry (no leaf: the page was never written: zeros), then
 *          meta/store pages are copied out under the lock (a slot is never
 *          freed under a reader) and block-tier pages are read by io_uring,
 *          neighbours in consecutive slots as one I/O (read_run.c), into
 *          the request buffer, or with zero copy into the request's own
 *          pages (zerocopy.c).  The entry is unlocked during
 *          that read, so another queue may rewrite or discard the page and
 *          its slot be freed and reused by another page: when the read
 *          completes the entry is checked again and the page is read anew
 *          unless it is unchanged.  Every block-tier entry carries a 19-bit
 *          tag (pagetable.h, zu_pte_slot_tagged) that is new for each write
 *          (qid in the low 4 bits, so queues never collide; one queue must
 *          wrap 2^15 writes during one read to fool it), so even a slot that
 *          comes back to the same page is noticed.  The tiers see entries
 *          without the tag (loc()).
 *   WRITE  classify (policy/policy.h), put into rule.tier or rule.fallback,
 *          then swap the entry under its lock and free the old location:
 *          every write invalidates the previous copy, wherever it was, so a
 *          read always returns the last write.  A block-tier write goes out
 *          on the ring; its entry is swapped in only when the write is on the
 *          device, so until then readers keep seeing the previous data.
 *   sub-page WRITE, WRITE_ZEROES and DISCARD of part of a page: read-modify-
 *          write, its device I/O on the ring and the page validated before
 *          its new copy goes in (tiered_rmw.c), so concurrent 512 B writes
 *          to one page both land; its last resort is tiered_write_partial,
 *          all under the entry lock, with pread/pwrite for a block tier.
 *   DISCARD / WRITE_ZEROES of whole pages: the entry becomes empty and the
 *          location is freed (memory goes back: store chunks are released,
 *          a zram slot is discarded so the kernel frees it too, and only
 *          then is free for reuse; the request does not wait for that
 *          discard: it goes on the ring or to the discarder thread,
 *          zram_discard.c).
 *   zram full (its mem_limit: the kernel fails the write) or out of slots:
 *          the page goes to its class's fallback, like any full tier; the
 *          failed slot is freed.  After a refusal new pages skip zram until
 *          one of its slots is freed (no compress-and-fail per page).
 *   spill write failed (a dead or pulled disk: EIO): the same, so that a
 *          swap device whose spill died keeps taking pages while its
 *          fallback has room (the kernel would otherwise redirty and retry
 *          each page forever); new pages skip spill for SPILL_RETRY_MS,
 *          then one tries it again.  Without a fallback, or with it full,
 *          the write fails with the spill's error (EIO), never ENOSPC.
 *   FLUSH  nothing to do: completed writes are in RAM or on the device.
 *
 * The request walk (windows, parking, completions) is tiered_request.c;
 * this file is what happens to one page.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ublk/demote.h"
#include "ublk/tier_zram.h"
#include "ublk/tiered.h"

#define SPILL_RETRY_MS 1000       /* a failing spill is tried again after */

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool spill_failing(struct ztu_tiers *t)
{
	int64_t until = atomic_load_explicit(&t->spill_retry_ms, memory_order_relaxed);

	return until && mono_ms() < until;
}

/* Page i of a request whose bytes from woff on are at buf (the window). */
static void page_span(const struct ublksrv_io_desc *iod, char *buf, size_t woff, unsigned i,
		      struct span *s)
{
	uint64_t start = iod->start_sector << 9;
	uint64_t end = start + ((uint64_t)iod->nr_sectors << 9);
	uint64_t pstart, lo, hi;

	s->pgno = (start >> ZT_PAGE_SHIFT) + i;
	pstart = s->pgno << ZT_PAGE_SHIFT;
	lo = start > pstart ? start : pstart;
	hi = end < pstart + ZT_PAGE_SIZE ? end : pstart + ZT_PAGE_SIZE;
	s->off = (unsigned)(lo - pstart);
	s->len = (unsigned)(hi - lo);
	s->buf = buf + (lo - start - woff);
}

/* Page i of tag's request, its bytes where its window holds them. */
void tiered_tag_span(struct ztu_queue *q, unsigned tag, unsigned i, struct span *s)
{
	const struct tag_state *ts = &((struct tq *)q->tgt)->tags[tag];

	page_span(ztu_iod(q, tag), ztu_buf(q, tag), ts->woff, i, s);
}

/* ---- entries: swap in a new location, free the old ----------------------- */

static bool is_blk(enum zt_tier t)
{
	return t == ZT_TIER_ZRAM || t == ZT_TIER_SPILL;
}

/* The location an entry names, as the tiers know it (without the tag). */
static uint64_t loc(uint64_t e)
{
	return zu_pte_untagged(e);
}

/* Where the ring reads and writes e's page: the fd (and *off), or -1 when
 * it does not (empty, in memory, a sync spill: those are done here). */
int tiered_ring_fd(struct tq *tq, uint64_t e, off_t *off)
{
	if (zu_pte_is_empty(e))
		return -1;
	return ztu_tier_ops(zu_pte_tier(e))->io_fd(&tq->tc, loc(e), off);
}

/* The bytes of a locked entry's page into dst: zeros for an empty one. */
int tiered_get(struct tq *tq, uint64_t e, void *dst)
{
	if (zu_pte_is_empty(e)) {
		memset(dst, 0, ZT_PAGE_SIZE);
		return 0;
	}
	return ztu_tier_ops(zu_pte_tier(e))->get(&tq->tc, loc(e), dst);
}

/* A new block-tier entry gets a tag no earlier write of this queue used. */
static uint64_t tagged(struct tq *tq, uint64_t e)
{
	enum zt_tier t = zu_pte_tier(e);

	if (!is_blk(t))
		return e;
	tq->tc.wtag += ZTU_MAX_QUEUES;
	return zu_pte_slot_tagged(t, zu_pte_slot_nr(e), tq->tc.wtag);
}

/* Give a zram slot back without waiting for its discard: on this queue's
 * ring when the discarder allows it and the backend budget has room (the
 * completion frees the slot), else through the discarder thread. */
static void release_zram(struct tq *tq, uint64_t slot)
{
	struct ztu_discarder *dc = ztu_zram_discarder(tq->tc.t);
	struct ztu_queue *q = tq->q;

	if (q && ztu_discarder_ring(dc) && q->tgt_inflight < q->tgt_budget)
		ztu_discarder_prep(ztu_tgt_sqe(q, 0, TIERED_OP_DISCARD, (uint32_t)slot),
				   ztu_discarder_fd(dc), slot);
	else
		ztu_zram_release(tq->tc.t, slot);
}

/* Free a location that no entry names (yet or any more).  A zram slot is
 * discarded first: it is free for reuse only once that returned. */
void tiered_free_loc(struct tq *tq, uint64_t e)
{
	if (zu_pte_tier(e) == ZT_TIER_ZRAM)
		release_zram(tq, zu_pte_slot_nr(e));
	else
		ztu_tier_ops(zu_pte_tier(e))->drop(&tq->tc, loc(e));
}

/* Free the location an entry named until now. */
static void drop(struct tq *tq, uint64_t e)
{
	if (zu_pte_is_empty(e))
		return;
	ztu_ctr_add(&tq->tc.st->pages[zu_pte_tier(e)], -1);
	tiered_free_loc(tq, e);
}

void tiered_unlock_swap(struct tq *tq, uint64_t pgno, uint64_t old, uint64_t e)
{
	zu_pt_unlock(tq->tc.t->pt, pgno, e);
	if (!zu_pte_is_empty(e))
		ztu_ctr_add(&tq->tc.st->pages[zu_pte_tier(e)], 1);
	drop(tq, old);
}

static int publish(struct tq *tq, uint64_t pgno, uint64_t e)
{
	uint64_t old;
	int ret = zu_pt_lock(tq->tc.t->pt, pgno, 0, &old);

	if (ret) {
		tiered_free_loc(tq, e);
		return ret;
	}
	tiered_unlock_swap(tq, pgno, old, e);
	return 0;
}

static void spill_mark_failing(struct ztu_tiers *t)
{
	atomic_store_explicit(&t->spill_retry_ms, mono_ms() + SPILL_RETRY_MS, memory_order_relaxed);
}

/* One tier's put; failed names the tier that could not take the page (a
 * fallback, counted), ZT_TIER_NONE for the class's own tier.  A spill
 * that fails with an I/O error (a sync spill writes in put) is marked
 * failing. */
static int put_in(struct tq *tq, enum zt_tier t, const void *page,
		  const struct zt_page_class *cls, const struct zt_class_rule *r, bool last,
		  enum zt_tier failed, uint64_t *e)
{
	int ret = ztu_tier_ops(t)->put(&tq->tc, t, page, cls, &r->codec, last, e);

	if (!ret) {
		*e = tagged(tq, *e);
		if (failed != ZT_TIER_NONE)
			atomic_fetch_add_explicit(failed == ZT_TIER_SPILL ? &tq->tc.t->spill_fallbacks :
						  &tq->tc.t->zram_fallbacks, 1, memory_order_relaxed);
	} else if (t == ZT_TIER_SPILL && ret != -ENOSPC && ret != -E2BIG) {
		spill_mark_failing(tq->tc.t);
	}
	return ret;
}

/* A page a dead spill did not take (spill_err): its own tier takes it raw
 * if it only passed it on as too big compressed (kept for the spill), else
 * the write fails with the spill's error. */
static int spill_dead_end(struct tq *tq, const void *page, const struct zt_page_class *cls,
			  const struct zt_class_rule *r, int spill_err, uint64_t *e)
{
	if (r->tier != ZT_TIER_SPILL && r->fallback == ZT_TIER_SPILL &&
	    !put_in(tq, r->tier, page, cls, r, true, ZT_TIER_SPILL, e))
		return 0;
	return spill_err;
}

/* Put a page into its class's tier, else the fallback.  failed: the tier
 * that just failed to write this page (zram full, spill dead), so only the
 * fallback of a class whose tier that is may take it; ZT_TIER_NONE for a
 * new write.  A page that a dead spill could not take and no fallback
 * took fails with the spill's error, not ENOSPC. */
int tiered_place_from(struct tq *tq, const void *page, enum zt_tier failed, uint64_t *e,
		      enum zt_class *class)
{
	const struct ztu_config *p = tq->tc.t->cfg;
	struct zt_page_class cls;
	const struct zt_class_rule *r;
	int ret = -ENOSPC, spill_err = failed == ZT_TIER_SPILL ? -EIO : 0;

	zt_classify(page, &p->thresholds, &cls);
	if (class)
		*class = cls.cls;
	r = &p->rule[cls.cls];
	if (failed == ZT_TIER_NONE)
		ztu_ctr_add(&tq->tc.st->class_writes[cls.cls], 1);
	else if (r->tier != failed)
		return -EIO;
	for (int k = failed == ZT_TIER_NONE ? 0 : 1; k < 2; k++) {
		enum zt_tier t = k ? r->fallback : r->tier;
		bool last = k == 1 || r->fallback == ZT_TIER_NONE;

		if (t == ZT_TIER_NONE || t == failed || !ztu_tier_ops(t))
			break;
		if ((t == ZT_TIER_ZRAM && ztu_zram_full(tq->tc.t)) ||
		    (t == ZT_TIER_SPILL && spill_failing(tq->tc.t))) {
			spill_err = t == ZT_TIER_SPILL ? -EIO : spill_err;
			failed = t;                      /* a fallback, counted */
			continue;
		}
		ret = put_in(tq, t, page, &cls, r, last, failed, e);
		if (t == ZT_TIER_SPILL && ret && ret != -ENOSPC && ret != -E2BIG) {
			spill_err = ret;                 /* a dead spill: the same */
			failed = t;
			continue;
		}
		if (ret != -ENOSPC && ret != -E2BIG)
			return ret;
	}
	if (spill_err)
		return spill_dead_end(tq, page, &cls, r, spill_err, e);
	if (ret == -ENOSPC)
		ztu_ctr_add(&tq->tc.st->enospc, 1);
	return ret == -E2BIG ? -EIO : ret;
}

/* Place a page and write it now (the read-modify-write path); a zram write
 * the kernel refuses (full) goes to the fallback, as on the async path. */
static int place_sync(struct tq *tq, const void *page, uint64_t *e)
{
	enum zt_tier failed = ZT_TIER_NONE;

	for (;;) {
		const struct ztu_tier_ops *ops;
		off_t off;
		int ret = tiered_place_from(tq, page, failed, e, NULL);

		if (ret)
			return ret;
		ops = ztu_tier_ops(zu_pte_tier(*e));
		/* (off the ring, a block tier's put wrote the page: a sync spill) */
		if (!ops->write_sync || tiered_ring_fd(tq, *e, &off) < 0 ||
		    !(ret = ops->write_sync(&tq->tc, loc(*e), page)))
			return 0;
		tiered_free_loc(tq, *e);
		if (zu_pte_tier(*e) != ZT_TIER_ZRAM || failed != ZT_TIER_NONE)
			return ret;
		ztu_zram_mark_full(tq->tc.t);
		failed = ZT_TIER_ZRAM;
	}
}

/* ---- reads: ages and promotion (demote.h) ------------------------------------ */

/* Promote a packed spill page whose stored bytes are in slot (its entry e
 * locked): unlocked naming its new store copy, and the slot freed.  False
 * (still locked) when the store does not take it without committing. */
static bool promote(struct tq *tq, uint64_t pgno, uint64_t e, const void *slot)
{
	struct ztu_qstats *st = tq->tc.st;
	uint64_t ne;

	if (!slot || !zu_pte_is_packed(e) || zu_packed_promote(tq->tc.t->store, e, slot, &ne))
		return false;
	ztu_ctr_add(&st->store_pages, 1);
	ztu_ctr_add(&st->store_bytes, (int64_t)zu_pte_packed_len(e));
	ztu_ctr_add(&st->promoted, 1);
	tiered_unlock_swap(tq, pgno, e, ne);
	return true;
}

/* Unlock a page just read: a store page's age starts again; a packed page
 * (its slot's bytes in slot, NULL: not read) goes back to the store. */
static void read_unlock(struct tq *tq, uint64_t pgno, uint64_t e, const void *slot)
{
	if (zu_pte_tier(e) == ZT_TIER_STORE)
		e = zu_pte_store_aged(e, 0);
	if (!promote(tq, pgno, e, slot))
		zu_pt_unlock(tq->tc.t->pt, pgno, e);
}

/* ---- one page of each kind ------------------------------------------------- */

static void issue_write(struct ztu_queue *q, unsigned tag, unsigned i, uint64_t e, void *buf)
{
	struct tq *tq = q->tgt;
	off_t off;
	int fd = tiered_ring_fd(tq, e, &off);
	struct io_uring_sqe *sqe = ztu_tgt_sqe(q, tag, TIERED_OP_WRITE, i);

	io_uring_prep_write(sqe, fd, buf, ZT_PAGE_SIZE, (uint64_t)off);
	tq->tags[tag].pending++;
}

/* Entries that carry their whole page (empty, or an inline fill word) need
 * no lock to read: there is no location that could be freed under us, and
 * a racing write may show either its old or its new data anyway. */
static bool read_inline(struct tq *tq, const struct span *s)
{
	uint64_t e = zu_pt_peek(tq->tc.t->pt, s->pgno), word;

	if (zu_pte_is_empty(e))
		word = 0;
	else if (zu_pte_tier(e) == ZT_TIER_META && !(zu_pte_payload(e) & ZU_FILL_TABLE_BIT))
		word = zu_fill_word(NULL, zu_pte_payload(e));
	else
		return false;
	if (s->len == ZT_PAGE_SIZE) {
		zu_fill_page(s->buf, word);
	} else {
		zu_fill_page(tq->bounce, word);
		memcpy(s->buf, (char *)tq->bounce + s->off, s->len);
	}
	return true;
}

/* May the ring do O_DIRECT I/O on this page's buffer?  A page that starts
 * inside a request (a file system of 1 KiB blocks writes 1 KiB-aligned
 * requests) lies off a 4 KiB boundary, which a block tier of 4 KiB logical
 * blocks refuses (EINVAL: dm-crypt's spill mapping); those go through the
 * tier's own aligned page. */
static bool aligned(const void *buf)
{
	return ((uintptr_t)buf & (ZT_PAGE_SIZE - 1)) == 0;
}

static int read_page(struct ztu_queue *q, unsigned tag, unsigned i, const struct span *s)
{
	struct tq *tq = q->tgt;
	bool full = s->len == ZT_PAGE_SIZE;
	uint64_t e;
	off_t off;
	int ret;

	tq->fixed[(size_t)tag * tq->max_pages + i] = false;
	if (read_inline(tq, s))
		return 0;
	ret = zu_pt_lock(tq->tc.t->pt, s->pgno, ZU_PT_NOCREATE, &e);

	if (ret == -ENOENT || (!ret && zu_pte_is_empty(e))) {
		if (!ret)
			zu_pt_unlock(tq->tc.t->pt, s->pgno, e);
		memset(s->buf, 0, s->len);
		return 0;
	}
	if (ret)
		return ret;
	if (full && aligned(s->buf) && tiered_ring_fd(tq, e, &off) >= 0) {
		zu_pt_unlock(tq->tc.t->pt, s->pgno, e);
		tq->new_entry[(size_t)tag * tq->max_pages + i] = e;   /* read_check */
		/* a packed page is decoded in ztu_buf: never straight in */
		tiered_run_add(q, tag, i, e,
			       (size_t)(s->buf - ztu_buf(q, tag)) + tq->tags[tag].woff,
			       tq->tags[tag].zc && !zu_pte_is_packed(e));
		return 0;
	}
	ret = tiered_get(tq, e, full ? s->buf : tq->bounce);
	read_unlock(tq, s->pgno, e, ret ? NULL : tq->tc.scratch);
	if (!ret && !full)
		memcpy(s->buf, (char *)tq->bounce + s->off, s->len);
	return ret;
}

/* failed: see tiered_place_from (a retry after the zram tier refused the page).
 * A block tier's page whose buffer is not 4 KiB-aligned is written from
 * the tier's aligned page on this thread (see aligned). */
static int write_full(struct ztu_queue *q, unsigned tag, unsigned i, const struct span *s,
		      enum zt_tier failed)
{
	struct tq *tq = q->tgt;
	const struct ztu_tier_ops *ops;
	uint64_t e;
	off_t off;
	int ret = tiered_place_from(tq, s->buf, failed, &e, NULL);

	if (ret)
		return ret;
	if (tiered_ring_fd(tq, e, &off) < 0)
		return publish(tq, s->pgno, e);
	tq->new_entry[(size_t)tag * tq->max_pages + i] = e;
	ops = ztu_tier_ops(zu_pte_tier(e));
	if (!aligned(s->buf))
		return tiered_write_done(q, tag, i, ops->write_sync(&tq->tc, loc(e), s->buf));
	issue_write(q, tag, i, e, s->buf);
	return 0;
}

/* Read-modify-write of part of a page (src NULL: zeros), all under its
 * lock: tiered_rmw.c's last resort, and every such page's path when the
 * queue has no RMW pages (ZTIER_UBLK_RMW=sync). */
int tiered_write_partial(struct tq *tq, const struct span *s, const void *src)
{
	uint64_t old, e = ZU_PTE_EMPTY;
	int ret = zu_pt_lock(tq->tc.t->pt, s->pgno, src ? 0 : ZU_PT_NOCREATE, &old);

	if (ret == -ENOENT)
		return 0;                          /* zeroing a page never written */
	if (ret)
		return ret;
	ret = tiered_get(tq, old, tq->bounce);
	if (!ret && (src || !zu_pte_is_empty(old))) {
		if (src)
			memcpy((char *)tq->bounce + s->off, src, s->len);
		else
			memset((char *)tq->bounce + s->off, 0, s->len);
		ret = place_sync(tq, tq->bounce, &e);
	}
	if (ret || (zu_pte_is_empty(old) && !src)) {
		zu_pt_unlock(tq->tc.t->pt, s->pgno, old);
		return ret;
	}
	tiered_unlock_swap(tq, s->pgno, old, e);
	return 0;
}

/* Whole pages only (part of a page is a read-modify-write of zeros). */
static int discard_page(struct tq *tq, const struct span *s)
{
	uint64_t old;
	int ret = zu_pt_lock(tq->tc.t->pt, s->pgno, ZU_PT_NOCREATE, &old);
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	tiered_unlock_swap(tq, s->pgno, old, ZU_PTE_EMPTY);
	return 0;
}

int tiered_do_page(struct ztu_queue *q, unsigned tag, unsigned i)
{
	unsigned op = ublksrv_get_op(ztu_iod(q, tag));
	struct span s;

	tiered_tag_span(q, tag, i, &s);
	if (op == UBLK_IO_OP_READ)
		return read_page(q, tag, i, &s);
	if (s.len != ZT_PAGE_SIZE) {              /* (DISCARD, WRITE_ZEROES: zeros) */
		if (op != UBLK_IO_OP_WRITE)
			s.buf = NULL;
		return tiered_rmw_page(q, tag, &s);
	}
	if (op == UBLK_IO_OP_WRITE)
		return write_full(q, tag, i, &s, ZT_TIER_NONE);
	return discard_page(q->tgt, &s);
}

/* A packed page read whole into buf (its entry e locked, unchanged): the
 * stored bytes are decoded in place, after the page went back to the store
 * if it takes it. */
static int unpack(struct tq *tq, uint64_t pgno, uint64_t e, void *buf)
{
	int ret;

	read_unlock(tq, pgno, e, buf);
	ret = zu_packed_decode(tq->tc.codec, e, buf, tq->bounce);
	if (!ret)
		memcpy(buf, tq->bounce, ZT_PAGE_SIZE);
	return ret;
}

/* A page read anew after its window's bytes left ztu_buf (a read into the
 * request's own pages outlives its window): on this thread, into the bounce
 * page, and from there into the request. */
static int reread_direct(struct ztu_queue *q, unsigned tag, unsigned i, const struct span *s)
{
	struct tq *tq = q->tgt;
	const struct ublksrv_io_desc *iod = ztu_iod(q, tag);
	uint64_t e;
	int ret = zu_pt_lock(tq->tc.t->pt, s->pgno, ZU_PT_NOCREATE, &e);

	if (ret == -ENOENT) {
		memset(tq->bounce, 0, ZT_PAGE_SIZE);   /* no leaf: never written */
	} else if (ret) {
		return ret;
	} else {
		ret = tiered_get(tq, e, tq->bounce);
		read_unlock(tq, s->pgno, e, ret ? NULL : tq->tc.scratch);
		if (ret)
			return ret;
	}
	return ztu_zc_copy_out(q, tag, (char *)tq->bounce + s->off, s->len,
			       tiered_page_off(iod, i, tq->tags[tag].npages));
}

/* An async read is good only if the entry still names what was read: the
 * slot may have been freed and reused meanwhile.  Else read it again. */
static int read_check(struct ztu_queue *q, unsigned tag, unsigned i, int err)
{
	struct tq *tq = q->tgt;
	const struct tag_state *ts = &tq->tags[tag];
	uint64_t was = tq->new_entry[(size_t)tag * tq->max_pages + i], cur;
	struct span s;
	int ret;

	tiered_tag_span(q, tag, i, &s);
	ret = zu_pt_lock(tq->tc.t->pt, s.pgno, ZU_PT_NOCREATE, &cur);
	if (ret == -ENOENT)
		cur = ZU_PTE_EMPTY;
	else if (ret)
		return ret;
	else if (cur == was && !err && zu_pte_is_packed(cur))
		return unpack(tq, s.pgno, cur, s.buf);
	else
		zu_pt_unlock(tq->tc.t->pt, s.pgno, cur);
	if (cur == was)
		return err;
	atomic_fetch_add_explicit(&tq->tc.t->rereads, 1, memory_order_relaxed);
	if (i < ts->wbegin || ts->closed)
		return reread_direct(q, tag, i, &s);
	return read_page(q, tag, i, &s);
}

/* A run of count pages from first read (res: bytes or -errno): each page
 * checked on its own; the first error is the request's.  Pages read anew
 * (changed meanwhile) go out as runs of their own.  The caller finishes
 * the request if this was its last (tiered_request.c). */
void tiered_run_done(struct ztu_queue *q, unsigned tag, unsigned first, unsigned count, int res)
{
	struct tq *tq = q->tgt;
	struct tag_state *ts = &tq->tags[tag];
	int err = res == (int)(count * ZT_PAGE_SIZE) ? 0 : res < 0 ? res : -EIO;

	/* (a fixed run's pages stay marked until a re-read below) */
	ts->fixed_out -= tq->fixed[(size_t)tag * tq->max_pages + first];
	for (unsigned k = 0; k < count; k++) {
		int r = read_check(q, tag, first + k, err);

		if (r && !ts->err)
			ts->err = r;
	}
	ts->pending--;
	tiered_run_flush(q);
}

void tiered_write_failed(struct tq *tq, uint64_t e)
{
	tiered_free_loc(tq, e);
	if (zu_pte_tier(e) == ZT_TIER_SPILL)
		spill_mark_failing(tq->tc.t);
	else if (zu_pte_tier(e) == ZT_TIER_ZRAM)
		ztu_zram_mark_full(tq->tc.t);
}

/* An async write is on the device: publish it.  A zram write the kernel
 * refused (mem_limit), or a spill write that failed, goes to the class's
 * fallback instead (new pages skip a failing spill for a while:
 * spill_failing); if none takes a spill's page, the write fails with the
 * spill's own error. */
int tiered_write_done(struct ztu_queue *q, unsigned tag, unsigned i, int err)
{
	struct tq *tq = q->tgt;
	uint64_t e = tq->new_entry[(size_t)tag * tq->max_pages + i];
	struct span s;

	tiered_tag_span(q, tag, i, &s);
	if (!err)
		return publish(tq, s.pgno, e);
	if (zu_pte_tier(e) == ZT_TIER_SPILL)
		err = ztu_blk_write_error(tq->tc.t->blk[ZT_TIER_SPILL],
					  (off_t)(zu_pte_slot_nr(e) * ZT_PAGE_SIZE), err);
	tiered_write_failed(tq, e);
	if (zu_pte_tier(e) == ZT_TIER_SPILL)
		return write_full(q, tag, i, &s, ZT_TIER_SPILL) ? err : 0;
	if (zu_pte_tier(e) != ZT_TIER_ZRAM)
		return err;
	return write_full(q, tag, i, &s, ZT_TIER_ZRAM);
}
