/*
 * zram_discard.c — freed zram slots are discarded off the queue threads.
 *
 * A zram slot that no entry names is discarded so that the kernel frees its
 * compressed copy, and only then freed for reuse (the invariant and the
 * recovery rules are in discards.h).  A queue thread never waits for it:
 *
 *   ring     a device that is not swap, on a kernel whose block layer takes
 *            BLOCK_URING_CMD_DISCARD (6.12) on this device (probed here
 *            once, on a free slot): the queue puts the discard on its own
 *            ring and frees the slot when the completion comes back
 *            (ztu_discarder_done).  The command's bio is REQ_NOWAIT, and a
 *            driver that takes no REQ_NOWAIT fails it with -EOPNOTSUPP:
 *            zram did so on the host's 6.18, so zram goes batched there.
 *   batched  otherwise, and whenever a queue's backend budget is used up:
 *            the queue marks the slot (discards.h) and rings an eventfd;
 *            the discarder thread waits DISCARD_BATCH_NS for more, then
 *            issues one BLKDISCARD per run of consecutive slots and frees
 *            them.  The thread is an IO_FLUSHER like the queues.
 *
 * Why never the ring on a swap device: the kernel issues the command with
 * nowait semantics (block/ioctl.c, blkdev_cmd_discard: GFP_NOWAIT bios,
 * REQ_NOWAIT) and answers -EAGAIN when the range has pages in the block
 * device's page cache, needs more than one bio, or the bio allocation
 * fails; a bio that would block completes with BLK_STS_AGAIN.  io_uring
 * then reissues it blocking from an io-wq worker (io_queue_iowq after an
 * -EAGAIN at issue; blk_cmd_complete's io_uring_cmd_issue_blocking after
 * one at completion), a kernel thread created on demand.  Under memory pressure that is exactly when the bio allocation
 * fails, and creating the worker is an allocation on the swap-out path of
 * this very device: the deadlock tier_blk.c describes for dm-crypt.  The
 * thread's ioctl allocates in its own PF_MEMALLOC_NOIO context instead, as
 * the queue thread's ioctl did before, and no queue waits for it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>
#if __has_include(<linux/blkdev.h>)
#include <linux/blkdev.h>
#endif

#include "policy/common/common.h"
#include "ublk/discards.h"
#include "ublk/srv.h"
#include "ublk/tier_zram.h"

/* include/uapi/linux/blkdev.h since 6.12; the running kernel is probed. */
#ifndef BLOCK_URING_CMD_DISCARD
#define BLOCK_URING_CMD_DISCARD _IO(0x12, 0)
#endif

#define DISCARD_BATCH_NS  2000000L     /* gather a burst of frees: 2 ms    */
#define DISCARD_MAX_RUN   4096u        /* slots per BLKDISCARD (16 MiB)    */
#define DISCARDER_STACK   (64u << 10)

struct ztu_discarder {
	int fd;                        /* the zram device, O_RDWR          */
	struct zu_slots *slots;
	struct zu_discards *marks;
	atomic_bool *full;             /* the tier's "kernel refused" mark */
	atomic_bool ring;              /* queues discard on their rings    */
	atomic_bool stop;
	int wake_fd;                   /* eventfd: marks are waiting       */
	pthread_t thread;
	bool running;
	_Atomic uint64_t discarded;    /* slots discarded and freed        */
};

/* The slots are discarded: they may be allocated again, and zram has room. */
static void freed(struct ztu_discarder *dc, uint64_t first, uint64_t n)
{
	for (uint64_t s = first; s < first + n; s++)
		zu_slots_free(dc->slots, s);
	atomic_fetch_add_explicit(&dc->discarded, n, memory_order_relaxed);
	if (atomic_load_explicit(dc->full, memory_order_relaxed))
		atomic_store_explicit(dc->full, false, memory_order_relaxed);
}

/* Best effort, as before: a discard that fails only leaves memory used
 * until the slot is written again. */
static void discard_run(void *ctx, uint64_t first, uint64_t n)
{
	struct ztu_discarder *dc = ctx;
	uint64_t range[2] = { first * ZT_PAGE_SIZE, n * ZT_PAGE_SIZE };

	(void)ioctl(dc->fd, BLKDISCARD, range);
	freed(dc, first, n);
}

static void *discarder(void *arg)
{
	struct ztu_discarder *dc = arg;
	struct timespec batch = { 0, DISCARD_BATCH_NS };
	sigset_t all;
	uint64_t one;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0);
	while (!atomic_load(&dc->stop)) {
		/* A failed read (none expected) costs one idle pass, and the
		 * thread never ends while the queues still mark slots. */
		if (!zu_discards_pending(dc->marks))
			(void)!read(dc->wake_fd, &one, sizeof(one));
		nanosleep(&batch, NULL);
		zu_discards_drain(dc->marks, DISCARD_MAX_RUN, discard_run, dc);
	}
	return NULL;
}

void ztu_discarder_prep(struct io_uring_sqe *sqe, int fd, uint64_t slot)
{
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = fd;
	sqe->cmd_op = BLOCK_URING_CMD_DISCARD;
	sqe->addr = slot * ZT_PAGE_SIZE;
	sqe->addr3 = ZT_PAGE_SIZE;
}

/* Does this kernel discard fd's slot through io_uring?  (Before 6.12 a
 * block device has no uring_cmd: -EOPNOTSUPP.)  slot must be free. */
static bool ring_discards(int fd, uint64_t slot)
{
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	bool ok = false;

	if (io_uring_queue_init(2, &ring, 0) < 0)
		return false;
	sqe = io_uring_get_sqe(&ring);
	if (sqe) {
		memset(sqe, 0, sizeof(*sqe));
		ztu_discarder_prep(sqe, fd, slot);
	}
	if (sqe && io_uring_submit_and_wait(&ring, 1) == 1 &&
	    io_uring_wait_cqe(&ring, &cqe) == 0) {
		ok = cqe->res == 0;
		io_uring_cqe_seen(&ring, cqe);
	}
	io_uring_queue_exit(&ring);
	return ok;
}

/* The ring needs a free slot to probe on and slot numbers that fit the
 * 32-bit argument of a target SQE's user_data (srv.h). */
static bool probe_ring(const struct ztu_discarder *dc)
{
	uint64_t n = zu_slots_total(dc->slots), s = 0;

	if (n > (UINT64_C(1) << 32))
		return false;
	while (s < n && zu_slots_in_use(dc->slots, s))
		s++;
	return s < n && ring_discards(dc->fd, s);
}

static int start_thread(struct ztu_discarder *dc)
{
	pthread_attr_t attr;
	int ret;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, DISCARDER_STACK);
	ret = -pthread_create(&dc->thread, &attr, discarder, dc);
	pthread_attr_destroy(&attr);
	if (ret)
		return ret;
	pthread_setname_np(dc->thread, "ztier-discard");
	dc->running = true;
	return 0;
}

int ztu_discarder_start(struct ztu_discarder **out, int fd, struct zu_slots *slots,
			atomic_bool *full, bool swap)
{
	struct ztu_discarder *dc = calloc(1, sizeof(*dc));
	int ret;

	if (!dc)
		return -ENOMEM;
	*out = dc;
	dc->fd = fd;
	dc->slots = slots;
	dc->full = full;
	dc->wake_fd = eventfd(0, EFD_CLOEXEC);
	dc->marks = zu_discards_create(zu_slots_total(slots));
	if (dc->wake_fd < 0 || !dc->marks)
		return -errno;
	atomic_store(&dc->ring, !swap && probe_ring(dc));
	ret = start_thread(dc);
	return ret;
}

void ztu_discarder_stop(struct ztu_discarder *dc)
{
	uint64_t one = 1;

	if (!dc)
		return;
	if (dc->running) {
		atomic_store(&dc->stop, true);
		(void)!write(dc->wake_fd, &one, sizeof(one));
		pthread_join(dc->thread, NULL);
	}
	if (dc->wake_fd >= 0)
		close(dc->wake_fd);
	zu_discards_destroy(dc->marks);
	free(dc);
}

void ztu_discarder_release(struct ztu_discarder *dc, uint64_t slot)
{
	uint64_t one = 1;

	if (zu_discards_mark(dc->marks, slot))
		(void)!write(dc->wake_fd, &one, sizeof(one));   /* never blocks */
}

bool ztu_discarder_ring(const struct ztu_discarder *dc)
{
	return dc && atomic_load_explicit(&dc->ring, memory_order_relaxed);
}

int ztu_discarder_fd(const struct ztu_discarder *dc)
{
	return dc->fd;
}

/* A ring discard that failed goes to the thread (whose BLKDISCARD frees
 * the slot after), and the queues stop using the ring. */
void ztu_discarder_done(struct ztu_discarder *dc, uint64_t slot, int res)
{
	if (res < 0) {
		atomic_store_explicit(&dc->ring, false, memory_order_relaxed);
		ztu_discarder_release(dc, slot);
		return;
	}
	freed(dc, slot, 1);
}

uint64_t ztu_discarder_count(const struct ztu_discarder *dc)
{
	return dc ? atomic_load_explicit(&dc->discarded, memory_order_relaxed) : 0;
}
