/*
 * store.c — segmented compressed page store with a compactor (design in
 * store.h): create and destroy, the lanes, put / get / free, the stats.
 * Segments and the reserve are in store_seg.c, the state region in
 * store_adopt.c, compaction and the housekeeper in store_compact.c.
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
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ublk/store_int.h"

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

struct zu_store *zus_new(uint64_t mem_limit, void *arena)
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
	st->arena_fd = -1;
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
	return zus_new(mem_limit, NULL);
}

void zu_store_housekeeper_stop(struct zu_store *st)
{
	if (!st || !st->hk_running)
		return;
	pthread_mutex_lock(&st->seg_lock);
	st->hk_stop = true;
	pthread_cond_signal(&st->hk_cond);
	pthread_mutex_unlock(&st->seg_lock);
	pthread_join(st->hk, NULL);
	st->hk_running = false;
}

void zu_store_destroy(struct zu_store *st)
{
	if (!st)
		return;
	zu_store_housekeeper_stop(st);
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
	if (st->arena_fd >= 0)
		close(st->arena_fd);
	free(st);
}

/* ---- lanes ---------------------------------------------------------------------------- */

/* Seal a lane's open segment: no page is added to it any more.  If it is
 * already empty, the sealer is the one who releases it. */
static void seal(struct zu_store *st, uint32_t s)
{
	if (atomic_fetch_or(&hdr(st, s)->lw, SEALED) == 0)
		zus_release_seg(st, s);
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
int64_t zus_lane_alloc(struct zu_store *st, unsigned li, size_t len, unsigned flags)
{
	struct lane *ln = &st->lane[li];
	struct seg_hdr *h;
	uint64_t off;

	if (ln->seg == NO_SEG || hdr(st, ln->seg)->top + len > SEG) {
		int64_t s = zus_get_segment(st, flags);

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
			zus_release_seg(st, s);
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

/* The next put lands right after this one, in memory no cache holds: its
 * copy used to wait on those lines, about half the store's cost per page
 * (tests/bench/b_corpus.c, write).  Asked for now, they arrive while the
 * next page is classified and compressed.  Only within this segment. */
#define PREFETCH_NEXT 2048u

static void prefetch_next(const struct zu_store *st, uint64_t end)
{
	uint64_t stop = end + PREFETCH_NEXT;

	if (stop > (end / SEG + 1) * SEG)
		stop = (end / SEG + 1) * SEG;
	for (uint64_t a = end; a < stop; a += 64)
		__builtin_prefetch(st->base + a, 1);
}

static int put(struct zu_store *st, const void *data, size_t len, bool may_commit,
	       uint64_t *handle)
{
	struct lane *ln = &st->lane[LANE_PUT];
	int64_t off;

	pthread_mutex_lock(&ln->lock);
	off = zus_lane_alloc(st, LANE_PUT, len, may_commit ? GS_COMMIT : 0);
	pthread_mutex_unlock(&ln->lock);
	if (off < 0)
		return refused(st, off);
	memcpy(st->base + off, data, len);
	prefetch_next(st, (uint64_t)off + len);
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
		zus_release_seg(st, s);
	else if (v == 0)
		drop_open(st, s);
	else if ((v & (SEALED | VICTIM)) == SEALED && (v & LIVE_MASK) < NUDGE_LIVE &&
		 (v & LIVE_MASK) + len >= NUDGE_LIVE)
		zus_compact_nudge(st);
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
	out->reserve_target_bytes = st->reserve_mode ? (uint64_t)zus_reserve_goal(st) * SEG : 0;
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
