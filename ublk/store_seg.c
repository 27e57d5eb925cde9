/*
 * store_seg.c — the store's segments (design in store.h, bookkeeping in
 * store.c): committing, claiming and releasing them, the spare stack, the
 * reserve goal and refills, upfront commit.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>

#include "ublk/store_int.h"

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
uint32_t zus_reserve_goal(const struct zu_store *st)
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
	uint32_t l = (zus_reserve_goal(st) + 1) / 2;

	return l < st->low ? l : st->low;
}

/* Empty segments kept committed (reserve + spares) before unmapping more. */
static uint32_t keep_max(const struct zu_store *st)
{
	return st->reserve_mode ? zus_reserve_goal(st) : SPARE_MAX;
}

static bool can_grow(struct zu_store *st)
{
	return atomic_load_explicit(&st->ncommitted, memory_order_relaxed) < st->max_segs;
}

bool zus_hk_has_work_locked(struct zu_store *st)
{
	if (!st->reserve_mode || st->upfront)
		return false;
	return (st->nspare < reserve_low(st) && can_grow(st)) || st->nspare > keep_max(st);
}

/* Wake the housekeeper, or if it is in a round, make it start the next
 * one at once (seg_lock held): a signal sent while it works is lost, and
 * it would then sleep up to HK_WAIT_S with the work pending (a reading of
 * the figures in that second sees them stale). */
void zus_hk_kick_locked(struct zu_store *st)
{
	st->hk_kick = true;
	pthread_cond_signal(&st->hk_cond);
}

/* Wake the housekeeper if it has something to do (seg_lock held). */
static void hk_wake_locked(struct zu_store *st)
{
	if (st->hk_running && zus_hk_has_work_locked(st))
		zus_hk_kick_locked(st);
}

/* An on-demand arena in a state file (zu_store_on_demand) is mapped
 * shared once and for all: a segment is committed by allocating its
 * range of the file, given back by punching it out.  fallocate, not a
 * touch: a full tmpfs then fails the call, where a write fault would kill
 * the server with SIGBUS; and a punched range reads as zeros (no header),
 * which is what a free segment is. */
static bool file_seg(struct zu_store *st, uint32_t s, bool commit)
{
	int mode = commit ? 0 : FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;

	return fallocate(st->arena_fd, mode, (off_t)(st->arena_off + (uint64_t)s * SEG),
			 SEG) == 0;
}

/* Map segment s read-write and fault every page in; false on failure. */
static bool map_seg(struct zu_store *st, uint32_t s)
{
	volatile unsigned char *p;

	if (st->arena_fd >= 0) {
		if (!file_seg(st, s, true))
			return false;
		atomic_fetch_add_explicit(&st->ncommitted, 1, memory_order_relaxed);
		return true;
	}
	p = mmap(hdr(st, s), SEG, PROT_READ | PROT_WRITE,
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
	if (st->arena_fd >= 0) {
		if (!file_seg(st, s, false))
			return false;
	} else if (mmap(hdr(st, s), SEG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED |
			MAP_NORESERVE, -1, 0) == MAP_FAILED) {
		return false;
	}
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
uint64_t zus_free_segs_locked(struct zu_store *st)
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

	if (zus_free_segs_locked(st) <= keep)
		return -ENOSPC;
	if (st->nspare)
		return st->spare[--st->nspare];
	if (st->upfront)
		return -ENOSPC;
	return may_commit ? COMMIT_ONE : ENOSPC_RESERVE;
}

/* An empty segment for a lane, marked in use. */
int64_t zus_get_segment(struct zu_store *st, unsigned flags)
{
	int64_t s;

	pthread_mutex_lock(&st->seg_lock);
	s = seg_source_locked(st, flags);
	if (st->reserve_mode)
		hk_wake_locked(st);
	if (s < 0 && s != COMMIT_ONE && st->has_mover && st->hk_running)
		zus_hk_kick_locked(st);              /* holes may give room */
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
void zus_release_seg(struct zu_store *st, uint32_t s)
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

/* Unmap spare segments until at most n are left; n = TRIM_KEEP: the
 * reserve goal (keep_max), read again at every step, since it falls while
 * frees run (a goal read once, before a discard of everything ended, kept
 * 32 segments committed with nothing stored). */
#define TRIM_KEEP UINT32_MAX

static int trim_to(struct zu_store *st, uint32_t n)
{
	uint32_t s;
	int err = 0;

	for (;;) {
		pthread_mutex_lock(&st->seg_lock);
		if (st->nspare <= (n == TRIM_KEEP ? keep_max(st) : n)) {
			pthread_mutex_unlock(&st->seg_lock);
			return err;
		}
		s = st->spare[--st->nspare];
		pthread_mutex_unlock(&st->seg_lock);
		if (!unmap_seg(st, s))
			err = -ENOMEM;   /* lost until destroy; counted in arena */
	}
}

/* Reserve mode, the housekeeper (or a compaction pass): unmap the spares
 * beyond the reserve goal now, e.g. victims a pass just emptied, so that
 * memory goes back as a pass frees it, not when it ends. */
void zus_trim_excess(struct zu_store *st)
{
	if (st->reserve_mode && !st->upfront)
		trim_to(st, TRIM_KEEP);
}

int zu_store_trim(struct zu_store *st)
{
	if (st->upfront)
		return 0;
	return trim_to(st, st->reserve_mode ? TRIM_KEEP : 0);
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
		if (st->nspare < zus_reserve_goal(st))
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
	trim_to(st, TRIM_KEEP);
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
void zus_all_spare(struct zu_store *st)
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
	zus_all_spare(st);
	return 0;
}
