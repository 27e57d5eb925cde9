/*
 * tiered_request.c — the tiered target's requests: their pages in order,
 * a window at a time, parked when the backend budget is used up, and done
 * when their last page is (what happens to one page: tgt_tiered.c).
 *
 * A request's bytes pass through its tag's buffer (ztu_buf).  A zero-copy
 * device takes requests larger than that buffer (up to 1 MiB: its block-
 * tier pages are read straight into the request's own pages), and goes
 * through them a window, a buffer's worth of pages, at a time: a write's
 * bytes of the window copied in, its pages done (block-tier writes from
 * the buffer), a read's copied out, then the next window.
 *
 * Async pages are counted per tag; a tag completes when its last page is
 * done.  Backend SQEs in flight are bounded by the queue's budget (the CQ is
 * sized for it): a request that would exceed it is parked and resumed from
 * the idle hook as completions free room; so is one whose sub-page write
 * finds every read-modify-write page of the queue busy (tiered_rmw.c).  No allocation on the I/O path:
 * per-tag state, per-page slots and the bounce page are made at queue init.
 */
#include <errno.h>

#include "ublk/tier_zram.h"
#include "ublk/tiered.h"

static unsigned span_pages(const struct ublksrv_io_desc *iod)
{
	uint64_t start = iod->start_sector << 9;
	uint64_t end = start + ((uint64_t)iod->nr_sectors << 9);

	return (unsigned)(((end + ZT_PAGE_SIZE - 1) >> ZT_PAGE_SHIFT) - (start >> ZT_PAGE_SHIFT));
}

/* Zero copy: the window's read pages that did not come by READ_FIXED are
 * in ztu_buf; copy them into the request, a run of neighbours at a time. */
static int copy_out(struct ztu_queue *q, unsigned tag)
{
	struct tq *tq = q->tgt;
	const struct tag_state *ts = &tq->tags[tag];
	const bool *fixed = &tq->fixed[(size_t)tag * tq->max_pages];
	char *buf = ztu_buf(q, tag);

	for (unsigned i = ts->wbegin, j; i < ts->wend; i = j) {
		struct span a, b;
		int ret;

		for (j = i; j < ts->wend && !fixed[j]; j++)
			;
		if (j == i) {
			j++;
			continue;
		}
		tiered_tag_span(q, tag, i, &a);
		tiered_tag_span(q, tag, j - 1, &b);
		ret = ztu_zc_copy_out(q, tag, a.buf, (size_t)(b.buf + b.len - a.buf),
				      (size_t)(a.buf - buf) + ts->woff);
		if (ret)
			return ret;
	}
	return 0;
}

/* Byte offset in the request of page i (of n; n: the request's end). */
size_t tiered_page_off(const struct ublksrv_io_desc *iod, unsigned i, unsigned n)
{
	size_t in_page = (size_t)(iod->start_sector << 9) & (ZT_PAGE_SIZE - 1);

	if (i >= n)
		return (size_t)iod->nr_sectors << 9;
	return i ? (size_t)i * ZT_PAGE_SIZE - in_page : 0;
}

/* The pages from first on that ztu_buf holds at once: all of them, unless
 * a zero-copy device takes requests larger than its buffer (ctrl.c); a
 * write's bytes of those pages are copied in now.  Byte b of the request
 * is at ztu_buf + b - woff, woff a multiple of a page: a page lies on the
 * buffer's page boundaries exactly when it does on the request's, which
 * READ_FIXED into the request's own pages needs (read_page: aligned). */
static int open_window(struct ztu_queue *q, unsigned tag, unsigned first)
{
	const struct ublksrv_io_desc *iod = ztu_iod(q, tag);
	struct tag_state *ts = &((struct tq *)q->tgt)->tags[tag];
	unsigned op = ublksrv_get_op(iod);
	size_t at = tiered_page_off(iod, first, ts->npages), in_page = at & (ZT_PAGE_SIZE - 1);
	size_t room = q->dev->cfg.io_buf_bytes;
	size_t end = tiered_page_off(iod, ts->npages, ts->npages);
	/* else the request fits the buffer (the kernel's copy needs that) */
	bool windows = q->dev->info.max_io_buf_bytes > room &&
		       (op == UBLK_IO_OP_READ || op == UBLK_IO_OP_WRITE);

	ts->wbegin = first;
	ts->woff = at - in_page;
	ts->wend = ts->npages;
	/* else the pages whose end is within room of woff (room >= 64 KiB) */
	if (windows && end - ts->woff > room)
		ts->wend = (unsigned)((ts->woff + room +
				       ((size_t)(iod->start_sector << 9) & (ZT_PAGE_SIZE - 1))) /
				      ZT_PAGE_SIZE);
	if (op != UBLK_IO_OP_WRITE || !ztu_dev_zc(q->dev))
		return 0;
	return ztu_zc_copy_in(q, tag, ztu_buf(q, tag) + in_page,
			      tiered_page_off(iod, ts->wend, ts->npages) - at, at);
}

/* Nothing of the window is left to do, out or parked. */
static bool window_done(const struct tag_state *ts)
{
	return ts->pending == ts->fixed_out && !ts->deferred && (ts->next >= ts->wend || ts->err);
}

/* A window done: a zero-copy read's pages go out to the request; then
 * the next window, if any (false: the request is done, or failed). */
static bool turn_window(struct ztu_queue *q, unsigned tag)
{
	struct tag_state *ts = &((struct tq *)q->tgt)->tags[tag];

	if (ublksrv_get_op(ztu_iod(q, tag)) == UBLK_IO_OP_READ && !ts->err && ztu_dev_zc(q->dev))
		ts->err = copy_out(q, tag);
	if (!ts->err && ts->wend < ts->npages)
		ts->err = open_window(q, tag, ts->wend);
	else
		ts->closed = true;
	ts->closed |= ts->err != 0;
	return !ts->closed;
}

static void finish(struct ztu_queue *q, unsigned tag)
{
	const struct ublksrv_io_desc *iod = ztu_iod(q, tag);
	const struct tag_state *ts = &((struct tq *)q->tgt)->tags[tag];
	unsigned op = ublksrv_get_op(iod);
	int res = 0;

	if (op == UBLK_IO_OP_READ || op == UBLK_IO_OP_WRITE)
		res = (int)(iod->nr_sectors << 9);
	ztu_io_done(q, tag, ts->err ? ts->err : res);
}

static void park(struct tq *tq, unsigned tag, bool wants_rmw)
{
	tq->tags[tag].deferred = true;
	tq->tags[tag].wants_rmw = wants_rmw;
	tq->rmw_waiters += wants_rmw;
	tq->resume[(tq->rhead + tq->rcount++) % tq->rsize] = tag;
}

/* The request's pages, window by window; it returns while backend I/O of
 * the window is out (its completions come back through tag_progress) or
 * when parked (tiered_idle resumes it).  Reads straight into the request's
 * pages (READ_FIXED) are not waited for between windows: a run of them
 * goes on gathering into the next window, so pages in consecutive slots
 * are one read however many windows they span. */
static void run_tag(struct ztu_queue *q, unsigned tag)
{
	struct tq *tq = q->tgt;
	struct tag_state *ts = &tq->tags[tag];
	int ret;

	for (;;) {
		while (ts->next < ts->wend && !ts->err) {
			if (q->tgt_inflight >= q->tgt_budget) {
				tiered_run_flush(q);
				park(tq, tag, false);
				return;
			}
			ret = tiered_do_page(q, tag, ts->next);
			if (ret == TIERED_PAGE_PARK) {     /* no RMW page free */
				tiered_run_flush(q);
				park(tq, tag, true);
				return;
			}
			ts->err = ret;
			ts->next++;
		}
		if (!tq->run.fixed || ts->err)
			tiered_run_flush(q);
		if (!window_done(ts) || !turn_window(q, tag))
			break;
	}
	tiered_run_flush(q);
	if (ts->closed && !ts->pending)
		finish(q, tag);
}

/* After a backend completion of tag's request: it may go on to its next
 * window, or be done. */
static void tag_progress(struct ztu_queue *q, unsigned tag)
{
	struct tag_state *ts = &((struct tq *)q->tgt)->tags[tag];

	if (ts->closed) {
		if (!ts->pending)
			finish(q, tag);
	} else if (window_done(ts)) {
		if (turn_window(q, tag))
			run_tag(q, tag);
		else if (!ts->pending)
			finish(q, tag);
	}
}

static void tiered_queue_io(struct ztu_queue *q, unsigned tag)
{
	const struct ublksrv_io_desc *iod = ztu_iod(q, tag);
	struct tag_state *ts = &((struct tq *)q->tgt)->tags[tag];
	unsigned op = ublksrv_get_op(iod);

	if (op == UBLK_IO_OP_FLUSH) {
		ztu_io_done(q, tag, 0);
		return;
	}
	if (op != UBLK_IO_OP_READ && op != UBLK_IO_OP_WRITE &&
	    op != UBLK_IO_OP_DISCARD && op != UBLK_IO_OP_WRITE_ZEROES) {
		ztu_io_done(q, tag, -EOPNOTSUPP);
		return;
	}
	*ts = (struct tag_state){ .npages = span_pages(iod) };
	if ((iod->start_sector << 9) + ((uint64_t)iod->nr_sectors << 9) > q->dev->cfg.size)
		ts->err = -EIO;
	if (ztu_dev_zc(q->dev))                   /* the kernel copied nothing */
		ts->zc = ztu_zc_registered(q, tag);
	if (!ts->err)
		ts->err = open_window(q, tag, 0);
	run_tag(q, tag);
}

static void tiered_io_done(struct ztu_queue *q, unsigned tag, const struct io_uring_cqe *cqe)
{
	struct tq *tq = q->tgt;
	struct tag_state *ts = &tq->tags[tag];
	unsigned i = ztu_udata_arg(cqe->user_data);
	int err;

	if (ztu_udata_op(cqe->user_data) == TIERED_OP_DISCARD) {   /* of no request */
		ztu_discarder_done(ztu_zram_discarder(tq->tc.t), i, cqe->res);
		return;
	}
	if (ztu_udata_op(cqe->user_data) == TIERED_OP_READ) {
		tiered_run_cqe(q, tag, i, cqe->res);
		tag_progress(q, tag);
		return;
	}
	if (ztu_udata_op(cqe->user_data) == TIERED_OP_RMW) {
		tiered_rmw_cqe(q, tag, i, cqe->res);
		tag_progress(q, tag);
		return;
	}
	err = cqe->res == ZT_PAGE_SIZE ? 0 : cqe->res < 0 ? cqe->res : -EIO;
	err = tiered_write_done(q, tag, i, err);
	if (err && !ts->err)
		ts->err = err;
	ts->pending--;
	tag_progress(q, tag);
}

static void tiered_idle(struct ztu_queue *q)
{
	struct tq *tq = q->tgt;

	while (tq->rcount && q->tgt_inflight < q->tgt_budget) {
		unsigned tag = tq->resume[tq->rhead];

		/* in order: all wait while the first waits for an RMW page (one
		 * is out on the ring, so this returns to take its completion) */
		if (tq->tags[tag].wants_rmw && !tq->rmw_free)
			break;
		tq->rhead = (tq->rhead + 1) % tq->rsize;
		tq->rcount--;
		tq->tags[tag].deferred = false;
		tq->rmw_waiters -= tq->tags[tag].wants_rmw;
		run_tag(q, tag);
	}
}

const struct ztu_target_ops ztu_tgt_tiered = {
	.name = "tiered",
	.init = ztu_tiered_init,
	.deinit = ztu_tiered_deinit,
	.queue_init = ztu_tiered_queue_init,
	.queue_deinit = ztu_tiered_queue_deinit,
	.queue_io = tiered_queue_io,
	.io_done = tiered_io_done,
	.idle = tiered_idle,
	.publish = ztu_tiered_publish,
	.reap = ztu_tiered_reap,
	.sections = ztu_tiered_sections,
	.owned = ztu_zram_owned,
};
