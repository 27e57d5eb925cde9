/*
 * batch.c — UBLK_F_BATCH_IO (7.0+): one command for many requests.
 *
 * The per-tag protocol (queue.c) keeps a FETCH or COMMIT_AND_FETCH armed on
 * every tag: one uring_cmd and one CQE per request each way.  In batch mode
 * a queue instead
 *   - prepares all its tags once (PREP_IO_CMDS: an array of elements),
 *   - keeps one multishot FETCH_IO_CMDS armed: each CQE hands over a
 *     buffer (from a provided-buffer ring of ours) of up to 128 tags whose
 *     requests are ready, descriptors written as after a per-tag fetch,
 *   - and commits what it finished since the last loop round with one
 *     COMMIT_IO_CMDS (an array of tag and result), nothing to re-arm.
 * The elements carry the tag's buffer (copy mode: HAS_BUF_ADDR) or, with
 * zero copy, the buffer-table index the kernel registers the next request
 * at (the tag, as zerocopy.c does per tag; AUTO_BUF_REG_FALLBACK).
 *
 * A commit's array must stay untouched until its CQE: ZTU_COMMIT_BUFS
 * arrays, one filling, the others out; when none is free the commit waits
 * for the next round (a commit out always completes).  A queue owns at
 * most depth requests, so an array of depth elements never overflows.
 * ABORT (-ENODEV) ends the fetch on STOP_DEV and QUIESCE_DEV; the queue
 * then ends once it owns nothing and has no commit or backend I/O out.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "ublk/srv.h"

#define TAGS_PER_BUF 128u           /* the kernel hands over at most this */
#define FETCH_BUFS   8u             /* provided buffers of tags           */
#define FETCH_BGID   1u
#define ZTU_COMMIT_BUFS 4u          /* commit arrays: one filling, 3 out */

struct commit_buf {
	unsigned char *elems;           /* depth elements of elem_bytes       */
	unsigned n;
	bool out;                       /* its COMMIT_IO_CMDS is in flight    */
};

struct ztu_batch {
	struct io_uring_buf_ring *br;
	size_t br_len;
	uint16_t tags[FETCH_BUFS][TAGS_PER_BUF];
	struct commit_buf c[ZTU_COMMIT_BUFS];
	unsigned cur;                   /* the array being filled             */
	unsigned elem_bytes;
	uint16_t flags;                 /* UBLK_BATCH_F_* of every element    */
	unsigned owned;                 /* requests delivered, not committed  */
	unsigned commits_out;
	bool fetch_armed;
	bool aborted;
};

static struct io_uring_sqe *batch_sqe(struct ztu_queue *q, uint32_t op, unsigned nr,
				      unsigned arg)
{
	struct io_uring_sqe *sqe = ztu_cmd_sqe(q, op, 0, arg);
	struct ublk_batch_io *b = (struct ublk_batch_io *)sqe->cmd;

	b->q_id = (uint16_t)q->qid;
	b->nr_elem = (uint16_t)nr;
	return sqe;
}

/* Element i of array c: tag, result, and what the tag's next request
 * needs (its buffer, or its registration index). */
static void put_elem(struct ztu_queue *q, struct commit_buf *c, unsigned tag, int res)
{
	struct ztu_batch *b = q->batch;
	unsigned char *e = c->elems + (size_t)c->n++ * b->elem_bytes;
	struct ublk_elem_header h = { .tag = (uint16_t)tag, .result = res };

	if (ztu_dev_zc(q->dev))
		h.buf_index = (uint16_t)tag;
	memcpy(e, &h, sizeof(h));
	if (b->flags & UBLK_BATCH_F_HAS_BUF_ADDR) {
		uint64_t addr = (uintptr_t)ztu_buf(q, tag);

		memcpy(e + sizeof(h), &addr, sizeof(addr));
	}
}

static void batch_cmd_header(struct io_uring_sqe *sqe, const struct ztu_batch *b)
{
	struct ublk_batch_io *h = (struct ublk_batch_io *)sqe->cmd;

	h->flags = b->flags;
	h->elem_bytes = (uint8_t)b->elem_bytes;
}

static int setup_fetch_ring(struct ztu_queue *q)
{
	struct ztu_batch *b = q->batch;
	struct io_uring_buf_reg reg = { .ring_entries = FETCH_BUFS, .bgid = FETCH_BGID };
	void *p;
	int ret;

	b->br_len = FETCH_BUFS * sizeof(struct io_uring_buf);
	p = mmap(NULL, b->br_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	b->br = p;
	io_uring_buf_ring_init(b->br);
	reg.ring_addr = (uintptr_t)b->br;
	ret = io_uring_register_buf_ring(&q->ring, &reg, 0);
	if (ret)
		return ret;
	for (unsigned i = 0; i < FETCH_BUFS; i++)
		io_uring_buf_ring_add(b->br, b->tags[i], sizeof(b->tags[i]), (unsigned short)i,
				      io_uring_buf_ring_mask(FETCH_BUFS), (int)i);
	io_uring_buf_ring_advance(b->br, FETCH_BUFS);
	return 0;
}

static void arm_fetch(struct ztu_queue *q)
{
	struct ztu_batch *b = q->batch;
	struct io_uring_sqe *sqe = batch_sqe(q, UBLK_U_IO_FETCH_IO_CMDS, 0, 0);

	((struct ublk_batch_io *)sqe->cmd)->elem_bytes = sizeof(uint16_t);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = FETCH_BGID;
	sqe->uring_cmd_flags = IORING_URING_CMD_MULTISHOT;
	b->fetch_armed = true;
}

/* PREP_IO_CMDS for every tag, waited for here (before START_DEV). */
static int prep_tags(struct ztu_queue *q)
{
	struct ztu_batch *b = q->batch;
	struct commit_buf *c = &b->c[0];
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int ret;

	for (unsigned tag = 0; tag < q->depth; tag++)
		put_elem(q, c, tag, 0);
	sqe = batch_sqe(q, UBLK_U_IO_PREP_IO_CMDS, c->n, 0);
	batch_cmd_header(sqe, b);
	sqe->addr = (uintptr_t)c->elems;
	c->n = 0;
	ret = io_uring_submit_and_wait(&q->ring, 1);
	if (ret < 0)
		return ret;
	ret = io_uring_wait_cqe(&q->ring, &cqe);
	if (ret < 0)
		return ret;
	ret = cqe->res;
	io_uring_cqe_seen(&q->ring, cqe);
	return ret < 0 ? ret : 0;
}

int ztu_batch_init(struct ztu_queue *q)
{
	struct ztu_batch *b = calloc(1, sizeof(*b));
	int ret;

	if (!b)
		return -ENOMEM;
	q->batch = b;
	b->flags = ztu_dev_zc(q->dev) ? UBLK_BATCH_F_AUTO_BUF_REG_FALLBACK
				       : UBLK_BATCH_F_HAS_BUF_ADDR;
	b->elem_bytes = sizeof(struct ublk_elem_header) +
			(b->flags & UBLK_BATCH_F_HAS_BUF_ADDR ? sizeof(uint64_t) : 0);
	for (unsigned i = 0; i < ZTU_COMMIT_BUFS; i++) {
		b->c[i].elems = calloc(q->depth, b->elem_bytes);
		if (!b->c[i].elems)
			return -ENOMEM;
	}
	ret = setup_fetch_ring(q);
	if (!ret)
		ret = prep_tags(q);
	if (!ret)
		arm_fetch(q);
	return ret;
}

void ztu_batch_deinit(struct ztu_queue *q)
{
	struct ztu_batch *b = q->batch;

	if (!b)
		return;
	if (b->br)
		munmap(b->br, b->br_len);
	for (unsigned i = 0; i < ZTU_COMMIT_BUFS; i++)
		free(b->c[i].elems);
	free(b);
	q->batch = NULL;
}

void ztu_batch_done(struct ztu_queue *q, unsigned tag, int res)
{
	struct ztu_batch *b = q->batch;

	put_elem(q, &b->c[b->cur], tag, res);
	b->owned--;
}

/* Before each wait: commit what finished, re-arm an ended fetch. */
void ztu_batch_flush(struct ztu_queue *q)
{
	struct ztu_batch *b = q->batch;
	struct commit_buf *c = &b->c[b->cur];
	unsigned next = (b->cur + 1) % ZTU_COMMIT_BUFS;
	struct io_uring_sqe *sqe;

	if (c->n && !b->c[next].out) {
		sqe = batch_sqe(q, UBLK_U_IO_COMMIT_IO_CMDS, c->n, b->cur);
		batch_cmd_header(sqe, b);
		sqe->addr = (uintptr_t)c->elems;
		c->out = true;
		b->commits_out++;
		b->cur = next;
		b->c[next].n = 0;
	}
	if (!b->fetch_armed && !b->aborted && !q->stopping)
		arm_fetch(q);
}

static void fetched(struct ztu_queue *q, const struct io_uring_cqe *cqe)
{
	struct ztu_batch *b = q->batch;
	unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
	const uint16_t *tags = b->tags[bid % FETCH_BUFS];

	if (!(cqe->flags & IORING_CQE_F_MORE))
		b->fetch_armed = false;
	if (cqe->res == UBLK_IO_RES_ABORT) {
		b->aborted = q->stopping = true;
	} else if (cqe->res < 0 && cqe->res != -ENOBUFS && !q->err) {
		q->err = cqe->res;
		q->stopping = true;
		fprintf(stderr, "ztier-ublk: device %d queue %u: FETCH_IO_CMDS refused: %s\n",
			q->dev->dev_id, q->qid, strerror(-cqe->res));
	}
	if (!(cqe->flags & IORING_CQE_F_BUFFER))
		return;
	for (int i = 0; i < cqe->res / 2; i++) {
		b->owned++;
		ztu_queue_request(q, tags[i]);
	}
	io_uring_buf_ring_add(b->br, b->tags[bid % FETCH_BUFS], sizeof(b->tags[0]),
			      (unsigned short)bid, io_uring_buf_ring_mask(FETCH_BUFS), 0);
	io_uring_buf_ring_advance(b->br, 1);
}

static void committed(struct ztu_queue *q, const struct io_uring_cqe *cqe, unsigned idx)
{
	struct ztu_batch *b = q->batch;
	struct commit_buf *c = &b->c[idx % ZTU_COMMIT_BUFS];
	int want = (int)(c->n * b->elem_bytes);

	c->out = false;
	c->n = 0;
	b->commits_out--;
	if (cqe->res != want && !q->err) {
		q->err = cqe->res < 0 ? cqe->res : -EIO;
		q->stopping = true;
		fprintf(stderr, "ztier-ublk: device %d queue %u: COMMIT_IO_CMDS took %d of %d "
			"bytes\n", q->dev->dev_id, q->qid, cqe->res, want);
	}
}

void ztu_batch_cqe(struct ztu_queue *q, const struct io_uring_cqe *cqe)
{
	unsigned op = ztu_udata_op(cqe->user_data);

	if (op == _IOC_NR(UBLK_U_IO_FETCH_IO_CMDS))
		fetched(q, cqe);
	else if (op == _IOC_NR(UBLK_U_IO_COMMIT_IO_CMDS))
		committed(q, cqe, ztu_udata_arg(cqe->user_data));
}

bool ztu_batch_may_end(const struct ztu_queue *q)
{
	const struct ztu_batch *b = q->batch;

	/* the last commits flushed and answered: their arrays are ours again */
	return !b->owned && !b->c[b->cur].n && !b->commits_out && !q->tgt_inflight &&
	       !(b->fetch_armed && !b->aborted);
}
