/*
 * tiered.h — internal: the tiered target's per-queue state, shared by its
 * requests (tiered_request.c), their pages (tgt_tiered.c), block-tier read
 * runs (read_run.c) and its setup (tiered_setup.c).
 */
#ifndef ZT_UBLK_TIERED_H
#define ZT_UBLK_TIERED_H

#include "ublk/srv.h"
#include "ublk/tier.h"

/* One request in progress on a tag.  Its pages go through ztu_buf a
 * window at a time: all of them, except on a zero-copy device, whose
 * requests may be larger than the buffer (tiered_request.c open_window). */
struct tag_state {
	uint32_t next, npages, pending;   /* next page, pages, async pages out */
	uint32_t fixed_out;               /* of pending: reads straight into the
	                                     request (READ_FIXED), which need
	                                     not end with their window          */
	bool closed;                      /* no window left: done when nothing
	                                     is pending                         */
	uint32_t wbegin, wend;            /* the window: pages wbegin..wend-1  */
	size_t woff;                      /* the request's byte at ztu_buf[0]:
	                                     a page boundary (open_window)     */
	int err;
	bool deferred;                    /* parked: backend budget used up,  */
	bool wants_rmw;                   /* or waiting for an RMW page: no
	                                     new request takes one before it
	                                     (tiered_rmw.c)                    */
	bool zc;                          /* its pages are registered: block-
	                                     tier reads go straight there      */
};

/* Block-tier pages in consecutive slots, read as one I/O (read_run.c). */
#define TIERED_OP_READ  1          /* the target's backend ops (user_data) */
#define TIERED_OP_WRITE 2
#define TIERED_OP_DISCARD 3        /* of a freed zram slot, of no request */
#define TIERED_OP_RMW   4          /* a read-modify-write's (tiered_rmw.c) */
#define TIERED_RUN_MAX  0xffffu    /* pages in one run: 16 bits of user_data */
struct read_run {
	unsigned tag, first, count;       /* pages first .. first + count - 1 */
	int fd;
	off_t off;                        /* of the first page on fd           */
	size_t at;                        /* of the first page in the request  */
	bool fixed;                       /* into the request's own pages      */
};

/* A queue thread's private state. */
struct tq {
	struct ztu_tier_ctx tc;
	struct ztu_queue *q;              /* the queue this state is of        */
	struct tag_state *tags;           /* [depth]                           */
	uint64_t *new_entry;              /* [tag * max_pages + i]: async writes */
	bool *fixed;                      /* [tag * max_pages + i]: a read page
	                                     that came straight into the
	                                     request's pages (zerocopy.c)      */
	unsigned max_pages;
	unsigned *resume, rhead, rcount, rsize;   /* parked tags (FIFO)        */
	void *bounce;                     /* one page for read-modify-write
	                                     under the lock                    */
	struct tiered_rmw *rmw;           /* pages for read-modify-write on the
	                                     ring (tiered_rmw.c; NULL: none)   */
	uint32_t rmw_free;                /* which of them are free (bits)     */
	unsigned rmw_waiters;             /* parked tags waiting for one       */
	struct read_run run;              /* being gathered (count 0: none)    */
};

/* Where byte `at` of tag's request is in ztu_buf (it is in the window). */
static inline char *tiered_buf_at(struct ztu_queue *q, unsigned tag, size_t at)
{
	return ztu_buf(q, tag) + (at - ((struct tq *)q->tgt)->tags[tag].woff);
}

/* One page of a request: its number, the bytes of it the request covers
 * (off, len) and where they are in ztu_buf. */
struct span {
	uint64_t pgno;
	unsigned off, len;
	char *buf;
};

/* tgt_tiered.c: page i of tag's request, its bytes where its window holds
 * them; do it (0, -errno for the request, or TIERED_PAGE_PARK: no RMW page
 * is free, try again when one is), or take its async write's completion
 * (err: 0 or -errno). */
#define TIERED_PAGE_PARK 1
void tiered_tag_span(struct ztu_queue *q, unsigned tag, unsigned i, struct span *s);
int tiered_do_page(struct ztu_queue *q, unsigned tag, unsigned i);
int tiered_write_done(struct ztu_queue *q, unsigned tag, unsigned i, int err);

/* tgt_tiered.c, for tiered_rmw.c: place a page (failed: the tier that just
 * refused it, ZT_TIER_NONE for a new write, whose class is counted in
 * class_writes; class: the page's class, if not NULL); free a location no entry
 * names; replace an entry locked as old by e (unlocking it) and free old's
 * location; a failed async write of e: freed, and its tier marked full
 * (zram) or failing (spill) so that the next placement falls back; the
 * read-modify-write of s done entirely under the entry lock (src NULL:
 * zeros). */
int tiered_place_from(struct tq *tq, const void *page, enum zt_tier failed, uint64_t *e,
		      enum zt_class *class);
/* tgt_tiered.c: where the ring reads and writes e's page (its fd, and the
 * offset in *off), -1 where it does not (empty, in memory, a sync spill);
 * the page of a locked entry into dst (zeros for an empty entry). */
int tiered_ring_fd(struct tq *tq, uint64_t e, off_t *off);
int tiered_get(struct tq *tq, uint64_t e, void *dst);
void tiered_free_loc(struct tq *tq, uint64_t e);
void tiered_unlock_swap(struct tq *tq, uint64_t pgno, uint64_t old, uint64_t e);
void tiered_write_failed(struct tq *tq, uint64_t e);
int tiered_write_partial(struct tq *tq, const struct span *s, const void *src);

/* tiered_rmw.c: part of a page (s->buf NULL: zeros) written with its I/O
 * on the ring (0 when done or out, -errno, TIERED_PAGE_PARK); its
 * completions; the queue's RMW pages (0: the lock-held path only). */
int tiered_rmw_page(struct ztu_queue *q, unsigned tag, const struct span *s);
void tiered_rmw_cqe(struct ztu_queue *q, unsigned tag, uint32_t arg, int res);
int tiered_rmw_init(struct tq *tq);
void tiered_rmw_deinit(struct tq *tq);

/* tiered_request.c: byte offset in the request of page i of n (n: its
 * end). */
size_t tiered_page_off(const struct ublksrv_io_desc *iod, unsigned i, unsigned n);

int ztu_tiered_init(struct ztu_dev *d, char *msg, size_t len);
int ztu_tiered_deinit(struct ztu_dev *d);
int ztu_tiered_queue_init(struct ztu_queue *q);
void ztu_tiered_queue_deinit(struct ztu_queue *q);
void ztu_tiered_publish(struct ztu_dev *d);

/* read_run.c: add page i of tag's request (entry e, at byte `at` of the
 * request) to the run being gathered, or start one (pending counts runs);
 * flush: issue it. */
void tiered_run_add(struct ztu_queue *q, unsigned tag, unsigned i, uint64_t e, size_t at,
		    bool fixed);
void tiered_run_flush(struct ztu_queue *q);
/* Is a read of fd one of a zram tier in memory, which the queue thread
 * does itself (only a decompress: cheaper than a worker's wake-up)? */
bool tiered_zram_read_now(const struct tq *tq, int fd);
/* A run's completion (arg: its SQE's target argument). */
void tiered_run_cqe(struct ztu_queue *q, unsigned tag, uint32_t arg, int res);
/* tgt_tiered.c: a run read (res: bytes or -errno), from its CQE or read
 * on the queue thread. */
void tiered_run_done(struct ztu_queue *q, unsigned tag, unsigned first, unsigned count, int res);

#endif
