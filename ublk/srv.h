/*
 * srv.h — internal: the ublk server core and the target ops table.
 *
 * The core (ctrl.c: control commands; queue.c: per-queue threads; server.c:
 * device lifecycle) moves requests between the kernel and a target.  A target
 * handles one request per tag: it either finishes it at once (ztu_io_done)
 * or issues backend I/O on the queue's own ring (ztu_tgt_sqe) and finishes it
 * from its io_done hook when the completions come back.
 *
 * user_data of every SQE packs: tag (bits 0-15), op (16-23), a target
 * argument (24-55, e.g. which page of the request) and bit 63 "target I/O",
 * so one completion loop dispatches everything without lookups (kublk's way).
 *
 * Fixed footprint: what a server locks (mlockall) whatever it stores,
 * faulted in before ADD_DEV/START so that a swap server never allocates
 * while it serves.  Measured on the host under mlockall (RSS deltas; zstd
 * and lz4 sizes from the libraries' estimates), bounds for any config that
 * ztu_config_check accepts (queues <= 16, queues x depth <= 4096):
 *   per tag:    the request buffer, ztu_io_buf_bytes(queues, depth) (all
 *               tags together <= ZTU_IO_BUF_BUDGET = 16 MiB, ztublk.h;
 *               tests/ublk/t_config.c checks every queues x depth), plus
 *               ~0.2 KiB: ring entries (SQ 2 x 64 B, CQ ~16 B: 28 KiB for
 *               a 128-deep queue, 340 KiB for 2048), its descriptor (24 B),
 *               target state (48 B) and 9 B per page of the largest
 *               request + 9 B (tgt_tiered new_entry, fixed): <= 1.2 MiB
 *               for 4096 tags; a zero-copy device's requests reach 1 MiB
 *               (ZTU_ZC_REQ_MAX, for 256 tags or fewer): 2.3 KiB a tag,
 *               <= 592 KiB;
 *   per queue:  the thread stack (THREAD_STACK, 256 KiB, locked whole),
 *               codec contexts (lz4 16 KiB, lz4hc 256 KiB if a class
 *               uses it, zstd DCtx 94 KiB, CCtx for the policy's highest
 *               level at 4 KiB input: 88 KiB to zstd:8, 104 KiB to :10,
 *               270 KiB above, 2 pages), two pages: <= 0.95 MiB, <= 15 MiB
 *               for 16 queues;
 *   per device: the housekeeper's 64 KiB stack, with a zram tier its
 *               discarder's 64 KiB stack and marks (1 bit per slot: 32 KiB
 *               per GiB of tier, zram_discard.c), the store's tables (4.4 B
 *               per 64 KiB segment of the limit + 5 KiB: 72 KiB a GiB) and
 *               reserve (on demand <= 2 MiB; upfront the whole limit, by
 *               design), the page table (upfront 2 MiB per GiB of device,
 *               else a 2 MiB start), the program and its libraries.
 * So an idle 2-queue, depth-128 device locks 16 MiB of buffers (it was
 * 128 MiB at 512 KiB a tag, 146 MB resident in all: ~11 MiB besides the
 * buffers) + ~0.7 MiB per queue (zstd:3, lz4hc); tests/vm/bench.sh prints the
 * server's VmRSS and VmLck when idle (issue #11 asks <= 32 MiB).
 */
#ifndef ZT_UBLK_SRV_H
#define ZT_UBLK_SRV_H

#include <liburing.h>
#include <linux/ublk_cmd.h>
#include <pthread.h>
#include <stdatomic.h>

#include "ublk/ztublk.h"
#include "ublk/stats.h"

/* What bookworm's 6.12 UAPI header (linux-libc-dev from bookworm-backports)
 * lacks; a newer header defines them the same (include/uapi/linux/ublk_cmd.h
 * since 6.16).  Whether the running kernel has them is asked at run time
 * (GET_FEATURES), never assumed from the header. */
#ifndef UBLK_F_QUIESCE
#define UBLK_F_QUIESCE (1ULL << 12)
#endif
#ifndef UBLK_U_CMD_QUIESCE_DEV
#define UBLK_U_CMD_QUIESCE_DEV _IOWR('u', 0x16, struct ublksrv_ctrl_cmd)
#endif
#ifndef UBLK_S_DEV_QUIESCED
#define UBLK_S_DEV_QUIESCED 2
#endif
#ifndef UBLK_S_DEV_FAIL_IO
#define UBLK_S_DEV_FAIL_IO 3
#endif
#ifndef UBLK_F_AUTO_BUF_REG                 /* 6.16: zero copy (zerocopy.c) */
#define UBLK_F_AUTO_BUF_REG (1ULL << 11)
#define UBLK_AUTO_BUF_REG_FALLBACK (1 << 0)
#define UBLK_IO_F_NEED_REG_BUF (1U << 17)
#endif

#ifndef UBLK_F_BATCH_IO                     /* 7.0: batch I/O (batch.c) */
#define UBLK_F_BATCH_IO (1ULL << 15)
#define UBLK_U_IO_PREP_IO_CMDS _IOWR('u', 0x25, struct ublk_batch_io)
#define UBLK_U_IO_COMMIT_IO_CMDS _IOWR('u', 0x26, struct ublk_batch_io)
#define UBLK_U_IO_FETCH_IO_CMDS _IOWR('u', 0x27, struct ublk_batch_io)
#define UBLK_BATCH_F_HAS_ZONE_LBA (1 << 0)
#define UBLK_BATCH_F_HAS_BUF_ADDR (1 << 1)
#define UBLK_BATCH_F_AUTO_BUF_REG_FALLBACK (1 << 2)
struct ublk_elem_header {
	__u16 tag;
	__u16 buf_index;
	__s32 result;
};
struct ublk_batch_io {
	__u16 q_id;
	__u16 flags;
	__u16 nr_elem;
	__u8 elem_bytes;
	__u8 reserved;
	__u64 reserved2;
};
#endif
#ifndef IORING_URING_CMD_MULTISHOT
#define IORING_URING_CMD_MULTISHOT (1U << 1)
#endif

#define ZTU_TGT_BIT (1ULL << 63)

/* Backend SQEs a queue keeps in flight at most: io_uring's per-ring cache
 * of read/write state holds 128 entries (IO_ALLOC_CACHE_MAX), so once the
 * target warmed it (tiered_setup.c) backend I/O never makes the kernel
 * allocate in our PF_MEMALLOC_NOIO thread, which under swap pressure can
 * spin in reclaim for good (seen in the VM). */
#define ZTU_TGT_BUDGET 128u

static inline uint64_t ztu_udata(unsigned tag, unsigned op, uint32_t arg, bool tgt)
{
	return (uint64_t)tag | ((uint64_t)(op & 0xff) << 16) |
	       ((uint64_t)arg << 24) | (tgt ? ZTU_TGT_BIT : 0);
}
static inline unsigned ztu_udata_tag(uint64_t d) { return d & 0xffff; }
static inline unsigned ztu_udata_op(uint64_t d)  { return (d >> 16) & 0xff; }
static inline uint32_t ztu_udata_arg(uint64_t d) { return (uint32_t)((d >> 24) & 0xffffffffu); }
static inline bool ztu_udata_tgt(uint64_t d)     { return d & ZTU_TGT_BIT; }

struct ztu_dev;
struct ztu_queue;
struct ztu_batch;

/* One target: the kublk-style ops table. */
struct ztu_target_ops {
	const char *name;
	int (*init)(struct ztu_dev *dev, char *msg, size_t len);   /* device-wide */
	/* 0, or -errno when something the target made outside the process
	 * is left (its block of the stats file still names it, and the file
	 * is kept: whoever deletes the device reaps it, ztu_dev_del). */
	int (*deinit)(struct ztu_dev *dev);
	int (*queue_init)(struct ztu_queue *q);                   /* in the queue thread */
	void (*queue_deinit)(struct ztu_queue *q);
	/* A request arrived on tag; iod is the kernel's descriptor. */
	void (*queue_io)(struct ztu_queue *q, unsigned tag);
	/* A target SQE issued for tag completed. */
	void (*io_done)(struct ztu_queue *q, unsigned tag, const struct io_uring_cqe *cqe);
	/* Called after each batch of completions (resume deferred work). */
	void (*idle)(struct ztu_queue *q);
	/* Refresh shared stats (server main thread, every few hundred ms);
	 * the target's own figures go to shm->tgt, laid out as it likes. */
	void (*publish)(struct ztu_dev *dev);

	/* From any process, given the target's block of a server's stats
	 * file (ztu_stats_shm.tgt) -- ublksrv's tgt_type, kublk's tgt_ops: */
	/* The server died without its teardown: undo what the target made
	 * outside the process (the tiered target: its kernel zram device). */
	int (*reap)(const void *tgt_stats, char *msg, size_t len);
	/* `list`: the target's own sections; how many it filled. */
	unsigned (*sections)(const void *tgt_stats, struct ztu_section *out, unsigned max);
	/* Block devices it made for itself ("zram3"); how many. */
	int (*owned)(const void *tgt_stats, char names[][ZTU_DEVNAME_MAX], int max);
};

/* target.c: a target by name (as a stats file records it), or NULL. */
const struct ztu_target_ops *ztu_target_find(const char *name);
/* A dead server's target leftovers: reaped (ztu_dev_del); 0 or -errno
 * with *msg. */
int ztu_target_reap(int dev_id, char *msg, size_t len);
/* list.c: the target's sections of a mapped stats file. */
unsigned ztu_target_sections(const struct ztu_stats_shm *s, struct ztu_section *out,
			     unsigned max);
/* list.c: add a field to a section (ignored when it is full). */
void ztu_field_num(struct ztu_section *sec, const char *key, int64_t v);
void ztu_field_pair(struct ztu_section *sec, const char *key, int64_t a, int64_t b);
void ztu_field_ratio(struct ztu_section *sec, const char *key, double r);
void ztu_field_text(struct ztu_section *sec, const char *key, const char *text, bool label);

extern const struct ztu_target_ops ztu_tgt_null;
extern const struct ztu_target_ops ztu_tgt_tiered;
/* tiered_setup.c: could a tiered server of cfg attach to cfg's state file?
 * Its header only (zu_state_check): 0, or -errno with *msg. */
int ztu_tiered_state_check(const struct ztu_config *cfg, char *msg, size_t len);

struct ztu_queue {
	struct ztu_dev *dev;
	unsigned qid, depth;
	struct io_uring ring;
	const struct ublksrv_io_desc *iods;   /* kernel-written, read-only mmap */
	size_t iods_len;
	char *bufs;                           /* depth * io_buf_bytes           */
	unsigned cmd_inflight;                /* FETCH/COMMIT commands out      */
	unsigned retired;                     /* tags ended by ABORT (or refused) */
	unsigned tgt_inflight;                /* backend SQEs out               */
	unsigned tgt_budget;                  /* max backend SQEs out           */
	bool stopping;
	bool quit;                            /* main thread asked us to end   */
	bool ring_ok;
	int quit_fd;                          /* eventfd, polled on the ring    */
	int err;                              /* setup error for the main thread */
	pthread_t thread;
	struct ztu_qstats *st;                /* this queue's shared counters   */
	void *tgt;                            /* target's per-queue state       */
	struct ztu_batch *batch;              /* batch mode's state (batch.c)   */
};

struct ztu_dev {
	struct ztu_config cfg;
	const struct ztu_target_ops *ops;
	int ctrl_fd;
	struct io_uring ctrl_ring;
	int dev_id;
	/* As the kernel returned it; written by the main thread only before
	 * the queue threads start: later reads go to a copy (server.c). */
	struct ublksrv_ctrl_dev_info info;
	int cdev_fd;                          /* /dev/ublkcN                    */
	struct ztu_queue q[ZTU_MAX_QUEUES];
	unsigned nr_queues;
	struct ztu_stats_shm *shm;            /* published statistics           */
	void *tgt;                            /* target's device-wide state     */
	/* queue threads report setup done through this */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned ready;
	atomic_uint exited;                   /* queue threads that ended       */
	uint64_t features;                    /* the kernel's (GET_FEATURES)    */
	bool recovering;                      /* taking over dev_id (recover.c) */
	bool handed_over;                     /* quiesced (QUIESCE_DEV): the next
	                                         server takes the device over   */
	bool want_zc;                         /* the target would use zero copy
	                                         (set by its init; zerocopy.c) */
	bool batch;                           /* UBLK_F_BATCH_IO (batch.c), fixed
	                                         like zc before the queues start */
	bool zc;                              /* the device does (the kernel's
	                                         flags, fixed before the queues
	                                         start: queue threads read it) */
	bool keep_state;                      /* deinit must not remove the state
	                                         file: it may hold the pages of a
	                                         device that still exists        */
};

static inline const struct ublksrv_io_desc *ztu_iod(const struct ztu_queue *q, unsigned tag)
{
	return &q->iods[tag];
}
static inline char *ztu_buf(const struct ztu_queue *q, unsigned tag)
{
	return q->bufs + (size_t)tag * q->dev->cfg.io_buf_bytes;
}

/* queue.c */
void *ztu_queue_thread(void *arg);
/* A request arrived on tag (either protocol): count it, hand it over. */
void ztu_queue_request(struct ztu_queue *q, unsigned tag);
/* An SQE for a ublk command op on /dev/ublkcN (fixed file 0), user_data
 * (tag, op, arg); the caller fills sqe->cmd.  Flushes the SQ when full. */
struct io_uring_sqe *ztu_cmd_sqe(struct ztu_queue *q, uint32_t op, unsigned tag, uint32_t arg);

/* batch.c: UBLK_F_BATCH_IO (7.0+), asked for with ZTIER_UBLK_BATCH=1.  The
 * queue prepares its tags (init, before START_DEV), keeps one multishot
 * fetch armed, and commits what finished once per loop round (flush). */
int ztu_batch_init(struct ztu_queue *q);
void ztu_batch_deinit(struct ztu_queue *q);
void ztu_batch_done(struct ztu_queue *q, unsigned tag, int res);
void ztu_batch_flush(struct ztu_queue *q);
void ztu_batch_cqe(struct ztu_queue *q, const struct io_uring_cqe *cqe);
bool ztu_batch_may_end(const struct ztu_queue *q);

/* zerocopy.c: zero copy, where the kernel has automatic buffer registration
 * (6.16+) and user copy.  The kernel then copies nothing into ztu_buf: each
 * request's own pages are registered in the queue's ring at index tag
 * before it reaches us (unregistered by its commit), and what we need as
 * bytes we copy ourselves with pread/pwrite on /dev/ublkcN. */
#define ZTU_ZC_FLAGS (UBLK_F_AUTO_BUF_REG | UBLK_F_USER_COPY)
/* The largest request of a zero-copy device whose buffers are at least
 * ZTU_ZC_WINDOW_MIN (256 tags or fewer).  The kernel copies nothing into
 * ztu_buf, so a request need not fit it: the target goes through it a
 * buffer at a time (tgt_tiered.c), and a 1 MiB read is one ublk round trip,
 * not eight of 128 KiB.  Smaller buffers would cut it into too many windows,
 * each waiting for the last: such a device keeps requests of its buffer. */
#define ZTU_ZC_REQ_MAX    (1u << 20)
#define ZTU_ZC_WINDOW_MIN (64u << 10)
static inline bool ztu_dev_zc(const struct ztu_dev *d)
{
	return d->zc;
}
/* The ring's sparse buffer table: one entry per tag. */
int ztu_zc_ring_init(struct ztu_queue *q);
/* What a FETCH/COMMIT carries in sqe->addr: register at index tag, and
 * deliver the request unregistered rather than fail it when that fails. */
uint64_t ztu_zc_sqe_addr(unsigned tag);
/* Was this request's buffer registered (else: copies only)? */
bool ztu_zc_registered(const struct ztu_queue *q, unsigned tag);
/* Copy len bytes at off of the request's data into buf (a write's data),
 * or from buf into it (a read's); 0 or -errno. */
int ztu_zc_copy_in(struct ztu_queue *q, unsigned tag, void *buf, size_t len, size_t off);
int ztu_zc_copy_out(struct ztu_queue *q, unsigned tag, const void *buf, size_t len, size_t off);

/* May a stopping queue thread end?  Each of its depth tags is at any time
 * out with the kernel (a FETCH or COMMIT_AND_FETCH in flight), retired
 * (its command came back with ABORT) or owned: a request we serve and have
 * not committed.  It may end once it owns no tag and has no backend I/O
 * out; commands still in flight do not hold it.  After STOP_DEV they all
 * come back ABORT at once anyway.  After QUIESCE_DEV only the idle tags'
 * do: a commit re-arms its tag, and that fetch gets no request (the kernel
 * requeues new I/O for the next server) nor an ABORT until our ring is
 * torn down, so waiting for it would hang the handover. */
static inline bool ztu_queue_may_end(unsigned depth, unsigned cmd_inflight,
				     unsigned retired, unsigned tgt_inflight)
{
	return cmd_inflight + retired >= depth && !tgt_inflight;
}
/* Finish the request on tag with res (bytes or -errno): COMMIT_AND_FETCH. */
void ztu_io_done(struct ztu_queue *q, unsigned tag, int res);
/* An SQE for backend I/O (NULL never: flushes the SQ when full). */
struct io_uring_sqe *ztu_tgt_sqe(struct ztu_queue *q, unsigned tag, unsigned op,
				 uint32_t arg);

/* ctrl.c: control commands on the SQE128 control ring. */
int ztu_ctrl_open(struct ztu_dev *d);
void ztu_ctrl_close(struct ztu_dev *d);
int ztu_ctrl_cmd(struct ztu_dev *d, uint32_t op, int dev_id, uint64_t addr,
		 uint32_t len, uint64_t data0);
int ztu_ctrl_get_features(struct ztu_dev *d, uint64_t *features);
int ztu_ctrl_add(struct ztu_dev *d);
int ztu_ctrl_set_params(struct ztu_dev *d);
int ztu_ctrl_get_info(struct ztu_dev *d, int dev_id, struct ublksrv_ctrl_dev_info *info);
/* The flags ADD_DEV asks for: ioctl encoding; with a state file, user
 * recovery with reissue, and QUIESCE where the kernel offers it; for a
 * target that wants zero copy, ZTU_ZC_FLAGS where the kernel has both. */
uint64_t ztu_add_flags(bool state, bool zero_copy, uint64_t features);

/* recover.c: a device with a state file outlives its server. */
int ztu_recover_save_config(const struct ztu_dev *d);
void ztu_recover_forget_config(int dev_id);
void ztu_recover_reap(int dev_id);
int ztu_recover_start(struct ztu_dev *d, char *msg, size_t len);
int ztu_recover_end(struct ztu_dev *d, char *msg, size_t len);

#endif
