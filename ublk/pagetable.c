/*
 * pagetable.c — sparse, lock-free-on-the-I/O-path page table (design in
 * pagetable.h).
 *
 * Everything below the root is a "block": 512 _Atomic uint64_t words, 4 KiB.
 * A leaf's words are page entries; a mid's words are slot words
 * (refs << 32 | leaf id).  A free block keeps the id of the next free block
 * in its word 0 (the rest stays zero), so a block handed out is all zero
 * once word 0 is cleared.
 *
 * Pool chunks are never unmapped while the table lives, so a thread that
 * read a stale "next" from a block someone else just took reads valid
 * memory; the tag in the stack head makes its CAS fail.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "ublk/pagetable.h"

#define BLOCK_WORDS   512u
#define BLOCK_BYTES   (BLOCK_WORDS * 8u)
#define LEAF_SHIFT    9                       /* pages per leaf: 512      */
#define MID_SHIFT     (LEAF_SHIFT + 9)        /* pages per mid: 2^18      */
#define CHUNK_BLOCKS  512u                    /* 2 MiB pool chunks        */
#define ID_MASK       UINT64_C(0xffffffff)
#define REF_ONE       (UINT64_C(1) << 32)
#define MAX_NPAGES    (UINT64_C(1) << 40)     /* ids stay below 2^32      */

typedef _Atomic uint64_t word_t;

struct zu_pt {
	uint64_t npages;
	uint32_t nmids;                 /* root length                        */
	uint32_t max_chunks;
	uint64_t max_blocks;
	_Atomic uint32_t *root;         /* mid ids                            */
	unsigned char **chunks;         /* chunk i maps blocks i*512+1 ...    */
	_Atomic uint32_t nchunks;
	_Atomic uint64_t free_head;     /* tag << 32 | first free block id    */
	_Atomic uint64_t blocks_used;
	uint64_t pool_bytes;            /* under grow_lock                    */
	pthread_mutex_t grow_lock;
	unsigned char *region;          /* root + blocks in a caller's region,
	                                   or NULL: our own mmaps              */
};

/* ---- the block pool -------------------------------------------------------- */

static word_t *block(const struct zu_pt *pt, uint32_t id)
{
	uint32_t i = id - 1;

	return (word_t *)(pt->chunks[i / CHUNK_BLOCKS] +
			  (size_t)(i % CHUNK_BLOCKS) * BLOCK_BYTES);
}

static void push_block(struct zu_pt *pt, uint32_t id)
{
	word_t *b = block(pt, id);
	uint64_t head = atomic_load_explicit(&pt->free_head, memory_order_relaxed);
	uint64_t next;

	do {
		atomic_store_explicit(&b[0], head & ID_MASK, memory_order_relaxed);
		next = ((head >> 32) + 1) << 32 | id;
	} while (!atomic_compare_exchange_weak_explicit(&pt->free_head, &head, next,
							memory_order_release,
							memory_order_relaxed));
}

static uint32_t blocks_in_chunk(const struct zu_pt *pt, uint32_t c)
{
	uint64_t left = pt->max_blocks - (uint64_t)c * CHUNK_BLOCKS;

	return left < CHUNK_BLOCKS ? (uint32_t)left : CHUNK_BLOCKS;
}

/* Map one more chunk and put its blocks on the free stack. */
static int grow_locked(struct zu_pt *pt)
{
	uint32_t c = atomic_load_explicit(&pt->nchunks, memory_order_relaxed);
	uint32_t n, i;
	void *p;

	if (c >= pt->max_chunks || pt->region)
		return -ENOMEM;
	n = blocks_in_chunk(pt, c);
	p = mmap(NULL, (size_t)n * BLOCK_BYTES, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	pt->chunks[c] = p;
	pt->pool_bytes += (uint64_t)n * BLOCK_BYTES;
	atomic_store_explicit(&pt->nchunks, c + 1, memory_order_release);
	for (i = n; i > 0; i--)
		push_block(pt, c * CHUNK_BLOCKS + i);
	return 0;
}

static int grow(struct zu_pt *pt)
{
	int err = 0;

	pthread_mutex_lock(&pt->grow_lock);
	if (!(atomic_load_explicit(&pt->free_head, memory_order_acquire) & ID_MASK))
		err = grow_locked(pt);
	pthread_mutex_unlock(&pt->grow_lock);
	return err;
}

/* A zeroed block id, or 0 when the pool cannot grow. */
static uint32_t pop_block(struct zu_pt *pt)
{
	uint64_t head = atomic_load_explicit(&pt->free_head, memory_order_acquire);
	uint64_t next;
	uint32_t id;

	for (;;) {
		id = (uint32_t)(head & ID_MASK);
		if (!id) {
			if (grow(pt))
				return 0;
			head = atomic_load_explicit(&pt->free_head, memory_order_acquire);
			continue;
		}
		next = atomic_load_explicit(&block(pt, id)[0], memory_order_relaxed);
		next = ((head >> 32) + 1) << 32 | (next & ID_MASK);
		if (atomic_compare_exchange_weak_explicit(&pt->free_head, &head, next,
							  memory_order_acquire,
							  memory_order_acquire))
			break;
	}
	atomic_store_explicit(&block(pt, id)[0], 0, memory_order_relaxed);
	atomic_fetch_add_explicit(&pt->blocks_used, 1, memory_order_relaxed);
	return id;
}

static void free_block(struct zu_pt *pt, uint32_t id)
{
	atomic_fetch_sub_explicit(&pt->blocks_used, 1, memory_order_relaxed);
	push_block(pt, id);
}

int zu_pt_reserve(struct zu_pt *pt, size_t nblocks)
{
	int err = 0;

	pthread_mutex_lock(&pt->grow_lock);
	while (!err && pt->pool_bytes / BLOCK_BYTES -
		       atomic_load_explicit(&pt->blocks_used, memory_order_relaxed) < nblocks)
		err = grow_locked(pt);
	pthread_mutex_unlock(&pt->grow_lock);
	return err;
}

size_t zu_pt_free_blocks(struct zu_pt *pt)
{
	uint64_t mapped;

	pthread_mutex_lock(&pt->grow_lock);
	mapped = pt->pool_bytes / BLOCK_BYTES;
	pthread_mutex_unlock(&pt->grow_lock);
	return (size_t)(mapped - atomic_load_explicit(&pt->blocks_used, memory_order_relaxed));
}

/* ---- create / destroy -------------------------------------------------------- */

/* Root length and the most blocks the table can ever hold. */
static void geometry(uint64_t npages, uint32_t *nmids, uint64_t *max_blocks)
{
	uint64_t leaves = (npages + BLOCK_WORDS - 1) >> LEAF_SHIFT;

	*nmids = (uint32_t)((npages + (UINT64_C(1) << MID_SHIFT) - 1) >> MID_SHIFT);
	/* Slack for blocks briefly held by threads that lost an install race. */
	*max_blocks = leaves + *nmids + 256;
}

/* The struct and its geometry; root and chunks are the caller's to set. */
static struct zu_pt *pt_new(uint64_t npages)
{
	struct zu_pt *pt;

	if (npages == 0 || npages > MAX_NPAGES) {
		errno = EINVAL;
		return NULL;
	}
	pt = calloc(1, sizeof(*pt));
	if (!pt)
		return NULL;
	pt->npages = npages;
	geometry(npages, &pt->nmids, &pt->max_blocks);
	pt->max_chunks = (uint32_t)((pt->max_blocks + CHUNK_BLOCKS - 1) / CHUNK_BLOCKS);
	pt->chunks = calloc(pt->max_chunks, sizeof(*pt->chunks));
	pthread_mutex_init(&pt->grow_lock, NULL);
	if (!pt->chunks) {
		zu_pt_destroy(pt);
		errno = ENOMEM;
		return NULL;
	}
	return pt;
}

struct zu_pt *zu_pt_create(uint64_t npages, size_t prealloc_bytes)
{
	struct zu_pt *pt = pt_new(npages);

	if (!pt)
		return NULL;
	pt->root = calloc(pt->nmids, sizeof(*pt->root));
	if (!pt->root || zu_pt_reserve(pt, prealloc_bytes / BLOCK_BYTES) < 0) {
		zu_pt_destroy(pt);
		errno = ENOMEM;
		return NULL;
	}
	return pt;
}

void zu_pt_destroy(struct zu_pt *pt)
{
	uint32_t c;

	if (!pt)
		return;
	for (c = 0; !pt->region && c < atomic_load(&pt->nchunks); c++)
		munmap(pt->chunks[c], (size_t)blocks_in_chunk(pt, c) * BLOCK_BYTES);
	pthread_mutex_destroy(&pt->grow_lock);
	free(pt->chunks);
	if (!pt->region)
		free(pt->root);
	free(pt);
}

uint64_t zu_pt_npages(const struct zu_pt *pt)
{
	return pt->npages;
}

/* ---- walking down: mids and pinned leaves --------------------------------------- */

/* The mid for idx, made if create; NULL if absent (or no memory: *err). */
static word_t *get_mid(struct zu_pt *pt, uint64_t idx, bool create, int *err)
{
	_Atomic uint32_t *slot = &pt->root[idx >> MID_SHIFT];
	uint32_t id = atomic_load_explicit(slot, memory_order_acquire);
	uint32_t mine, expect = 0;

	if (id)
		return block(pt, id);
	if (!create) {
		*err = -ENOENT;
		return NULL;
	}
	mine = pop_block(pt);
	if (!mine) {
		*err = -ENOMEM;
		return NULL;
	}
	if (atomic_compare_exchange_strong_explicit(slot, &expect, mine,
						    memory_order_acq_rel,
						    memory_order_acquire))
		return block(pt, mine);
	free_block(pt, mine);
	return block(pt, expect);
}

static word_t *slot_word(struct zu_pt *pt, word_t *mid, uint64_t idx)
{
	(void)pt;
	return &mid[(idx >> LEAF_SHIFT) & (BLOCK_WORDS - 1)];
}

/* Drop one pin and account delta entries; frees the leaf at refs 0. */
static void unpin(struct zu_pt *pt, word_t *sw, int delta)
{
	uint64_t w = atomic_load_explicit(sw, memory_order_relaxed);
	uint64_t refs, next;

	do {
		refs = (w >> 32) - 1 + (uint64_t)(int64_t)delta;
		next = refs ? (refs << 32 | (w & ID_MASK)) : 0;
	} while (!atomic_compare_exchange_weak_explicit(sw, &w, next,
							memory_order_acq_rel,
							memory_order_relaxed));
	if (!refs && (w & ID_MASK))
		free_block(pt, (uint32_t)(w & ID_MASK));
}

/* Install a fresh leaf into a pinned slot word that has none (or find the
 * one another thread installed first). */
static word_t *install_leaf(struct zu_pt *pt, word_t *sw, int *err)
{
	uint32_t mine = pop_block(pt);
	uint64_t w = atomic_load_explicit(sw, memory_order_acquire);

	if (!mine) {
		*err = -ENOMEM;
		return NULL;
	}
	while (!(w & ID_MASK)) {
		if (atomic_compare_exchange_weak_explicit(sw, &w, w | mine,
							  memory_order_acq_rel,
							  memory_order_acquire))
			return block(pt, mine);
	}
	free_block(pt, mine);
	return block(pt, (uint32_t)(w & ID_MASK));
}

/* Pin the leaf of idx (so it cannot be freed) and return it; creates it
 * when create.  On NULL nothing is pinned and *err says why. */
static word_t *pin_leaf(struct zu_pt *pt, uint64_t idx, bool create,
			word_t **swp, int *err)
{
	word_t *mid = get_mid(pt, idx, create, err), *sw, *leaf;
	uint64_t w;

	if (!mid)
		return NULL;
	sw = slot_word(pt, mid, idx);
	w = atomic_load_explicit(sw, memory_order_acquire);
	do {
		if (!(w & ID_MASK) && !create) {
			*err = -ENOENT;
			return NULL;
		}
	} while (!atomic_compare_exchange_weak_explicit(sw, &w, w + REF_ONE,
							memory_order_acquire,
							memory_order_acquire));
	*swp = sw;
	if (w & ID_MASK)
		return block(pt, (uint32_t)(w & ID_MASK));
	leaf = install_leaf(pt, sw, err);
	if (!leaf)
		unpin(pt, sw, 0);
	return leaf;
}

/* ---- the entry lock ------------------------------------------------------------- */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static uint64_t lock_entry(word_t *e)
{
	uint64_t v = atomic_load_explicit(e, memory_order_relaxed);
	unsigned spins = 0;

	for (;;) {
		if (v & ZU_PTE_LOCK) {
			if (++spins % 64 == 0)
				sched_yield();
			else
				cpu_relax();
			v = atomic_load_explicit(e, memory_order_relaxed);
			continue;
		}
		if (atomic_compare_exchange_weak_explicit(e, &v, v | ZU_PTE_LOCK,
							  memory_order_acquire,
							  memory_order_relaxed))
			return v;
	}
}

int zu_pt_lock(struct zu_pt *pt, uint64_t idx, unsigned flags, uint64_t *cur)
{
	word_t *sw, *leaf;
	int err = 0;

	if (idx >= pt->npages)
		return -ERANGE;
	leaf = pin_leaf(pt, idx, !(flags & ZU_PT_NOCREATE), &sw, &err);
	if (!leaf)
		return err;
	*cur = lock_entry(&leaf[idx & (BLOCK_WORDS - 1)]);
	return 0;
}

static bool stored(uint64_t e)
{
	return zu_pte_tier(e) != ZT_TIER_NONE;
}

void zu_pt_unlock(struct zu_pt *pt, uint64_t idx, uint64_t new_entry)
{
	word_t *mid = block(pt, atomic_load_explicit(&pt->root[idx >> MID_SHIFT],
						     memory_order_acquire));
	word_t *sw = slot_word(pt, mid, idx);
	word_t *leaf = block(pt, (uint32_t)(atomic_load_explicit(sw, memory_order_acquire) &
					    ID_MASK));
	word_t *e = &leaf[idx & (BLOCK_WORDS - 1)];
	uint64_t old = atomic_load_explicit(e, memory_order_relaxed);

	new_entry &= ~ZU_PTE_LOCK;
	if (!stored(new_entry))
		new_entry = ZU_PTE_EMPTY;
	atomic_store_explicit(e, new_entry, memory_order_release);
	unpin(pt, sw, (int)stored(new_entry) - (int)stored(old));
}

uint64_t zu_pt_peek(struct zu_pt *pt, uint64_t idx)
{
	word_t *sw, *leaf;
	uint64_t v;
	int err;

	if (idx >= pt->npages)
		return ZU_PTE_EMPTY;
	leaf = pin_leaf(pt, idx, false, &sw, &err);
	if (!leaf)
		return ZU_PTE_EMPTY;
	v = atomic_load_explicit(&leaf[idx & (BLOCK_WORDS - 1)], memory_order_acquire);
	unpin(pt, sw, 0);
	return v & ~ZU_PTE_LOCK;
}

/* ---- walking everything ---------------------------------------------------------- */

/* Visit one pinned leaf covering pages base..base+511. */
static int visit_leaf(word_t *leaf, uint64_t base, zu_pt_visit_fn fn, void *ctx)
{
	unsigned i;
	int r;

	for (i = 0; i < BLOCK_WORDS; i++) {
		uint64_t v = atomic_load_explicit(&leaf[i], memory_order_acquire) &
			     ~ZU_PTE_LOCK;

		if (stored(v) && (r = fn(ctx, base + i, v)))
			return r;
	}
	return 0;
}

int zu_pt_foreach(struct zu_pt *pt, zu_pt_visit_fn fn, void *ctx)
{
	uint64_t base;
	int r = 0;

	for (base = 0; base < pt->npages && !r; base += BLOCK_WORDS) {
		word_t *sw, *leaf;
		int err;

		if (!atomic_load_explicit(&pt->root[base >> MID_SHIFT], memory_order_acquire)) {
			base += (UINT64_C(1) << MID_SHIFT) - BLOCK_WORDS;
			continue;
		}
		leaf = pin_leaf(pt, base, false, &sw, &err);
		if (!leaf)
			continue;
		r = visit_leaf(leaf, base, fn, ctx);
		unpin(pt, sw, 0);
	}
	return r;
}

static int count_entry(void *ctx, uint64_t idx, uint64_t e)
{
	struct zu_pt_stats *s = ctx;

	(void)idx;
	s->pages[zu_pte_tier(e) < ZT_TIER_COUNT ? zu_pte_tier(e) : ZT_TIER_NONE]++;
	s->stored++;
	return 0;
}

void zu_pt_stats(struct zu_pt *pt, struct zu_pt_stats *out)
{
	uint64_t used, r;

	*out = (struct zu_pt_stats){ 0 };
	zu_pt_foreach(pt, count_entry, out);
	for (r = 0; r < pt->nmids; r++)
		out->mids += atomic_load_explicit(&pt->root[r], memory_order_relaxed) != 0;
	used = atomic_load_explicit(&pt->blocks_used, memory_order_relaxed);
	out->leaves = used - out->mids;
	pthread_mutex_lock(&pt->grow_lock);
	out->pool_bytes = pt->pool_bytes;
	pthread_mutex_unlock(&pt->grow_lock);
	out->free_blocks = out->pool_bytes / BLOCK_BYTES - used;
	out->meta_bytes = sizeof(*pt) + pt->nmids * sizeof(*pt->root) +
			  pt->max_chunks * sizeof(*pt->chunks) + used * BLOCK_BYTES;
}

uint64_t zu_pt_meta_bytes(const struct zu_pt *pt)
{
	uint64_t used = atomic_load_explicit(&((struct zu_pt *)pt)->blocks_used,
					     memory_order_relaxed);

	return sizeof(*pt) + pt->nmids * sizeof(*pt->root) +
	       pt->max_chunks * sizeof(*pt->chunks) + used * BLOCK_BYTES;
}

/* ---- in a caller's region (state.h) ----------------------------------------------- */

/* Region layout: the root (32-bit mid ids, padded to a block), then every
 * block the table can ever use, so block id i is at a fixed offset and the
 * pool never grows.  Free-stack links live in the free blocks themselves,
 * but the stack head is process memory: an attach rebuilds the stack. */
static size_t root_bytes(uint32_t nmids)
{
	return ((size_t)nmids * sizeof(uint32_t) + BLOCK_BYTES - 1) / BLOCK_BYTES * BLOCK_BYTES;
}

size_t zu_pt_region_bytes(uint64_t npages)
{
	uint32_t nmids;
	uint64_t max_blocks;

	if (npages == 0 || npages > MAX_NPAGES)
		return 0;
	geometry(npages, &nmids, &max_blocks);
	return root_bytes(nmids) + (size_t)max_blocks * BLOCK_BYTES;
}

/* A table whose root and blocks are area (nothing written to it). */
static struct zu_pt *pt_in(void *area, size_t len, uint64_t npages)
{
	size_t need = zu_pt_region_bytes(npages);
	struct zu_pt *pt;

	if (!need || len < need) {
		errno = EINVAL;
		return NULL;
	}
	pt = pt_new(npages);
	if (!pt)
		return NULL;
	pt->region = area;
	pt->root = (_Atomic uint32_t *)area;
	for (uint32_t c = 0; c < pt->max_chunks; c++)
		pt->chunks[c] = pt->region + root_bytes(pt->nmids) +
				(size_t)c * CHUNK_BLOCKS * BLOCK_BYTES;
	atomic_store(&pt->nchunks, pt->max_chunks);
	pt->pool_bytes = pt->max_blocks * BLOCK_BYTES;
	return pt;
}

struct zu_pt *zu_pt_create_in(void *area, size_t len, uint64_t npages)
{
	struct zu_pt *pt = pt_in(area, len, npages);

	if (!pt)
		return NULL;
	memset(area, 0, zu_pt_region_bytes(npages));
	for (uint64_t id = pt->max_blocks; id > 0; id--)
		push_block(pt, (uint32_t)id);
	return pt;
}

/* An attach in two passes: check reads only (so a refused region is left
 * as it was), fix writes.  seen: the blocks that the root and mids name. */
struct attach {
	struct zu_pt *pt;
	uint64_t *seen;
	zu_pt_visit_fn check;
	void *ctx;
	uint64_t where;               /* first page of the range found bad */
};

static int claim_id(struct attach *a, uint32_t id, uint64_t where)
{
	a->where = where;
	if (id == 0 || id > a->pt->max_blocks || (a->seen[(id - 1) / 64] >> ((id - 1) % 64) & 1))
		return -EUCLEAN;      /* outside the pool, or named twice */
	a->seen[(id - 1) / 64] |= UINT64_C(1) << ((id - 1) % 64);
	return 0;
}

/* Every entry of a leaf: a valid tier, inside the device, then the
 * caller's check (the entry as last published: LOCK bit clear). */
static int check_leaf(struct attach *a, word_t *leaf, uint64_t base)
{
	for (unsigned i = 0; i < BLOCK_WORDS; i++) {
		uint64_t v = atomic_load_explicit(&leaf[i], memory_order_relaxed) & ~ZU_PTE_LOCK;
		int r;

		a->where = base + i;
		if (!stored(v) && v)
			return -EUCLEAN;  /* unlock never leaves a NONE payload */
		if (!stored(v))
			continue;
		if (base + i >= a->pt->npages || zu_pte_tier(v) >= ZT_TIER_COUNT)
			return -EUCLEAN;
		if ((r = a->check(a->ctx, base + i, v)))
			return r;
	}
	return 0;
}

static int check_mid(struct attach *a, word_t *mid, uint64_t base)
{
	for (unsigned j = 0; j < BLOCK_WORDS; j++) {
		uint32_t id = (uint32_t)(atomic_load_explicit(&mid[j], memory_order_relaxed) &
					 ID_MASK);
		uint64_t lbase = base + ((uint64_t)j << LEAF_SHIFT);
		int r;

		if (!id)
			continue;
		if ((r = claim_id(a, id, lbase)))
			return r;
		if (lbase >= a->pt->npages)
			return -EUCLEAN;
		if ((r = check_leaf(a, block(a->pt, id), lbase)))
			return r;
	}
	return 0;
}

static int check_all(struct attach *a)
{
	for (uint32_t r = 0; r < a->pt->nmids; r++) {
		uint32_t id = atomic_load_explicit(&a->pt->root[r], memory_order_relaxed);
		uint64_t base = (uint64_t)r << MID_SHIFT;
		int err;

		if (id && ((err = claim_id(a, id, base)) || (err = check_mid(a, block(a->pt, id), base))))
			return err;
	}
	return 0;
}

/* A dead writer's lock is dropped: the entry still holds the value it had
 * before the lock (zu_pt_unlock publishes and unlocks in one store).
 * Returns the leaf's stored entries. */
static uint64_t fix_leaf(word_t *leaf)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < BLOCK_WORDS; i++) {
		uint64_t v = atomic_load_explicit(&leaf[i], memory_order_relaxed) & ~ZU_PTE_LOCK;

		atomic_store_explicit(&leaf[i], v, memory_order_relaxed);
		n += stored(v);
	}
	return n;
}

/* Slot words get refs = stored entries (a dead thread's pins are gone);
 * an empty leaf goes back to the pool. */
static void fix_mid(struct attach *a, word_t *mid)
{
	for (unsigned j = 0; j < BLOCK_WORDS; j++) {
		uint32_t id = (uint32_t)(atomic_load_explicit(&mid[j], memory_order_relaxed) &
					 ID_MASK);
		uint64_t n = id ? fix_leaf(block(a->pt, id)) : 0;

		atomic_store_explicit(&mid[j], n ? n << 32 | id : 0, memory_order_relaxed);
		if (id && !n)
			a->seen[(id - 1) / 64] &= ~(UINT64_C(1) << ((id - 1) % 64));
	}
}

/* Blocks nobody names are zeroed (a block popped or freed by a dead
 * thread may hold anything) and go on a new free stack. */
static void fix_all(struct attach *a)
{
	struct zu_pt *pt = a->pt;
	uint64_t used = 0;

	for (uint32_t r = 0; r < pt->nmids; r++) {
		uint32_t id = atomic_load_explicit(&pt->root[r], memory_order_relaxed);

		if (id)
			fix_mid(a, block(pt, id));
	}
	atomic_store(&pt->free_head, 0);
	for (uint64_t id = pt->max_blocks; id > 0; id--) {
		if (a->seen[(id - 1) / 64] >> ((id - 1) % 64) & 1) {
			used++;
			continue;
		}
		memset((void *)block(pt, (uint32_t)id), 0, BLOCK_BYTES);
		push_block(pt, (uint32_t)id);
	}
	atomic_store(&pt->blocks_used, used);
}

int zu_pt_attach_in(void *area, size_t len, uint64_t npages, zu_pt_visit_fn check,
		    void *ctx, struct zu_pt **out, uint64_t *where)
{
	struct attach a = { .pt = pt_in(area, len, npages), .check = check, .ctx = ctx };
	int err;

	if (!a.pt)
		return -errno;
	a.seen = calloc((a.pt->max_blocks + 63) / 64, sizeof(uint64_t));
	err = a.seen ? check_all(&a) : -ENOMEM;
	if (!err)
		fix_all(&a);
	free(a.seen);
	if (where)
		*where = a.where;
	if (err) {
		zu_pt_destroy(a.pt);
		return err;
	}
	*out = a.pt;
	return 0;
}
