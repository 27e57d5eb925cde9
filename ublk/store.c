/*
 * store.c — segmented compressed page store with a compactor (design in
 * store.h).
 *
 * Bookkeeping, from the arena up:
 *   - the arena: max_segs segments of ZU_STORE_CHUNK bytes in one reserved
 *     PROT_NONE range.  A segment is committed by mapping it read-write
 *     (MAP_FIXED|MAP_POPULATE) and released by mapping PROT_NONE over it,
 *     which frees its pages even when the process is mlocked.  The
 *     committed bitmap (under seg_lock) always commits the lowest free
 *     segment, so committed memory stays packed and mappings merge.
 *   - the spare stack: empty committed segments, the reserve and freed
 *     ones alike (under seg_lock).  In reserve mode put only pops it and
 *     free only pushes it; the housekeeper thread maps and unmaps.
 *   - the in-use bitmap (under seg_lock): segments that carry a header,
 *     open in a lane or sealed.  Only those are ever read by the compactor's
 *     scan, so it never touches an unmapped segment.
 *   - a segment header: top (under its lane's lock while open, fixed once
 *     sealed) and one atomic word lw = live bytes | SEALED | VICTIM.  Who
 *     moves lw to exactly SEALED (live 0, sealed, not a victim) releases
 *     the segment: a free, the sealing lane, or the compactor unmarking it.
 *   - two lanes (put, move), each a mutex and its open segment.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <linux/prctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>

#include "ublk/store.h"

#define SEG           ZU_STORE_CHUNK
#define SEG_MAGIC     0x7a747332u     /* "zts2" */
#define HDR_BYTES     32u
#define SEG_DATA      (SEG - HDR_BYTES)
#define OFF_BITS      44
#define SEALED        (UINT64_C(1) << 62)
#define VICTIM        (UINT64_C(1) << 61)
#define LIVE_MASK     (VICTIM - 1)
#define NO_SEG        UINT32_MAX
#define SPARE_MAX     2u              /* spares kept without a reserve   */
#define RESERVE_SHIFT 5               /* reserve goal: in use / 32       */
#define MAX_VICTIMS   1024u           /* per pass: 64 MiB evacuated      */
#define BUCKETS       16u             /* utilization sixteenths          */
#define COMPACT_START 10u             /* compact when holes > data / 10  */
#define COMPACT_GOAL  20u             /* ... down to data / 20           */
#define HK_WAIT_S     1               /* housekeeper's bounded wait      */
#define HK_STACK      (64u << 10)
#define ENOSPC_RESERVE (-EBUSY)       /* internal: the reserve was empty */
#define COMMIT_ONE    (-EAGAIN)       /* internal: commit a new segment  */
#define GS_COMMIT     1u              /* get_segment may commit one       */
#define GS_CLEANER    2u              /* ... for the compactor            */

enum { LANE_PUT, LANE_MOVE, NLANES };

struct seg_hdr {                      /* at the start of a segment in use */
	uint32_t magic;
	uint16_t lane;                /* the lane that opened it            */
	uint16_t pad;
	uint32_t top;                 /* bytes used, this header included   */
	uint32_t pad2;
	_Atomic uint64_t lw;          /* live bytes | SEALED | VICTIM       */
	uint64_t pad3;
};
_Static_assert(sizeof(struct seg_hdr) == HDR_BYTES, "segment header size");

struct lane {
	pthread_mutex_t lock;
	uint32_t seg;                 /* open segment, NO_SEG if none       */
} __attribute__((aligned(64)));

struct zu_store {
	unsigned char *base;
	uint32_t max_segs;
	pthread_mutex_t seg_lock;
	uint64_t *committed;          /* bitmap of committed segments       */
	uint64_t *inuse;              /* bitmap of segments with a header   */
	uint32_t low_free;            /* no uncommitted segment below this  */
	uint32_t *spare;              /* empty committed segments: reserve  */
	uint32_t nspare;              /* and spares, one stack              */
	uint32_t target, low;         /* reserve mode: caps of goal and low */
	bool reserve_mode;            /* put never commits, free never unmaps */
	bool upfront;                 /* everything committed at start      */
	bool external;                /* base is a caller's region (state.h) */
	uint32_t *adopt_live;         /* attach: live bytes per segment     */
	bool hk_running, hk_stop;
	pthread_cond_t hk_cond;       /* with seg_lock: wakes the housekeeper */
	pthread_t hk;
	struct lane lane[NLANES];
	struct zu_store_mover mover;
	bool has_mover;
	pthread_mutex_t compact_lock; /* one pass at a time; guards below   */
	uint64_t *victim;             /* bitmap of this pass's victims      */
	uint32_t *victims, nvictims;
	uint64_t pass_moved;
	int pass_err;
	_Atomic uint64_t ncommitted, nused, released, refilled;
	_Atomic uint64_t enospc_reserve, enospc_limit;
	_Atomic uint64_t pages, raw_pages, live;
	_Atomic uint64_t compactions, moved_pages, moved_bytes, freed_segs, raced;
};

/* ---- geometry ------------------------------------------------------------------ */

static struct seg_hdr *hdr(const struct zu_store *st, uint32_t s)
{
	return (struct seg_hdr *)(st->base + (size_t)s * SEG);
}

static uint64_t make_handle(uint64_t off, size_t len)
{
	return off << 12 | (len - 1);
}

static uint64_t handle_off(uint64_t h)
{
	return (h >> 12) & ((UINT64_C(1) << OFF_BITS) - 1);
}

static bool bit_test(const uint64_t *map, uint32_t i)
{
	return map[i / 64] >> (i % 64) & 1;
}

static void bit_set(uint64_t *map, uint32_t i)
{
	map[i / 64] |= UINT64_C(1) << (i % 64);
}

static void bit_clear(uint64_t *map, uint32_t i)
{
	map[i / 64] &= ~(UINT64_C(1) << (i % 64));
}

static void count_page(struct zu_store *st, size_t len, int sign)
{
	atomic_fetch_add_explicit(&st->pages, (uint64_t)(int64_t)sign, memory_order_relaxed);
	atomic_fetch_add_explicit(&st->live, (uint64_t)((int64_t)sign * (int64_t)len),
				  memory_order_relaxed);
	if (len == ZT_PAGE_SIZE)
		atomic_fetch_add_explicit(&st->raw_pages, (uint64_t)(int64_t)sign,
					  memory_order_relaxed);
}

/* ---- create / destroy ------------------------------------------------------------ */

static bool alloc_tables(struct zu_store *st, uint64_t n, void *arena)
{
	size_t words = (n + 63) / 64;

	st->committed = calloc(words, sizeof(uint64_t));
	st->inuse = calloc(words, sizeof(uint64_t));
	st->victim = calloc(words, sizeof(uint64_t));
	st->spare = calloc(n, sizeof(uint32_t));
	st->victims = calloc(MAX_VICTIMS, sizeof(uint32_t));
	if (arena)
		st->base = arena;
	else
		st->base = mmap(NULL, n * SEG, PROT_NONE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (st->base == MAP_FAILED)
		st->base = NULL;
	return st->committed && st->inuse && st->victim && st->spare && st->victims &&
	       st->base;
}

static struct zu_store *store_new(uint64_t mem_limit, void *arena)
{
	uint64_t n = mem_limit / SEG;
	struct zu_store *st;

	if (n == 0 || n * SEG > (UINT64_C(1) << OFF_BITS)) {
		errno = EINVAL;
		return NULL;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->max_segs = (uint32_t)n;
	st->external = arena != NULL;
	if (!alloc_tables(st, n, arena)) {
		zu_store_destroy(st);
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&st->seg_lock, NULL);
	pthread_mutex_init(&st->compact_lock, NULL);
	pthread_cond_init(&st->hk_cond, NULL);
	for (int i = 0; i < NLANES; i++) {
		pthread_mutex_init(&st->lane[i].lock, NULL);
		st->lane[i].seg = NO_SEG;
	}
	return st;
}

struct zu_store *zu_store_create(uint64_t mem_limit)
{
	return store_new(mem_limit, NULL);
}

void zu_store_destroy(struct zu_store *st)
{
	if (!st)
		return;
	if (st->hk_running) {
		pthread_mutex_lock(&st->seg_lock);
		st->hk_stop = true;
		pthread_cond_signal(&st->hk_cond);
		pthread_mutex_unlock(&st->seg_lock);
		pthread_join(st->hk, NULL);
	}
	if (st->base) {
		if (!st->external)
			munmap(st->base, (size_t)st->max_segs * SEG);
		pthread_mutex_destroy(&st->seg_lock);
		pthread_mutex_destroy(&st->compact_lock);
		pthread_cond_destroy(&st->hk_cond);
		for (int i = 0; i < NLANES; i++)
			pthread_mutex_destroy(&st->lane[i].lock);
	}
	free(st->committed);
	free(st->inuse);
	free(st->victim);
	free(st->spare);
	free(st->victims);
	free(st->adopt_live);
	free(st);
}

/* ---- segments ---------------------------------------------------------------------- */

/* Lowest uncommitted segment number, marked committed; max_segs if none. */
static uint32_t claim_seg_locked(struct zu_store *st)
{
	uint32_t w, nwords = (st->max_segs + 63) / 64;

	for (w = st->low_free / 64; w < nwords; w++) {
		uint64_t free_bits = ~st->committed[w];
		uint32_t s;

		if (!free_bits)
			continue;
		s = w * 64 + (uint32_t)__builtin_ctzll(free_bits);
		if (s >= st->max_segs)
			break;
		bit_set(st->committed, s);
		st->low_free = s + 1;
		return s;
	}
	st->low_free = st->max_segs;
	return st->max_segs;
}

static void unclaim_seg_locked(struct zu_store *st, uint32_t s)
{
	bit_clear(st->committed, s);
	if (s < st->low_free)
		st->low_free = s;
}

/* The reserve goal: it grows with the data (1/32 of the segments in use)
 * so that a small store does not carry a large fixed reserve, and it is
 * capped by the target the server gave.  Upfront: everything. */
static uint32_t reserve_goal(const struct zu_store *st)
{
	uint64_t g = atomic_load_explicit(&st->nused, memory_order_relaxed) >> RESERVE_SHIFT;

	if (!st->reserve_mode || st->upfront)
		return st->target;
	if (g < ZU_STORE_RESERVE_MIN)
		g = ZU_STORE_RESERVE_MIN;
	return g < st->target ? (uint32_t)g : st->target;
}

static uint32_t reserve_low(const struct zu_store *st)
{
	uint32_t l = (reserve_goal(st) + 1) / 2;

	return l < st->low ? l : st->low;
}

/* Empty segments kept committed (reserve + spares) before unmapping more. */
static uint32_t keep_max(const struct zu_store *st)
{
	return st->reserve_mode ? reserve_goal(st) : SPARE_MAX;
}

static bool can_grow(struct zu_store *st)
{
	return atomic_load_explicit(&st->ncommitted, memory_order_relaxed) < st->max_segs;
}

static bool hk_has_work_locked(struct zu_store *st)
{
	if (!st->reserve_mode || st->upfront)
		return false;
	return (st->nspare < reserve_low(st) && can_grow(st)) || st->nspare > keep_max(st);
}

/* Wake the housekeeper if it has something to do (seg_lock held). */
static void hk_wake_locked(struct zu_store *st)
{
	if (st->hk_running && hk_has_work_locked(st))
		pthread_cond_signal(&st->hk_cond);
}

/* Map segment s read-write and fault every page in; false on failure. */
static bool map_seg(struct zu_store *st, uint32_t s)
{
	volatile unsigned char *p = mmap(hdr(st, s), SEG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE, -1, 0);

	if (p == MAP_FAILED)
		return false;
	for (size_t off = 0; off < SEG; off += ZT_PAGE_SIZE)
		p[off] = 0;           /* a real page, not the shared zero page */
	atomic_fetch_add_explicit(&st->ncommitted, 1, memory_order_relaxed);
	return true;
}

/* Unmap a segment; false if the kernel refused (VMA exhaustion). */
static bool unmap_seg(struct zu_store *st, uint32_t s)
{
	void *p = mmap(hdr(st, s), SEG, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return false;
	atomic_fetch_sub_explicit(&st->ncommitted, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&st->released, 1, memory_order_relaxed);
	pthread_mutex_lock(&st->seg_lock);
	unclaim_seg_locked(st, s);
	pthread_mutex_unlock(&st->seg_lock);
	return true;
}

/* Commit a new segment here (not in reserve mode's put path). */
static int64_t commit_seg(struct zu_store *st)
{
	uint32_t s;

	pthread_mutex_lock(&st->seg_lock);
	s = claim_seg_locked(st);
	pthread_mutex_unlock(&st->seg_lock);
	if (s == st->max_segs)
		return -ENOSPC;
	if (!map_seg(st, s)) {
		pthread_mutex_lock(&st->seg_lock);
		unclaim_seg_locked(st, s);
		pthread_mutex_unlock(&st->seg_lock);
		return -ENOSPC;
	}
	return s;
}

/* Segments that could still be had, committed or not (seg_lock held). */
static uint64_t free_segs_locked(struct zu_store *st)
{
	return st->nspare + st->max_segs -
	       atomic_load_explicit(&st->ncommitted, memory_order_relaxed);
}

/* Where a lane's next segment comes from (seg_lock held): a spare, a
 * commit (COMMIT_ONE), or a refusal: the limit (-ENOSPC), or in reserve
 * mode an empty reserve (ENOSPC_RESERVE) unless the caller may commit
 * (GS_COMMIT: no fallback, or the housekeeper).  With a mover the last
 * segment that can exist is the compactor's (GS_CLEANER): a full store
 * could not be packed without one. */
static int64_t seg_source_locked(struct zu_store *st, unsigned flags)
{
	bool may_commit = (flags & GS_COMMIT) || !st->reserve_mode;
	uint64_t keep = (flags & GS_CLEANER) || !st->has_mover ? 0 : 1;

	if (free_segs_locked(st) <= keep)
		return -ENOSPC;
	if (st->nspare)
		return st->spare[--st->nspare];
	if (st->upfront)
		return -ENOSPC;
	return may_commit ? COMMIT_ONE : ENOSPC_RESERVE;
}

/* An empty segment for a lane, marked in use. */
static int64_t get_segment(struct zu_store *st, unsigned flags)
{
	int64_t s;

	pthread_mutex_lock(&st->seg_lock);
	s = seg_source_locked(st, flags);
	if (st->reserve_mode)
		hk_wake_locked(st);
	if (s < 0 && s != COMMIT_ONE && st->has_mover && st->hk_running)
		pthread_cond_signal(&st->hk_cond);   /* holes may give room */
	pthread_mutex_unlock(&st->seg_lock);
	if (s == COMMIT_ONE)
		s = commit_seg(st);
	if (s < 0)
		return s;
	pthread_mutex_lock(&st->seg_lock);
	bit_set(st->inuse, (uint32_t)s);
	pthread_mutex_unlock(&st->seg_lock);
	atomic_fetch_add_explicit(&st->nused, 1, memory_order_relaxed);
	return s;
}

/* An empty segment goes on the spare stack: in reserve mode always (the
 * I/O path never maps or unmaps: the housekeeper trims the excess), else
 * up to SPARE_MAX, and past that it is unmapped here.  Should the kernel
 * refuse the unmap (only on VMA exhaustion), the segment stays committed,
 * counted in arena_bytes and unused until destroy. */
static void release_seg(struct zu_store *st, uint32_t s)
{
	bool keep;

	hdr(st, s)->magic = 0;
	atomic_store_explicit(&hdr(st, s)->lw, 0, memory_order_relaxed);
	pthread_mutex_lock(&st->seg_lock);
	bit_clear(st->inuse, s);
	atomic_fetch_sub_explicit(&st->nused, 1, memory_order_relaxed);
	keep = st->reserve_mode || st->nspare < SPARE_MAX;
	if (keep)
		st->spare[st->nspare++] = s;
	if (st->reserve_mode)
		hk_wake_locked(st);
	pthread_mutex_unlock(&st->seg_lock);
	if (!keep)
		unmap_seg(st, s);
}

/* Unmap spare segments until at most n are left. */
static int trim_to(struct zu_store *st, uint32_t n)
{
	uint32_t s;
	int err = 0;

	for (;;) {
		pthread_mutex_lock(&st->seg_lock);
		if (st->nspare <= n) {
			pthread_mutex_unlock(&st->seg_lock);
			return err;
		}
		s = st->spare[--st->nspare];
		pthread_mutex_unlock(&st->seg_lock);
		if (!unmap_seg(st, s))
			err = -ENOMEM;   /* lost until destroy; counted in arena */
	}
}

int zu_store_trim(struct zu_store *st)
{
	if (st->upfront)
		return 0;
	return trim_to(st, st->reserve_mode ? reserve_goal(st) : 0);
}

/* ---- lanes ---------------------------------------------------------------------------- */

/* Seal a lane's open segment: no page is added to it any more.  If it is
 * already empty, the sealer is the one who releases it. */
static void seal(struct zu_store *st, uint32_t s)
{
	if (atomic_fetch_or(&hdr(st, s)->lw, SEALED) == 0)
		release_seg(st, s);
}

static void open_seg(struct zu_store *st, struct lane *ln, unsigned li, uint32_t s)
{
	struct seg_hdr *h = hdr(st, s);

	h->magic = SEG_MAGIC;
	h->lane = (uint16_t)li;
	h->top = HDR_BYTES;
	atomic_store(&h->lw, 0);
	if (ln->seg != NO_SEG)
		seal(st, ln->seg);
	ln->seg = s;
}

/* Room for len bytes in lane li (its lock held): the arena offset, or a
 * negative error.  The live bytes are added now, so the segment cannot be
 * released before the page is copied in. */
static int64_t lane_alloc(struct zu_store *st, unsigned li, size_t len, unsigned flags)
{
	struct lane *ln = &st->lane[li];
	struct seg_hdr *h;
	uint64_t off;

	if (ln->seg == NO_SEG || hdr(st, ln->seg)->top + len > SEG) {
		int64_t s = get_segment(st, flags);

		if (s < 0)
			return s;
		open_seg(st, ln, li, (uint32_t)s);
	}
	h = hdr(st, ln->seg);
	off = (uint64_t)ln->seg * SEG + h->top;
	h->top += (uint32_t)len;
	atomic_fetch_add(&h->lw, len);
	return (int64_t)off;
}

/* A free emptied an open segment: give it back unless its lane used it
 * again meanwhile (or sealed it: then the sealer released it).  The header
 * is read only under the lock of a lane that still holds the segment open:
 * otherwise it may already be unmapped. */
static void drop_open(struct zu_store *st, uint32_t s)
{
	for (unsigned i = 0; i < NLANES; i++) {
		struct lane *ln = &st->lane[i];

		pthread_mutex_lock(&ln->lock);
		if (ln->seg == s && atomic_load(&hdr(st, s)->lw) == 0) {
			ln->seg = NO_SEG;
			release_seg(st, s);
		}
		pthread_mutex_unlock(&ln->lock);
	}
}

/* ---- put / get / free ------------------------------------------------------------------ */

static int refused(struct zu_store *st, int64_t err)
{
	if (err == ENOSPC_RESERVE)
		atomic_fetch_add_explicit(&st->enospc_reserve, 1, memory_order_relaxed);
	else
		atomic_fetch_add_explicit(&st->enospc_limit, 1, memory_order_relaxed);
	return -ENOSPC;
}

static int put(struct zu_store *st, const void *data, size_t len, bool may_commit,
	       uint64_t *handle)
{
	struct lane *ln = &st->lane[LANE_PUT];
	int64_t off;

	pthread_mutex_lock(&ln->lock);
	off = lane_alloc(st, LANE_PUT, len, may_commit ? GS_COMMIT : 0);
	pthread_mutex_unlock(&ln->lock);
	if (off < 0)
		return refused(st, off);
	memcpy(st->base + off, data, len);
	count_page(st, len, 1);
	*handle = make_handle((uint64_t)off, len);
	return 0;
}

static int put_compressed(struct zu_store *st, const void *data, size_t len,
			  bool may_commit, uint64_t *handle)
{
	if (len == 0)
		return -EINVAL;
	if (len > ZU_STORE_MAX_COMPRESSED)
		return -E2BIG;
	return put(st, data, len, may_commit, handle);
}

int zu_store_put(struct zu_store *st, const void *data, size_t len, uint64_t *handle)
{
	return put_compressed(st, data, len, false, handle);
}

int zu_store_put_raw(struct zu_store *st, const void *page, uint64_t *handle)
{
	return put(st, page, ZT_PAGE_SIZE, false, handle);
}

int zu_store_put_last(struct zu_store *st, const void *data, size_t len, uint64_t *handle)
{
	return put_compressed(st, data, len, true, handle);
}

int zu_store_put_raw_last(struct zu_store *st, const void *page, uint64_t *handle)
{
	return put(st, page, ZT_PAGE_SIZE, true, handle);
}

const void *zu_store_data(struct zu_store *st, uint64_t handle, size_t *len)
{
	if (len)
		*len = zu_store_handle_len(handle);
	return st->base + handle_off(handle);
}

void zu_store_free(struct zu_store *st, uint64_t handle)
{
	size_t len = zu_store_handle_len(handle);
	uint32_t s = (uint32_t)(handle_off(handle) / SEG);
	uint64_t v = atomic_fetch_sub(&hdr(st, s)->lw, len) - len;

	count_page(st, len, -1);
	if (v == SEALED)
		release_seg(st, s);
	else if (v == 0)
		drop_open(st, s);
}

/* ---- the reserve ------------------------------------------------------------------------ */

int zu_store_refill(struct zu_store *st)
{
	int n = 0;

	if (st->upfront)
		return 0;
	for (;;) {
		uint32_t s = st->max_segs;

		pthread_mutex_lock(&st->seg_lock);
		if (st->nspare < reserve_goal(st))
			s = claim_seg_locked(st);
		pthread_mutex_unlock(&st->seg_lock);
		if (s == st->max_segs)
			break;                /* full, or at the limit */
		if (!map_seg(st, s)) {
			pthread_mutex_lock(&st->seg_lock);
			unclaim_seg_locked(st, s);
			pthread_mutex_unlock(&st->seg_lock);
			return n ? n : -ENOMEM;
		}
		pthread_mutex_lock(&st->seg_lock);
		st->spare[st->nspare++] = s;
		pthread_mutex_unlock(&st->seg_lock);
		atomic_fetch_add_explicit(&st->refilled, 1, memory_order_relaxed);
		n++;
	}
	trim_to(st, keep_max(st));
	return n;
}

int zu_store_reserve(struct zu_store *st, uint32_t target, uint32_t low)
{
	int ret;

	if (target == 0 || low > target || st->reserve_mode)
		return -EINVAL;
	if (target > st->max_segs)
		target = st->max_segs;
	if (low > target)
		low = target;
	pthread_mutex_lock(&st->seg_lock);
	st->target = target;
	st->low = low;
	st->reserve_mode = true;
	pthread_mutex_unlock(&st->seg_lock);
	ret = zu_store_refill(st);
	return ret < 0 ? ret : 0;
}

/* Every segment committed and on the spare stack, lowest on top: from
 * here on put only pops and free only pushes. */
static void all_spare(struct zu_store *st)
{
	pthread_mutex_lock(&st->seg_lock);
	st->nspare = 0;
	for (uint32_t s = 0; s < st->max_segs; s++) {
		bit_set(st->committed, s);
		st->spare[st->nspare++] = st->max_segs - 1 - s;
	}
	st->low_free = st->max_segs;
	st->target = st->max_segs;
	st->low = 0;
	st->reserve_mode = true;
	st->upfront = true;
	atomic_store(&st->ncommitted, st->max_segs);
	pthread_mutex_unlock(&st->seg_lock);
}

/* Commit the whole arena in one populated mapping (locked under the
 * server's mlockall): nothing is ever mapped or unmapped again. */
int zu_store_commit_all(struct zu_store *st)
{
	size_t bytes = (size_t)st->max_segs * SEG;
	volatile unsigned char *p;

	if (st->reserve_mode || atomic_load(&st->ncommitted) || atomic_load(&st->nused))
		return -EINVAL;
	p = mmap(st->base, bytes, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	for (size_t off = 0; off < bytes; off += ZT_PAGE_SIZE)
		p[off] = 0;           /* real pages, even without mlockall */
	all_spare(st);
	return 0;
}

/* ---- in a caller's region (state.h) ------------------------------------------------- */

/* The caller mapped and populated the arena (MAP_SHARED): upfront mode
 * with nothing to map.  Nothing is written to the arena here: a fresh
 * (zeroed) arena has no segment header, and an attach first adopts. */
struct zu_store *zu_store_create_in(void *arena, uint64_t bytes)
{
	struct zu_store *st = arena ? store_new(bytes, arena) : NULL;

	if (!st)
		return NULL;
	st->adopt_live = calloc(st->max_segs, sizeof(uint32_t));
	if (!st->adopt_live) {
		zu_store_destroy(st);
		errno = ENOMEM;
		return NULL;
	}
	all_spare(st);
	return st;
}

/* A handle is adoptable if it lies wholly in the data of a segment whose
 * header is one of ours and covers it (top).  Read-only. */
int zu_store_adopt(struct zu_store *st, uint64_t handle)
{
	uint64_t off = handle_off(handle), len = zu_store_handle_len(handle);
	uint32_t s = (uint32_t)(off / SEG);
	const struct seg_hdr *h;

	if (!st->adopt_live || off >= (uint64_t)st->max_segs * SEG)
		return -EUCLEAN;
	h = hdr(st, s);
	if (off % SEG < HDR_BYTES || h->magic != SEG_MAGIC || h->top > SEG ||
	    off % SEG + len > h->top || st->adopt_live[s] + len > SEG_DATA)
		return -EUCLEAN;
	st->adopt_live[s] += (uint32_t)len;
	count_page(st, len, 1);   /* process counters: dropped with a refusal */
	return 0;
}

/* One segment after adoption: sealed with the live bytes the table names
 * (what a dead thread added or subtracted is gone), or free. */
static void adopt_seg(struct zu_store *st, uint32_t s)
{
	struct seg_hdr *h = hdr(st, s);
	uint32_t live = st->adopt_live[s];

	if (!live) {
		h->magic = 0;
		atomic_store_explicit(&h->lw, 0, memory_order_relaxed);
		st->spare[st->nspare++] = s;
		return;
	}
	h->lane = LANE_PUT;
	atomic_store_explicit(&h->lw, live | SEALED, memory_order_relaxed);
	bit_set(st->inuse, s);
	atomic_fetch_add_explicit(&st->nused, 1, memory_order_relaxed);
}

void zu_store_adopt_commit(struct zu_store *st)
{
	if (!st->adopt_live)
		return;
	pthread_mutex_lock(&st->seg_lock);
	st->nspare = 0;
	for (uint32_t s = st->max_segs; s > 0; s--)
		adopt_seg(st, s - 1);
	pthread_mutex_unlock(&st->seg_lock);
	free(st->adopt_live);
	st->adopt_live = NULL;
}

/* ---- compaction ---------------------------------------------------------------------- */

struct scan {
	uint64_t cnt[BUCKETS], holes[BUCKETS], total_holes;
};

static uint32_t bucket_of(uint64_t live)
{
	uint64_t b = live * BUCKETS / SEG_DATA;

	return b < BUCKETS ? (uint32_t)b : BUCKETS - 1;
}

/* A sealed segment with pages that is not a victim yet. */
static bool candidate(uint64_t v)
{
	return (v & (SEALED | VICTIM)) == SEALED && (v & LIVE_MASK);
}

/* Next in-use segment at or after s, or max_segs (seg_lock held). */
static uint32_t next_inuse(const struct zu_store *st, uint32_t s)
{
	for (uint32_t w = s / 64; w < (st->max_segs + 63) / 64; w++) {
		uint64_t bits = st->inuse[w] & (w == s / 64 ? ~UINT64_C(0) << (s % 64) : ~UINT64_C(0));

		if (bits)
			return w * 64 + (uint32_t)__builtin_ctzll(bits);
	}
	return st->max_segs;
}

/* Holes per utilization sixteenth over the sealed segments (seg_lock held:
 * in-use segments stay mapped while it is). */
static void scan_locked(struct zu_store *st, struct scan *sc)
{
	for (uint32_t s = next_inuse(st, 0); s < st->max_segs; s = next_inuse(st, s + 1)) {
		uint64_t v = atomic_load_explicit(&hdr(st, s)->lw, memory_order_relaxed);
		uint64_t live = v & LIVE_MASK;

		if (!candidate(v))
			continue;
		sc->cnt[bucket_of(live)]++;
		sc->holes[bucket_of(live)] += SEG_DATA - live;
		sc->total_holes += SEG_DATA - live;
	}
}

/* Evacuate the sixteenths below the returned one, emptiest first: enough
 * to take back the holes beyond 1/20 of the data (all if forced), once
 * they pass 1/10 of it plus a segment.  Never the fullest sixteenth: its
 * segments give back less than 1/16 each.  0: nothing worth a walk.  The
 * gap between 1/10 and 1/20 is what keeps copying cheap: tighter figures
 * moved 10 pages per page overwritten in the churn test, these move ~2. */
static uint32_t cut_of(const struct scan *sc, uint64_t live, bool force)
{
	uint64_t want, got = 0;
	uint32_t b;

	if (force)
		want = sc->total_holes;
	else if (sc->total_holes <= live / COMPACT_START + SEG)
		return 0;
	else
		want = sc->total_holes - live / COMPACT_GOAL;
	for (b = 0; b < BUCKETS - 1 && got < want; b++)
		got += sc->holes[b];
	return got >= SEG_DATA ? b : 0;
}

/* Flag s as a victim if it still qualifies and its pages fit in budget:
 * nobody releases it until the pass is done with it, so its bytes stay
 * readable and are never reused meanwhile.  Its live bytes, or 0. */
static uint64_t mark_victim(struct zu_store *st, uint32_t s, uint32_t cut, uint64_t budget)
{
	_Atomic uint64_t *lw = &hdr(st, s)->lw;
	uint64_t v = atomic_load(lw);

	while (candidate(v) && bucket_of(v & LIVE_MASK) < cut && (v & LIVE_MASK) <= budget)
		if (atomic_compare_exchange_weak(lw, &v, v | VICTIM))
			return v & LIVE_MASK;
	return 0;
}

/* Room the moves may use: the move lane's open segment and every segment
 * that can still be had (the pass frees victims only after their pages
 * moved). */
static uint64_t move_budget(struct zu_store *st)
{
	struct lane *ln = &st->lane[LANE_MOVE];
	uint64_t room = 0;

	pthread_mutex_lock(&ln->lock);
	if (ln->seg != NO_SEG)
		room = SEG - hdr(st, ln->seg)->top;
	pthread_mutex_unlock(&ln->lock);
	pthread_mutex_lock(&st->seg_lock);
	room += free_segs_locked(st) * (SEG_DATA - ZT_PAGE_SIZE);
	pthread_mutex_unlock(&st->seg_lock);
	return room;
}

static uint32_t pick_victims(struct zu_store *st, bool force)
{
	struct scan sc = { { 0 }, { 0 }, 0 };
	uint64_t live = atomic_load(&st->live), budget = move_budget(st), got;
	uint32_t cut, s;

	st->nvictims = 0;
	pthread_mutex_lock(&st->seg_lock);
	scan_locked(st, &sc);
	cut = cut_of(&sc, live, force);
	for (s = next_inuse(st, 0); cut && s < st->max_segs && st->nvictims < MAX_VICTIMS;
	     s = next_inuse(st, s + 1))
		if ((got = mark_victim(st, s, cut, budget))) {
			st->victims[st->nvictims++] = s;
			bit_set(st->victim, s);
			budget -= got;
		}
	pthread_mutex_unlock(&st->seg_lock);
	return st->nvictims;
}

/* A victim whose pages all moved goes back now, so the moves can use it
 * (it leaves the victim bitmap first: stale handles into it are ignored). */
static void victim_done(struct zu_store *st, uint32_t s)
{
	bit_clear(st->victim, s);
	if ((atomic_fetch_and(&hdr(st, s)->lw, ~VICTIM) & ~VICTIM) == SEALED) {
		release_seg(st, s);
		atomic_fetch_add_explicit(&st->freed_segs, 1, memory_order_relaxed);
	}
}

/* Copy one page out of a victim, then let the table's owner publish the
 * copy; the copy is freed instead if the page changed meanwhile.  The
 * move lane may commit: this is the housekeeper, never a queue thread. */
static void move_one(struct zu_store *st, uint64_t pgno, uint64_t h)
{
	size_t len = zu_store_handle_len(h);
	struct lane *ln = &st->lane[LANE_MOVE];
	int64_t off;
	uint64_t nh;

	/* The walk read the entry that published h (a release store by the
	 * writer): see the bytes the writer copied in before it. */
	atomic_thread_fence(memory_order_acquire);
	pthread_mutex_lock(&ln->lock);
	off = lane_alloc(st, LANE_MOVE, len, GS_COMMIT | GS_CLEANER);
	pthread_mutex_unlock(&ln->lock);
	if (off < 0) {
		st->pass_err = -ENOSPC;
		return;
	}
	memcpy(st->base + off, st->base + handle_off(h), len);
	count_page(st, len, 1);
	nh = make_handle((uint64_t)off, len);
	if (st->mover.relocate(st->mover.ctx, pgno, h, nh)) {
		uint32_t s = (uint32_t)(handle_off(h) / SEG);

		zu_store_free(st, h);
		if ((atomic_load(&hdr(st, s)->lw) & LIVE_MASK) == 0)
			victim_done(st, s);
		st->pass_moved++;
		atomic_fetch_add_explicit(&st->moved_bytes, len, memory_order_relaxed);
	} else {
		zu_store_free(st, nh);
		atomic_fetch_add_explicit(&st->raced, 1, memory_order_relaxed);
	}
}

/* The walk's visitor: only handles inside this pass's victims move (a
 * stale handle elsewhere may name a segment already unmapped). */
static void visit(struct zu_store *st, uint64_t pgno, uint64_t handle)
{
	uint64_t off = handle_off(handle);

	if (st->pass_err || off >= (uint64_t)st->max_segs * SEG ||
	    !bit_test(st->victim, (uint32_t)(off / SEG)))
		return;
	move_one(st, pgno, handle);
}

/* End of a pass: victims that were emptied go back. */
static void unmark_victims(struct zu_store *st)
{
	for (uint32_t i = 0; i < st->nvictims; i++)
		if (bit_test(st->victim, st->victims[i]))
			victim_done(st, st->victims[i]);
	st->nvictims = 0;
}

int zu_store_compact(struct zu_store *st, bool force)
{
	int ret = 0;

	if (!st->has_mover)
		return -EINVAL;
	pthread_mutex_lock(&st->compact_lock);
	if (pick_victims(st, force)) {
		st->pass_moved = 0;
		st->pass_err = 0;
		st->mover.walk(st->mover.ctx, st, visit);
		unmark_victims(st);
		atomic_fetch_add_explicit(&st->moved_pages, st->pass_moved, memory_order_relaxed);
		if (st->pass_moved)
			atomic_fetch_add_explicit(&st->compactions, 1, memory_order_relaxed);
		ret = st->pass_moved ? (int)st->pass_moved : st->pass_err;
	}
	pthread_mutex_unlock(&st->compact_lock);
	return ret;
}

int zu_store_set_mover(struct zu_store *st, const struct zu_store_mover *m)
{
	if (!m || !m->walk || !m->relocate || st->hk_running)
		return -EINVAL;
	pthread_mutex_lock(&st->compact_lock);
	st->mover = *m;
	st->has_mover = true;
	pthread_mutex_unlock(&st->compact_lock);
	return 0;
}

/* Worth a pass (seg_lock held; a cheap guess, the pass checks exactly):
 * 1 when the free room in the segments in use passes 1/10 of the data plus
 * the open segments; 2 (any hole) when the store is nearly full and holes
 * are all the room left. */
static int compact_due_locked(struct zu_store *st)
{
	uint64_t live = atomic_load_explicit(&st->live, memory_order_relaxed);
	uint64_t room = atomic_load_explicit(&st->nused, memory_order_relaxed) * SEG_DATA;

	if (!st->has_mover || room <= live + 3 * SEG)
		return 0;
	if (room - live > live / COMPACT_START + 3 * SEG)
		return 1;
	return free_segs_locked(st) < 2 ? 2 : 0;
}

/* ---- the housekeeper ---------------------------------------------------------------------- */

static void hk_wait_locked(struct zu_store *st)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += HK_WAIT_S;
	pthread_cond_timedwait(&st->hk_cond, &st->seg_lock, &t);
}

/* One round: refill or trim the reserve, then one compaction pass if due.
 * True if it did something (the next round follows without waiting). */
static bool hk_round(struct zu_store *st, int due)
{
	int n = zu_store_refill(st), m = 0;

	if (due)
		m = zu_store_compact(st, due == 2);
	return n > 0 || m > 0;
}

/* The housekeeper: sleeps on hk_cond (at most HK_WAIT_S) until put/free
 * signal that the reserve fell below its low mark (or spares piled up),
 * then refills, trims and compacts with seg_lock dropped: it may wait in
 * reclaim while faulting a segment in, and the queue threads never wait
 * for it. */
static void *housekeeper(void *arg)
{
	struct zu_store *st = arg;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	/* Its faults must never reclaim by writing to this very device: a
	 * refill that swapped out to us would wait for a server that waits for
	 * the refill (the deadlock of a swap store without upfront commit). */
	prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0);
	pthread_mutex_lock(&st->seg_lock);
	while (!st->hk_stop) {
		int due = compact_due_locked(st);
		bool progress;

		if (!hk_has_work_locked(st) && !due) {
			hk_wait_locked(st);
			continue;
		}
		pthread_mutex_unlock(&st->seg_lock);
		progress = hk_round(st, due);
		pthread_mutex_lock(&st->seg_lock);
		if (!progress && !st->hk_stop)
			hk_wait_locked(st);   /* no progress: do not spin */
	}
	pthread_mutex_unlock(&st->seg_lock);
	return NULL;
}

int zu_store_housekeeper_start(struct zu_store *st)
{
	pthread_attr_t attr;
	int ret;

	if (!st->reserve_mode || st->hk_running || (st->upfront && !st->has_mover))
		return -EINVAL;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, HK_STACK);
	ret = -pthread_create(&st->hk, &attr, housekeeper, st);
	pthread_attr_destroy(&attr);
	if (ret)
		return ret;
	pthread_setname_np(st->hk, "ztier-store");
	pthread_mutex_lock(&st->seg_lock);
	st->hk_running = true;
	pthread_mutex_unlock(&st->seg_lock);
	return 0;
}

/* ---- stats ------------------------------------------------------------------------------ */

void zu_store_stats(struct zu_store *st, struct zu_store_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->pages = atomic_load(&st->pages);
	out->raw_pages = atomic_load(&st->raw_pages);
	out->data_bytes = atomic_load(&st->live);
	out->arena_bytes = atomic_load(&st->ncommitted) * SEG;
	out->in_use_bytes = atomic_load(&st->nused) * SEG;
	out->limit_bytes = (uint64_t)st->max_segs * SEG;
	out->meta_bytes = sizeof(*st) + (st->max_segs + 63) / 64 * 8 * 3 +
			  (uint64_t)st->max_segs * 4 + MAX_VICTIMS * 4;
	out->chunks_released = atomic_load(&st->released);
	pthread_mutex_lock(&st->seg_lock);
	out->spare_bytes = (uint64_t)st->nspare * SEG;
	out->reserve_target_bytes = st->reserve_mode ? (uint64_t)reserve_goal(st) * SEG : 0;
	pthread_mutex_unlock(&st->seg_lock);
	out->chunks_refilled = atomic_load(&st->refilled);
	out->enospc_reserve = atomic_load(&st->enospc_reserve);
	out->enospc_limit = atomic_load(&st->enospc_limit);
	out->enospc = out->enospc_reserve + out->enospc_limit;
	out->compactions = atomic_load(&st->compactions);
	out->compact_pages = atomic_load(&st->moved_pages);
	out->compact_bytes = atomic_load(&st->moved_bytes);
	out->compact_freed_bytes = atomic_load(&st->freed_segs) * SEG;
	out->compact_raced = atomic_load(&st->raced);
}

uint64_t zu_store_arena_bytes(const struct zu_store *st)
{
	return atomic_load_explicit(&((struct zu_store *)st)->ncommitted,
				    memory_order_relaxed) * SEG;
}
