/*
 * tiered_setup.c — building and tearing down the tiered target.
 *
 * Device-wide (before ADD_DEV, so a bad spill path leaves nothing behind):
 * the page table, the fill-word table, the compressed store under the
 * memory limit, and the block tiers.  For a swap device (memory-commit
 * upfront) the table and the store are committed whole here, before the
 * server turns into an IO_FLUSHER; otherwise they grow on demand (the store
 * from a reserve that its housekeeper thread refills).  With a state path
 * (--state, off by default) the table, the fill table, the store arena and
 * the spill and zram slots live in a new shared state file instead
 * (state.h), committed whole; it is removed on a clean stop.
 * Per queue (in the queue thread, after PR_SET_IO_FLUSHER): its codec
 * context, per-tag state, the async-write slots, the parked-tag FIFO and the
 * bounce pages — everything the I/O path needs, so it never allocates.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "policy/common/common.h"
#include "ublk/demote.h"
#include "ublk/state.h"
#include "ublk/store_pt.h"
#include "ublk/tier_zram.h"
#include "ublk/tiered.h"

#define PT_PREALLOC      (2u << 20)
#define FILL_CAPACITY 4096u
#define STORE_RESERVE_CHUNKS 32u  /* at most 2 MiB committed (store.h: the
                                     reserve grows with the data) */

/* With upfront commit (swap), map the whole table now: 8 bytes per device
 * page plus a 4 KiB mid per GiB, 2 MiB per GiB of device (16 MiB for
 * 8 GiB).  Growing it means mmap on the I/O path, and a queue thread
 * (PF_MEMALLOC_NOIO) that must allocate under swap pressure can livelock.
 * Otherwise metadata grows with the pages stored, from a 2 MiB start.
 * Never more than the table can use (it refuses a bigger reservation). */
static size_t pt_prealloc(uint64_t size, bool upfront)
{
	uint64_t pages = size / ZT_PAGE_SIZE;
	uint64_t blocks = (pages + 511) / 512 + (pages + (1u << 18) - 1) / (1u << 18);

	if (upfront || blocks * ZT_PAGE_SIZE < PT_PREALLOC)
		return (size_t)blocks * ZT_PAGE_SIZE;
	return PT_PREALLOC;
}

/* MemAvailable in bytes, or UINT64_MAX when it cannot be read. */
static uint64_t mem_available(void)
{
	unsigned long long kib = 0;
	char line[128];
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return UINT64_MAX;
	while (fgets(line, sizeof(line), f) && sscanf(line, "MemAvailable: %llu", &kib) != 1)
		;
	fclose(f);
	return kib ? kib << 10 : UINT64_MAX;
}

/* Locking more than there is would only make the kernel kill others
 * (this server is OOM-exempt): callers refuse with the figures instead. */
static bool fits_available(uint64_t bytes, uint64_t *avail)
{
	*avail = mem_available();
	return bytes <= *avail / 10 * 9;
}

static int commit_upfront(struct ztu_tiers *t, uint64_t limit, char *msg, size_t len)
{
	uint64_t avail;
	int ret;

	if (!fits_available(limit, &avail)) {
		snprintf(msg, len, "store: memory-limit %llu MiB cannot be committed upfront "
			 "(memory-commit, the default for swap): %llu MiB available",
			 (unsigned long long)(limit >> 20), (unsigned long long)(avail >> 20));
		return -ENOMEM;
	}
	ret = zu_store_commit_all(t->store);
	if (ret)
		snprintf(msg, len, "store: cannot commit its memory-limit of %llu MiB "
			 "upfront (memory-commit): %s", (unsigned long long)(limit >> 20),
			 strerror(-ret));
	return ret;
}

/* Upfront (swap): the whole limit committed now, before the device exists;
 * the I/O path then never allocates and a full store fails a write at
 * once; the housekeeper only compacts (and demotes).  On demand (a file
 * system): a small committed reserve, refilled by the housekeeper, which
 * starts once the tiers are all there (hk_start), before any queue thread
 * (store.h). */
static int store_init(struct ztu_tiers *t, uint64_t limit, bool upfront, char *msg,
		      size_t len)
{
	int ret;

	t->store = zu_store_create(limit);
	if (!t->store)
		return zt_fail_errno(msg, len, -errno, "store (memory limit)");
	if (upfront)
		return commit_upfront(t, limit, msg, len);
	ret = zu_store_reserve(t->store, STORE_RESERVE_CHUNKS, STORE_RESERVE_CHUNKS / 2);
	return ret ? zt_fail_errno(msg, len, ret, "store reserve") : 0;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The housekeeper's tick: demotion, once the device serves (the first
 * publish has counted what an attached state holds). */
static void demote_tick(void *ctx)
{
	struct ztu_tiers *t = ctx;

	if (atomic_load_explicit(&t->serving, memory_order_acquire))
		zu_demote_tick(t->demoter, mono_ms());
}

/* Idle store pages move to spill (demote.h) when the config has an age
 * and the device both tiers. */
static int demote_init(struct ztu_tiers *t, char *msg, size_t len)
{
	struct ztu_blk *sp = t->blk[ZT_TIER_SPILL];
	struct zu_demote_cfg dc;

	if (!t->cfg->demote_age || !sp)
		return 0;
	/* A state's budget window: a recovered server continues the day. */
	dc = (struct zu_demote_cfg){ t->pt, t->store, ztu_blk_slots(sp), ztu_blk_fd(sp),
				     t->cfg->demote_age, t->cfg->demote_budget,
				     t->state ? t->state->budget_day : NULL };
	t->demoter = zu_demoter_create(&dc, mono_ms());
	if (!t->demoter)
		return zt_fail_errno(msg, len, -errno, "demotion");
	return zu_store_set_tick(t->store, demote_tick, t);
}

/* The store's housekeeper: compaction through the page table, demotion,
 * and (on demand) the reserve. */
static int hk_start(struct ztu_tiers *t, char *msg, size_t len)
{
	const struct zu_store_mover mover = zu_store_pt_mover(t->pt);
	int ret;

	if (!t->store)
		return 0;
	zu_store_set_mover(t->store, &mover);
	if ((ret = demote_init(t, msg, len)))
		return ret;
	ret = zu_store_housekeeper_start(t->store);
	return ret ? zt_fail_errno(msg, len, ret, "store housekeeper") : 0;
}

/* The table, the fill table and the store in this process's memory. */
static int local_init(struct ztu_tiers *t, char *msg, size_t len)
{
	const struct ztu_config *c = t->cfg;
	bool upfront = c->commit_upfront;

	t->pt = zu_pt_create(c->size / ZT_PAGE_SIZE, pt_prealloc(c->size, upfront));
	if (!t->pt)
		return zt_fail_errno(msg, len, -errno, "page table");
	t->fills = zu_fills_create(FILL_CAPACITY);
	if (!t->fills)
		return zt_fail_errno(msg, len, -ENOMEM, "fill table");
	return c->mem_limit ? store_init(t, c->mem_limit, upfront, msg, len) : 0;
}

/* The state file: created for a new device (it starts empty), attached
 * by a server taking over a device whose server died (recover.c): then the
 * file must exist and pass every check of zu_state_attach. */
static int state_open(struct ztu_tiers *t, const struct zu_state_geom *g, bool attach,
		      char *msg, size_t len)
{
	const char *path = t->cfg->state_path;
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | (attach ? 0 : O_CREAT | O_EXCL),
		      0600);
	int ret;

	if (fd < 0)
		return zt_fail_errno(msg, len, -errno, path);
	ret = attach ? zu_state_attach(fd, g, &t->state, msg, len)
		     : zu_state_create(fd, g, &t->state, msg, len);
	close(fd);
	if (ret && !attach)
		unlink(path);
	return ret;
}

/* The spill is counted as ztu_tiered_init opens it: a disk that is gone
 * or changed size fails here, before anyone ends the running server. */
int ztu_tiered_state_check(const struct ztu_config *cfg, char *msg, size_t len)
{
	uint64_t spill_slots = 0;
	int fd, ret;

	if (cfg->spill_path[0] &&
	    (ret = ztu_blk_probe_slots(cfg->spill_path, cfg->spill_size, &spill_slots, msg, len)))
		return ret;
	fd = open(cfg->state_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return zt_fail_errno(msg, len, -errno, cfg->state_path);
	ret = zu_state_check(fd, cfg, spill_slots, FILL_CAPACITY, msg, len);
	close(fd);
	return ret;
}

/* The zram tier's slots are the state's.  A new device's tier was made
 * before the state (whose header records its id); a recovering server
 * reopens the device the state names, and what no entry names there is
 * discarded (tier_zram.c). */
static int state_zram(struct ztu_tiers *t, bool attach, char *msg, size_t len)
{
	int ret;

	if (!t->state->zram)
		return 0;
	if (attach &&
	    (ret = ztu_zram_reopen(t, &t->cfg->zram, t->state->zram_dev, msg, len)))
		return ret;
	ztu_blk_use_slots(t->blk[ZT_TIER_ZRAM], t->state->zram);
	if (attach)
		ztu_zram_discard_free(t, t->state->zram);
	return 0;
}

/* What a state commits at once: all of it, or on demand (no
 * memory-commit) all but the store, which commits as it fills. */
static uint64_t state_commits(const struct zu_state_geom *g)
{
	uint64_t store = g->store_bytes / ZU_STORE_CHUNK * ZU_STORE_CHUNK;

	return zu_state_bytes(g) - (g->on_demand ? store : 0);
}

/* Bytes the state file holds already.  A recovering server maps them
 * again: they are no new memory, and MemAvailable does not count them
 * (shared memory, locked by ztierd while the device exists). */
static uint64_t state_held(const char *path)
{
	struct stat sb;

	return stat(path, &sb) ? 0 : (uint64_t)sb.st_blocks * 512;
}

/* The table, the fill table, the store arena and the spill and zram slots
 * in the shared state at cfg->state_path (state.h): committed whole with
 * memory-commit (swap), else all but the store, which then keeps a
 * reserve like a local on-demand one. */
static int state_init(struct ztu_tiers *t, bool attach, char *msg, size_t len)
{
	const struct ztu_config *c = t->cfg;
	struct zu_state_geom g;
	uint64_t avail, need, held;
	int ret;

	zu_state_geom_of(c, ztu_blk_total(t->blk[ZT_TIER_SPILL]), FILL_CAPACITY, &g);
	g.zram_dev1 = (uint32_t)(ztu_zram_id(t) + 1);
	need = state_commits(&g);
	held = attach ? state_held(c->state_path) : 0;
	need -= held < need ? held : need;
	if (!fits_available(need, &avail))
		return zt_fail(msg, len, -ENOMEM, "state %s: %llu MiB more, %llu MiB available",
			       c->state_path, (unsigned long long)(need >> 20),
			       (unsigned long long)(avail >> 20));
	if ((ret = state_open(t, &g, attach, msg, len)))
		return ret;
	t->recount = attach;
	t->pt = t->state->pt;
	t->fills = t->state->fills;
	t->store = t->state->store;
	if (t->store && g.on_demand &&
	    (ret = zu_store_reserve(t->store, STORE_RESERVE_CHUNKS, STORE_RESERVE_CHUNKS / 2)))
		return zt_fail_errno(msg, len, ret, "store reserve");
	if (t->blk[ZT_TIER_SPILL])
		ztu_blk_use_slots(t->blk[ZT_TIER_SPILL], t->state->spill);
	return state_zram(t, attach, msg, len);
}

/* Zero copy pays for block tiers only (zerocopy.c); asked for wherever
 * the kernel has it, unless ZTIER_UBLK_ZERO_COPY=0 in the environment
 * (the copy path, to compare or to work around a kernel), and never for a
 * server that must not allocate on the I/O path (a swap device: memory
 * committed up front): the kernel's automatic registration allocates for
 * every request, in the queue thread, while reclaim waits on swap-out to
 * this device.  On 7.3 ublk-swap.t's guest stalled with it (swap-out
 * throttled for good, no request completing); the copy path through
 * mlocked buffers is what libublk, too, requires of a swap disk. */
static bool wants_zero_copy(const struct ztu_config *c, const struct ztu_tiers *t)
{
	const char *zc = getenv("ZTIER_UBLK_ZERO_COPY");

	if ((zc && strcmp(zc, "0") == 0) || c->commit_upfront)
		return false;
	return t->blk[ZT_TIER_SPILL] || t->blk[ZT_TIER_ZRAM];
}

int ztu_tiered_init(struct ztu_dev *d, char *msg, size_t len)
{
	const struct ztu_config *c = &d->cfg;
	struct ztu_tiers *t = calloc(1, sizeof(*t));
	int ret = 0;

	if (!t)
		return zt_fail_errno(msg, len, -ENOMEM, "tiers");
	d->tgt = t;
	t->cfg = &d->cfg;
	if (!c->state_path[0] && (ret = local_init(t, msg, len)))
		return ret;
	if (c->spill_path[0]) {
		ret = ztu_blk_open(&t->blk[ZT_TIER_SPILL], ZT_TIER_SPILL, c->spill_path,
				   c->spill_size, msg, len);
		if (!ret && c->spill_encrypt)
			ret = ztu_blk_encrypt(t->blk[ZT_TIER_SPILL], d->recovering,
					      c->commit_upfront, msg, len);
		if (ret)
			return ret;
	}
	/* A new zram tier before the state (it records the device); a
	 * recovering server's is the one its state names (state_zram). */
	if (ztu_config_wants_zram(c) && !(c->state_path[0] && d->recovering) &&
	    (ret = ztu_zram_create(t, &c->zram, msg, len)))
		return ret;
	if (c->state_path[0] && (ret = state_init(t, d->recovering, msg, len)))
		return ret;
	/* Its slot map is final now (a state's, when there is one). */
	if ((ret = ztu_zram_start_discards(t, c->commit_upfront, msg, len)))
		return ret;
	d->want_zc = wants_zero_copy(c, t);
	return hk_start(t, msg, len);
}

int ztu_tiered_deinit(struct ztu_dev *d)
{
	struct ztu_tiers *t = d->tgt;
	int left = 0;

	if (!t)
		return 0;
	/* Its demotion uses the spill: the housekeeper stops first. */
	zu_store_housekeeper_stop(t->store);
	zu_demoter_destroy(t->demoter);
	/* A take-over that failed leaves the zram device to the next one. */
	if (t->state && d->keep_state)
		ztu_zram_close(t);
	else
		left = ztu_zram_destroy(t, d->shm ? (struct ztu_tiered_stats *)d->shm->tgt : NULL);
	/* The spill's mapping holds its key: it goes with the device, and
	 * stays while the device waits for a server (a failed take-over). */
	ztu_blk_keep_crypt(t->blk[ZT_TIER_SPILL], d->keep_state);
	for (int i = 0; i < ZT_TIER_COUNT; i++)
		ztu_blk_close(t->blk[i]);
	if (t->state) {
		/* A clean stop: the device is gone, so is what its pages were.
		 * Not so for a take-over that failed: the device still waits. */
		zu_state_detach(t->state);
		if (!d->keep_state)
			unlink(t->cfg->state_path);
	} else {
		zu_store_destroy(t->store);
		zu_fills_destroy(t->fills);
		zu_pt_destroy(t->pt);
	}
	free(t);
	d->tgt = NULL;
	return left;
}

static int max_zstd_level(const struct ztu_config *p)
{
	int max = 0;

	for (int c = 0; c < ZT_CLASS_COUNT; c++)
		if (p->rule[c].codec.kind == ZT_CODEC_ZSTD) {
			int l = p->rule[c].codec.level ? p->rule[c].codec.level : 3;
			max = l > max ? l : max;
		}
	return max;
}

/* A queue's codec context, with lz4hc's state only if a class uses it. */
static struct zu_codec_ctx *codec_for(const struct ztu_config *p)
{
	struct zu_codec_ctx *ctx = zu_codec_ctx_create(max_zstd_level(p));

	for (int c = 0; ctx && c < ZT_CLASS_COUNT; c++)
		if (p->rule[c].codec.kind == ZT_CODEC_LZ4 && p->rule[c].codec.level &&
		    zu_codec_ctx_enable_lz4hc(ctx)) {
			zu_codec_ctx_destroy(ctx);
			return NULL;
		}
	return ctx;
}

static void *page_alloc(void)
{
	void *p = NULL;

	if (posix_memalign(&p, ZT_PAGE_SIZE, ZT_PAGE_SIZE))
		return NULL;
	memset(p, 0, ZT_PAGE_SIZE);
	return p;
}

/* Fill the ring's cache of read/write state now, while memory is easy to
 * get: ZTU_TGT_BUDGET reads in flight at once of the first block-tier page
 * (into the still unused tag buffers); they are recycled into the cache. */
static int warm_ring(struct ztu_queue *q, int fd)
{
	struct io_uring_cqe *cqe;
	unsigned n = ZTU_TGT_BUDGET, i;
	int ret;

	for (i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&q->ring);

		if (!sqe && io_uring_submit(&q->ring) >= 0)   /* SQ full: no waiting, */
			sqe = io_uring_get_sqe(&q->ring);        /* so all stay in flight */
		if (!sqe)
			break;
		io_uring_prep_read(sqe, fd, q->bufs + (size_t)i * ZT_PAGE_SIZE, ZT_PAGE_SIZE, 0);
		sqe->user_data = 0;
	}
	ret = io_uring_submit_and_wait(&q->ring, i);
	for (n = 0; n < i && ret >= 0; n++) {
		ret = io_uring_wait_cqe(&q->ring, &cqe);
		if (!ret)
			io_uring_cqe_seen(&q->ring, cqe);
	}
	return ret < 0 ? ret : 0;
}

int ztu_tiered_queue_init(struct ztu_queue *q)
{
	struct ztu_dev *d = q->dev;
	struct ztu_tiers *t = d->tgt;
	struct tq *tq = calloc(1, sizeof(*tq));
	uint64_t spill_total = ztu_blk_total(t->blk[ZT_TIER_SPILL]);

	if (!tq)
		return -ENOMEM;
	q->tgt = tq;
	tq->q = q;
	tq->tc.t = t;
	tq->tc.st = q->st;
	tq->tc.cursor = spill_total * q->qid / d->info.nr_hw_queues;
	tq->tc.wtag = q->qid;
	tq->max_pages = d->info.max_io_buf_bytes / ZT_PAGE_SIZE + 1;
	tq->rsize = q->depth;
	tq->tags = calloc(q->depth, sizeof(*tq->tags));
	tq->new_entry = calloc((size_t)q->depth * tq->max_pages, sizeof(*tq->new_entry));
	tq->fixed = calloc((size_t)q->depth * tq->max_pages, sizeof(*tq->fixed));
	tq->resume = calloc(q->depth, sizeof(*tq->resume));
	tq->bounce = page_alloc();
	tq->tc.scratch = page_alloc();
	tq->tc.codec = codec_for(t->cfg);
	if (!tq->tags || !tq->new_entry || !tq->fixed || !tq->resume || !tq->bounce ||
	    !tq->tc.scratch || !tq->tc.codec || tiered_rmw_init(tq))
		return -ENOMEM;
	for (int i = 0; i < ZT_TIER_COUNT; i++)
		if (t->blk[i]) {
			off_t off;
			int fd = ztu_tier_blk.io_fd(&tq->tc, zu_pte_slot(i, 0), &off);

			if (fd >= 0)
				return warm_ring(q, fd);
		}
	return 0;
}

void ztu_tiered_queue_deinit(struct ztu_queue *q)
{
	struct tq *tq = q->tgt;

	if (!tq)
		return;
	if (tq->tc.codec)
		zu_codec_ctx_destroy(tq->tc.codec);
	free(tq->tc.scratch);
	free(tq->bounce);
	tiered_rmw_deinit(tq);
	free(tq->resume);
	free(tq->new_entry);
	free(tq->fixed);
	free(tq->tags);
	free(tq);
	q->tgt = NULL;
}

/* A server that attached to a dead one's state starts its published
 * counters from what the state holds, not from zero: the pages per tier
 * from the table and the store's pages and bytes.  Put in queue 0's
 * counters (the others start at 0), before any queue thread runs. */
static void recount(struct ztu_dev *d, struct ztu_tiers *t)
{
	struct ztu_qstats *q = &d->shm->q[0];
	struct zu_pt_stats ps;
	struct zu_store_stats ss;

	zu_pt_stats(t->pt, &ps);
	for (int i = 0; i < ZT_TIER_COUNT; i++)
		ztu_ctr_set(&q->pages[i], (int64_t)ps.pages[i]);
	if (t->store) {
		zu_store_stats(t->store, &ss);
		ztu_ctr_set(&q->store_pages, (int64_t)ss.pages);
		ztu_ctr_set(&q->store_bytes, (int64_t)ss.data_bytes);
	}
	t->recount = false;
}

static void publish_store(struct ztu_stats_shm *s, const struct zu_store_stats *ss)
{
	ztu_ctr_set(&s->mem_used, (int64_t)ss->arena_bytes);
	ztu_ctr_set(&s->mem_in_use, (int64_t)ss->in_use_bytes);
	ztu_ctr_set(&s->mem_reserve, (int64_t)ss->spare_bytes);
	ztu_ctr_set(&s->mem_meta, (int64_t)ss->meta_bytes);
	ztu_ctr_set(&s->fallback_reserve, (int64_t)ss->enospc_reserve);
	ztu_ctr_set(&s->fallback_limit, (int64_t)ss->enospc_limit);
	ztu_ctr_set(&s->compactions, (int64_t)ss->compactions);
	ztu_ctr_set(&s->compact_pages, (int64_t)ss->compact_pages);
	ztu_ctr_set(&s->compact_bytes, (int64_t)ss->compact_bytes);
	ztu_ctr_set(&s->compact_freed, (int64_t)ss->compact_freed_bytes);
	ztu_ctr_set(&s->compact_raced, (int64_t)ss->compact_raced);
}

/* The housekeeper's block (stats.h): what demotion moved, from its own
 * counters (the main thread is the block's one writer). */
static void publish_demotion(struct ztu_stats_shm *s, const struct ztu_tiers *t)
{
	struct zu_demote_stats ds;

	ztu_ctr_set(&s->demote_age, t->demoter ? (int64_t)t->cfg->demote_age : -1);
	ztu_ctr_set(&s->demote_budget_left, -1);
	if (!t->demoter)
		return;
	zu_demote_stats(t->demoter, &ds);
	ztu_ctr_set(&s->hk.pages[ZT_TIER_STORE], -(int64_t)ds.pages);
	ztu_ctr_set(&s->hk.pages[ZT_TIER_SPILL], (int64_t)ds.pages);
	ztu_ctr_set(&s->hk.store_pages, -(int64_t)ds.pages);
	ztu_ctr_set(&s->hk.store_bytes, -(int64_t)ds.bytes);
	ztu_ctr_set(&s->hk.demoted, (int64_t)ds.pages);
	ztu_ctr_set(&s->hk.demoted_bytes, (int64_t)ds.bytes);
	if (ds.budget_left != UINT64_MAX)
		ztu_ctr_set(&s->demote_budget_left, (int64_t)ds.budget_left);
}

void ztu_tiered_publish(struct ztu_dev *d)
{
	struct ztu_tiers *t = d->tgt;
	struct zu_store_stats ss;

	if (!t || !d->shm)
		return;
	if (t->recount)
		recount(d, t);
	publish_demotion(d->shm, t);
	atomic_store_explicit(&t->serving, true, memory_order_release);
	if (t->store) {
		zu_store_stats(t->store, &ss);
		publish_store(d->shm, &ss);
	}
	ztu_ctr_set(&d->shm->spill_used, (int64_t)ztu_blk_used(t->blk[ZT_TIER_SPILL]));
	ztu_ctr_set(&d->shm->spill_total, (int64_t)ztu_blk_total(t->blk[ZT_TIER_SPILL]));
	ztu_zram_publish(t, (struct ztu_tiered_stats *)d->shm->tgt);
	ztu_crypt_publish(t, (struct ztu_tiered_stats *)d->shm->tgt);
}

_Static_assert(sizeof(struct ztu_tiered_stats) <= ZTU_TGT_STATS_MAX,
	       "the tiered target's stats fit its block of the stats file");
