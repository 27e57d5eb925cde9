/*
 * queue.c — the ublk data plane: one thread and one io_uring per queue.
 *
 * Each queue thread owns its ring for its whole life (in 6.12 every tag of a
 * queue must be fetched and committed by the same task), so the ring is
 * created in the thread with SINGLE_ISSUER|DEFER_TASKRUN|COOP_TASKRUN.
 * Setup, in order: block signals, PR_SET_IO_FLUSHER (so allocations in this
 * thread never recurse into reclaim that writes to our own device) and check
 * it took, map the kernel's descriptor array, allocate the per-tag buffers
 * (locked: the server runs under mlockall), create the ring, register
 * /dev/ublkcN as fixed file 0 (and, for zero copy, a buffer table:
 * zerocopy.c), let the target set up, queue one FETCH_REQ per
 * tag, then report "ready" to the main thread, which sends START_DEV.
 *
 * The loop: io_uring_submit_and_wait(1) submits every COMMIT_AND_FETCH and
 * backend SQE queued since the last round in one syscall and waits; each CQE
 * is a ublk command (a new request for its tag, or ABORT when the device
 * stops) or a target's backend I/O (bit 63 of user_data), dispatched to the
 * target without lookups.  After ABORT (STOP_DEV, or QUIESCE_DEV for a
 * handover) the thread keeps serving until it holds no request and no
 * backend I/O is in flight, then exits (ztu_queue_may_end: it does not wait
 * for the fetches its last commits re-armed).  A "quit" eventfd
 * poll lets the main thread end a queue that never started.
 */
#include <errno.h>
#include <linux/prctl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "ublk/srv.h"

#define QUIT_UDATA ztu_udata(0xffff, 0xff, 0, false)

static size_t round_up(size_t n, size_t to)
{
	return (n + to - 1) / to * to;
}

static struct io_uring_sqe *get_sqe(struct ztu_queue *q)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&q->ring);

	while (!sqe) {                        /* SQ full: hand it to the kernel */
		io_uring_submit(&q->ring);
		sqe = io_uring_get_sqe(&q->ring);
	}
	return sqe;
}

struct io_uring_sqe *ztu_cmd_sqe(struct ztu_queue *q, uint32_t op, unsigned tag, uint32_t arg)
{
	struct io_uring_sqe *sqe = get_sqe(q);

	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = 0;                          /* fixed file 0: /dev/ublkcN */
	sqe->flags = IOSQE_FIXED_FILE;
	sqe->cmd_op = op;
	sqe->user_data = ztu_udata(tag, _IOC_NR(op), arg, false);
	return sqe;
}

static void queue_io_cmd(struct ztu_queue *q, unsigned tag, uint32_t op, int res)
{
	struct io_uring_sqe *sqe = ztu_cmd_sqe(q, op, tag, 0);
	struct ublksrv_io_cmd *cmd = (struct ublksrv_io_cmd *)sqe->cmd;

	cmd->q_id = (uint16_t)q->qid;
	cmd->tag = (uint16_t)tag;
	cmd->result = res;
	if (ztu_dev_zc(q->dev))              /* we copy (zerocopy.c) */
		sqe->addr = ztu_zc_sqe_addr(tag);
	else
		cmd->addr = (uintptr_t)ztu_buf(q, tag);
	q->cmd_inflight++;
}

void ztu_io_done(struct ztu_queue *q, unsigned tag, int res)
{
	if (res < 0)
		ztu_ctr_add(&q->st->errors, 1);
	if (q->batch)
		ztu_batch_done(q, tag, res);
	else
		queue_io_cmd(q, tag, UBLK_U_IO_COMMIT_AND_FETCH_REQ, res);
}

struct io_uring_sqe *ztu_tgt_sqe(struct ztu_queue *q, unsigned tag, unsigned op,
				 uint32_t arg)
{
	struct io_uring_sqe *sqe = get_sqe(q);

	memset(sqe, 0, sizeof(*sqe));
	sqe->user_data = ztu_udata(tag, op, arg, true);
	q->tgt_inflight++;
	return sqe;
}

/* PF_MEMALLOC_NOIO: allocations of this thread never do I/O to reclaim. */
static int set_io_flusher(void)
{
	if (prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0) < 0)
		return -errno;
	return prctl(PR_GET_IO_FLUSHER, 0, 0, 0, 0) == 1 ? 0 : -EPERM;
}

static int map_descriptors(struct ztu_queue *q)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t stride = round_up(UBLK_MAX_QUEUE_DEPTH * sizeof(struct ublksrv_io_desc), page);
	void *p;

	q->iods_len = round_up(q->depth * sizeof(struct ublksrv_io_desc), page);
	p = mmap(NULL, q->iods_len, PROT_READ, MAP_SHARED | MAP_POPULATE,
		 q->dev->cdev_fd, (off_t)(q->qid * stride));
	if (p == MAP_FAILED)
		return -errno;
	q->iods = p;
	return 0;
}

static int alloc_buffers(struct ztu_queue *q)
{
	size_t len = (size_t)q->depth * q->dev->cfg.io_buf_bytes;
	void *p;

	if (posix_memalign(&p, ZT_PAGE_SIZE, len))
		return -ENOMEM;
	memset(p, 0, len);                    /* fault every page in now */
	q->bufs = p;
	return 0;
}

static int setup_ring(struct ztu_queue *q)
{
	struct io_uring_params p = {
		.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
			 IORING_SETUP_COOP_TASKRUN | IORING_SETUP_CQSIZE,
	};
	int fd = q->dev->cdev_fd, ret;

	q->tgt_budget = ZTU_TGT_BUDGET;
	p.cq_entries = q->depth + q->tgt_budget + 1;
	ret = io_uring_queue_init_params(q->depth * 2, &q->ring, &p);
	if (ret < 0)
		return ret;
	q->ring_ok = true;
	ret = io_uring_register_files(&q->ring, &fd, 1);
	if (!ret && ztu_dev_zc(q->dev))
		ret = ztu_zc_ring_init(q);
	return ret;
}

static void arm_quit_poll(struct ztu_queue *q)
{
	struct io_uring_sqe *sqe = get_sqe(q);

	io_uring_prep_poll_add(sqe, q->quit_fd, POLLIN);
	sqe->user_data = QUIT_UDATA;
}

static int queue_setup(struct ztu_queue *q)
{
	sigset_t all;
	int ret;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	ret = set_io_flusher();
	if (!ret)
		ret = map_descriptors(q);
	if (!ret)
		ret = alloc_buffers(q);
	if (!ret)
		ret = setup_ring(q);
	if (ret)
		return ret;
	if (q->dev->ops->queue_init) {
		ret = q->dev->ops->queue_init(q);
		if (ret)
			return ret;
	}
	if (q->dev->batch) {
		ret = ztu_batch_init(q);      /* waits for its PREP: before the poll */
		if (ret)
			return ret;
	}
	arm_quit_poll(q);
	for (unsigned tag = 0; tag < q->depth && !q->batch; tag++)
		queue_io_cmd(q, tag, UBLK_U_IO_FETCH_REQ, -1);
	ret = io_uring_submit(&q->ring);
	return ret < 0 ? ret : 0;
}

static void report_ready(struct ztu_queue *q)
{
	struct ztu_dev *d = q->dev;

	pthread_mutex_lock(&d->lock);
	d->ready++;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

static void count_request(struct ztu_queue *q, unsigned tag)
{
	switch (ublksrv_get_op(ztu_iod(q, tag))) {
	case UBLK_IO_OP_READ:         ztu_ctr_add(&q->st->reads, 1); break;
	case UBLK_IO_OP_WRITE:        ztu_ctr_add(&q->st->writes, 1); break;
	case UBLK_IO_OP_FLUSH:        ztu_ctr_add(&q->st->flushes, 1); break;
	case UBLK_IO_OP_DISCARD:      ztu_ctr_add(&q->st->discards, 1); break;
	case UBLK_IO_OP_WRITE_ZEROES: ztu_ctr_add(&q->st->write_zeroes, 1); break;
	default: break;
	}
}

/* The queue ends on a command the kernel refused: say which, once (ztierd
 * keeps a server's stderr in its journal). */
static void say_refused(const struct ztu_queue *q, unsigned tag, unsigned nr, int res)
{
	fprintf(stderr, "ztier-ublk: device %d queue %u: %s of tag %u refused: %s\n",
		q->dev->dev_id, q->qid, nr == _IOC_NR(UBLK_U_IO_FETCH_REQ) ? "FETCH_REQ" :
		"COMMIT_AND_FETCH_REQ", tag, strerror(-res));
}

void ztu_queue_request(struct ztu_queue *q, unsigned tag)
{
	count_request(q, tag);
	q->dev->ops->queue_io(q, tag);
}

static void handle_cqe(struct ztu_queue *q, const struct io_uring_cqe *cqe)
{
	unsigned tag = ztu_udata_tag(cqe->user_data);

	if (cqe->user_data == QUIT_UDATA) {
		q->quit = true;
		return;
	}
	if (ztu_udata_tgt(cqe->user_data)) {
		q->tgt_inflight--;
		q->dev->ops->io_done(q, tag, cqe);
		return;
	}
	if (q->batch) {
		ztu_batch_cqe(q, cqe);
		return;
	}
	q->cmd_inflight--;
	if (cqe->res == UBLK_IO_RES_OK) {         /* a request: always serve it */
		ztu_queue_request(q, tag);
	} else if (cqe->res < 0) {
		q->stopping = true;               /* ABORT, or a command refused */
		q->retired++;                     /* never fetched again */
		if (cqe->res != UBLK_IO_RES_ABORT && !q->err) {
			q->err = cqe->res;
			say_refused(q, tag, ztu_udata_op(cqe->user_data), cqe->res);
		}
	}
}

static bool queue_done(const struct ztu_queue *q)
{
	if (q->batch)
		return q->quit || (q->stopping && ztu_batch_may_end(q));
	return q->quit || (q->stopping && ztu_queue_may_end(q->depth, q->cmd_inflight,
							    q->retired, q->tgt_inflight));
}

static void queue_loop(struct ztu_queue *q)
{
	while (!queue_done(q)) {
		struct io_uring_cqe *cqe;
		unsigned head, n = 0;
		int ret;

		if (q->batch)
			ztu_batch_flush(q);
		ret = io_uring_submit_and_wait(&q->ring, 1);

		if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
			q->err = ret;
			break;
		}
		io_uring_for_each_cqe(&q->ring, head, cqe) {
			handle_cqe(q, cqe);
			n++;
		}
		io_uring_cq_advance(&q->ring, n);
		if (q->dev->ops->idle)
			q->dev->ops->idle(q);
	}
	/* The last commits may be queued but not submitted yet: they complete
	 * their requests (a handover must not leave them to be reissued). */
	if (q->batch && !q->quit)
		ztu_batch_flush(q);
	if (!q->quit && io_uring_sq_ready(&q->ring))
		io_uring_submit(&q->ring);
}

static void queue_teardown(struct ztu_queue *q)
{
	if (q->ring_ok)
		io_uring_queue_exit(&q->ring);
	q->ring_ok = false;
	ztu_batch_deinit(q);
	if (q->dev->ops->queue_deinit)
		q->dev->ops->queue_deinit(q);
	if (q->iods)
		munmap((void *)q->iods, q->iods_len);
	q->iods = NULL;
	free(q->bufs);
	q->bufs = NULL;
}

void *ztu_queue_thread(void *arg)
{
	struct ztu_queue *q = arg;

	q->err = queue_setup(q);
	report_ready(q);
	if (!q->err)
		queue_loop(q);
	queue_teardown(q);
	atomic_fetch_add(&q->dev->exited, 1);
	return NULL;
}
