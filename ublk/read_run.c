/*
 * read_run.c — block-tier reads of neighbouring pages as one I/O.
 *
 * A request's pages that lie in consecutive slots of the same block tier
 * (a file written in order gets consecutive zram or spill slots) are read
 * with one SQE: a 1 MiB read is one I/O of the tier's device instead of
 * 256.  That matters most for zram, which does not take I/O without
 * blocking: io_uring hands each of its reads to a worker thread, so the
 * thread hand-off, not the copy, is most of the cost of a page.
 *
 * For the same reason a run of one zram page is read on the queue thread
 * (pread into ztu_buf), when the zram tier has no backing device: zram then
 * only decompresses, which costs less than waking a worker (7.3 under TCG:
 * 4K randread 17-21k IOPS against 11-19k through io_uring, one boot).  A
 * tier with a backing device may have to read a written-back page from
 * disk, and that wait must not hold the queue: its reads stay async.
 *
 * The target adds pages in request order (tiered_run_add); the run goes
 * out when the next page does not extend it, and before the target leaves
 * the request (tiered_run_flush).  Its completion carries the first page
 * and the count; each page is then checked on its own (read_check).
 */
#include <errno.h>
#include <unistd.h>

#include "ublk/tier_zram.h"
#include "ublk/tiered.h"


/* A run's SQE carries its first page and its count in the target
 * argument of user_data (16 bits each). */
static uint32_t run_arg(const struct read_run *r)
{
	return r->first | (r->count << 16);
}

void tiered_run_cqe(struct ztu_queue *q, unsigned tag, uint32_t arg, int res)
{
	tiered_run_done(q, tag, arg & 0xffff, arg >> 16, res);
}

static void issue_run(struct ztu_queue *q, const struct read_run *r)
{
	struct io_uring_sqe *sqe = ztu_tgt_sqe(q, r->tag, TIERED_OP_READ, run_arg(r));
	unsigned len = r->count * ZT_PAGE_SIZE;

	if (r->fixed)
		io_uring_prep_read_fixed(sqe, r->fd, (void *)(uintptr_t)r->at, len,
					 (uint64_t)r->off, (int)r->tag);
	else
		io_uring_prep_read(sqe, r->fd, tiered_buf_at(q, r->tag, r->at), len, (uint64_t)r->off);
}

bool tiered_zram_read_now(const struct tq *tq, int fd)
{
	return ztu_zram_in_memory(tq->tc.t) && fd == ztu_blk_fd(tq->tc.t->blk[ZT_TIER_ZRAM]);
}

/* One zram page, read now (see above): into ztu_buf, or for a page meant
 * for the request's own pages, whose window may have passed, into the
 * bounce page and from there into the request. */
static bool read_now(struct ztu_queue *q, const struct read_run *r)
{
	struct tq *tq = q->tgt;
	void *to = r->fixed ? tq->bounce : tiered_buf_at(q, r->tag, r->at);
	ssize_t n;
	int res;

	if (r->count != 1 || !tiered_zram_read_now(tq, r->fd))
		return false;
	n = pread(r->fd, to, ZT_PAGE_SIZE, r->off);
	res = n < 0 ? -errno : (int)n;
	if (r->fixed && res == ZT_PAGE_SIZE) {
		int err = ztu_zc_copy_out(q, r->tag, to, ZT_PAGE_SIZE, r->at);

		res = err ? err : res;
	}
	tiered_run_done(q, r->tag, r->first, 1, res);
	return true;
}

void tiered_run_flush(struct ztu_queue *q)
{
	struct tq *tq = q->tgt;
	struct read_run r = tq->run;

	tq->run.count = 0;
	if (!r.count || read_now(q, &r))
		return;
	if (r.fixed)
		ztu_ctr_add(&tq->tc.st->zc_reads, r.count);
	issue_run(q, &r);
}

static bool extends(const struct read_run *r, unsigned tag, unsigned i, int fd, off_t off,
		    bool fixed)
{
	return r->count && r->tag == tag && r->first + r->count == i && r->fd == fd &&
	       r->off + (off_t)r->count * ZT_PAGE_SIZE == off && r->fixed == fixed &&
	       r->count < TIERED_RUN_MAX;
}

void tiered_run_add(struct ztu_queue *q, unsigned tag, unsigned i, uint64_t e, size_t at,
		    bool fixed)
{
	struct tq *tq = q->tgt;
	off_t off;
	int fd = tiered_ring_fd(tq, e, &off);

	/* a page meant for the request's own pages is its from here on */
	tq->fixed[(size_t)tag * tq->max_pages + i] = fixed;
	if (extends(&tq->run, tag, i, fd, off, fixed)) {
		tq->run.count++;
		return;
	}
	tiered_run_flush(q);
	tq->run = (struct read_run){ .tag = tag, .first = i, .count = 1, .fd = fd, .off = off,
				     .at = at, .fixed = fixed };
	tq->tags[tag].pending++;
	tq->tags[tag].fixed_out += fixed;
}
