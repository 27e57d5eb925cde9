/*
 * store.c — size-classed compressed page store (design in store.h).
 *
 * Two levels of bookkeeping:
 *   - the arena: max_chunks chunks of ZU_STORE_CHUNK bytes in one reserved
 *     PROT_NONE range.  A chunk is committed by mapping it read-write
 *     (MAP_FIXED|MAP_POPULATE) and released by mapping PROT_NONE over it,
 *     which frees its pages even when the process is mlocked.  A bitmap of
 *     committed chunks (under chunk_lock) always commits the lowest free
 *     chunk, so committed chunks stay packed and adjacent mappings merge
 *     into few VMAs.
 *   - the spare stack: empty committed chunks, the reserve and freed
 *     chunks alike (under chunk_lock).  In reserve mode put only pops it
 *     and free only pushes it; the housekeeper thread maps and unmaps.
 *   - a class: its slot geometry, a list of partly used chunks (linked
 *     through the chunk headers by chunk number + 1) and its counters, all
 *     under the class mutex.  A chunk header and bitmap are only touched
 *     under its class's mutex; slot data is copied outside any lock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <linux/prctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>

#include "ublk/store.h"

#define RAW_CLASS     (ZU_STORE_NCLASSES - 1)
#define CHUNK_MAGIC   0x7a747331u     /* "zts1" */
#define SLOT_BITS     16
#define CHUNK_BITS    28
#define DATA_ALIGN    64u
#define SPARE_MAX     4               /* empty chunks kept committed      */
#define HK_WAIT_S     1               /* housekeeper's bounded wait       */
#define HK_STACK      (64u << 10)

struct chunk_hdr {                    /* at the start of each chunk      */
	uint32_t magic;
	uint16_t cls;
	uint16_t pad;
	uint32_t used;                /* slots in use                    */
	uint32_t hint;                /* first bitmap word worth a look  */
	uint32_t prev, next;          /* partial list: chunk + 1, 0 none */
	uint64_t pad2;
	uint64_t bitmap[];            /* 1 = slot in use                 */
};

struct sclass {
	pthread_mutex_t lock;
	uint32_t size, nslots, data_off;
	uint32_t partial;             /* head of partial list: chunk + 1 */
	uint64_t pages, bytes, chunks;
} __attribute__((aligned(64)));

struct zu_store {
	unsigned char *base;
	uint32_t max_chunks;
	pthread_mutex_t chunk_lock;
	uint64_t *committed;          /* bitmap of committed chunks      */
	uint32_t low_free;            /* no free chunk below this        */
	uint32_t *spare;              /* empty committed chunks: reserve */
	uint32_t nspare;              /* and spares, one stack           */
	uint32_t target, low;         /* reserve mode: refill to target  */
	bool reserve_mode;            /* put never commits, free never unmaps */
	bool hk_running, hk_stop;
	pthread_cond_t hk_cond;       /* with chunk_lock: wakes the housekeeper */
	pthread_t hk;
	_Atomic uint64_t ncommitted, released, enospc, refilled;
	struct sclass cls[ZU_STORE_NCLASSES];
};

/* ---- geometry ------------------------------------------------------------------ */

static uint32_t class_of_len(size_t len)
{
	if (len == ZT_PAGE_SIZE)
		return RAW_CLASS;
	return (uint32_t)((len + ZU_STORE_CLASS_STEP - 1) / ZU_STORE_CLASS_STEP - 1);
}

static uint32_t data_off_for(uint32_t nslots)
{
	uint32_t hdr = (uint32_t)sizeof(struct chunk_hdr) + (nslots + 63) / 64 * 8;

	return (hdr + DATA_ALIGN - 1) / DATA_ALIGN * DATA_ALIGN;
}

static void init_class(struct sclass *c, uint32_t size)
{
	uint32_t n = (ZU_STORE_CHUNK - (uint32_t)sizeof(struct chunk_hdr)) / size;

	while (data_off_for(n) + n * size > ZU_STORE_CHUNK)
		n--;
	c->size = size;
	c->nslots = n;
	c->data_off = data_off_for(n);
	pthread_mutex_init(&c->lock, NULL);
}

static struct chunk_hdr *hdr(const struct zu_store *st, uint32_t chunk)
{
	return (struct chunk_hdr *)(st->base + (size_t)chunk * ZU_STORE_CHUNK);
}

static uint64_t make_handle(uint32_t chunk, uint32_t slot, size_t len)
{
	return (uint64_t)chunk << (12 + SLOT_BITS) | (uint64_t)slot << 12 | (len - 1);
}

static uint32_t handle_chunk(uint64_t h)
{
	return (uint32_t)(h >> (12 + SLOT_BITS)) & ((1u << CHUNK_BITS) - 1);
}

static uint32_t handle_slot(uint64_t h)
{
	return (uint32_t)(h >> 12) & ((1u << SLOT_BITS) - 1);
}

/* ---- create / destroy --------------------------------------------------------------- */

struct zu_store *zu_store_create(uint64_t mem_limit)
{
	struct zu_store *st;
	uint64_t n = mem_limit / ZU_STORE_CHUNK;
	uint32_t i;

	if (n == 0 || n > (UINT64_C(1) << CHUNK_BITS)) {
		errno = EINVAL;
		return NULL;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->max_chunks = (uint32_t)n;
	st->committed = calloc((n + 63) / 64, sizeof(uint64_t));
	st->spare = calloc(n, sizeof(uint32_t));
	st->base = mmap(NULL, n * ZU_STORE_CHUNK, PROT_NONE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (!st->committed || !st->spare || st->base == MAP_FAILED) {
		if (st->base == MAP_FAILED)
			st->base = NULL;
		zu_store_destroy(st);
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&st->chunk_lock, NULL);
	pthread_cond_init(&st->hk_cond, NULL);
	for (i = 0; i < RAW_CLASS; i++)
		init_class(&st->cls[i], (i + 1) * ZU_STORE_CLASS_STEP);
	init_class(&st->cls[RAW_CLASS], ZT_PAGE_SIZE);
	return st;
}

void zu_store_destroy(struct zu_store *st)
{
	uint32_t i;

	if (!st)
		return;
	if (st->hk_running) {
		pthread_mutex_lock(&st->chunk_lock);
		st->hk_stop = true;
		pthread_cond_signal(&st->hk_cond);
		pthread_mutex_unlock(&st->chunk_lock);
		pthread_join(st->hk, NULL);
	}
	if (st->base) {
		munmap(st->base, (size_t)st->max_chunks * ZU_STORE_CHUNK);
		pthread_mutex_destroy(&st->chunk_lock);
		pthread_cond_destroy(&st->hk_cond);
		for (i = 0; i < ZU_STORE_NCLASSES; i++)
			pthread_mutex_destroy(&st->cls[i].lock);
	}
	free(st->committed);
	free(st->spare);
	free(st);
}

/* ---- chunks ------------------------------------------------------------------------ */

/* Lowest uncommitted chunk number, marked committed; max_chunks if none. */
static uint32_t claim_chunk_locked(struct zu_store *st)
{
	uint32_t w, nwords = (st->max_chunks + 63) / 64;

	for (w = st->low_free / 64; w < nwords; w++) {
		uint64_t free_bits = ~st->committed[w];
		uint32_t c;

		if (!free_bits)
			continue;
		c = w * 64 + (uint32_t)__builtin_ctzll(free_bits);
		if (c >= st->max_chunks)
			break;
		st->committed[w] |= UINT64_C(1) << (c % 64);
		st->low_free = c + 1;
		return c;
	}
	st->low_free = st->max_chunks;
	return st->max_chunks;
}

static void unclaim_chunk_locked(struct zu_store *st, uint32_t c)
{
	st->committed[c / 64] &= ~(UINT64_C(1) << (c % 64));
	if (c < st->low_free)
		st->low_free = c;
}

static void init_header(struct zu_store *st, uint32_t c, uint32_t ci)
{
	struct chunk_hdr *h = hdr(st, c);

	memset(h, 0, st->cls[ci].data_off);
	h->magic = CHUNK_MAGIC;
	h->cls = (uint16_t)ci;
}

/* Empty chunks kept committed (reserve + spares) before unmapping more. */
static uint32_t keep_max(const struct zu_store *st)
{
	return st->target > SPARE_MAX ? st->target : SPARE_MAX;
}

static bool can_grow(struct zu_store *st)
{
	return atomic_load_explicit(&st->ncommitted, memory_order_relaxed) < st->max_chunks;
}

/* Wake the housekeeper if it has something to do (chunk_lock held). */
static void hk_wake_locked(struct zu_store *st)
{
	if (st->hk_running && ((st->nspare < st->low && can_grow(st)) ||
			       st->nspare > keep_max(st)))
		pthread_cond_signal(&st->hk_cond);
}

/* Map chunk c read-write and fault every page in; false on failure. */
static bool map_chunk(struct zu_store *st, uint32_t c)
{
	volatile unsigned char *p = mmap(hdr(st, c), ZU_STORE_CHUNK, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE, -1, 0);
	size_t off;

	if (p == MAP_FAILED)
		return false;
	for (off = 0; off < ZU_STORE_CHUNK; off += ZT_PAGE_SIZE)
		p[off] = 0;           /* a real page, not the shared zero page */
	atomic_fetch_add_explicit(&st->ncommitted, 1, memory_order_relaxed);
	return true;
}

/* A chunk for class ci, with its header written.  An empty committed chunk
 * (reserve or spare) is used first.  In reserve mode that is the only
 * source: -ENOSPC when it is empty, and the housekeeper is woken to refill,
 * unless the caller has no other place for the page (may_commit); otherwise
 * a new chunk is committed here (-ENOSPC at the limit). */
static int commit_chunk(struct zu_store *st, uint32_t ci, bool may_commit, uint32_t *out)
{
	uint32_t c;

	pthread_mutex_lock(&st->chunk_lock);
	if (st->nspare) {
		c = st->spare[--st->nspare];
		if (st->reserve_mode)
			hk_wake_locked(st);
		pthread_mutex_unlock(&st->chunk_lock);
		init_header(st, c, ci);
		*out = c;
		return 0;
	}
	if (st->reserve_mode) {
		hk_wake_locked(st);
		if (!may_commit) {
			pthread_mutex_unlock(&st->chunk_lock);
			return -ENOSPC;
		}
	}
	c = claim_chunk_locked(st);
	pthread_mutex_unlock(&st->chunk_lock);
	if (c == st->max_chunks)
		return -ENOSPC;
	if (!map_chunk(st, c)) {
		pthread_mutex_lock(&st->chunk_lock);
		unclaim_chunk_locked(st, c);
		pthread_mutex_unlock(&st->chunk_lock);
		return -ENOSPC;
	}
	init_header(st, c, ci);
	*out = c;
	return 0;
}

/* Unmap a chunk; false if the kernel refused (VMA exhaustion). */
static bool unmap_chunk(struct zu_store *st, uint32_t c)
{
	void *p = mmap(hdr(st, c), ZU_STORE_CHUNK, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return false;
	atomic_fetch_sub_explicit(&st->ncommitted, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&st->released, 1, memory_order_relaxed);
	pthread_mutex_lock(&st->chunk_lock);
	unclaim_chunk_locked(st, c);
	pthread_mutex_unlock(&st->chunk_lock);
	return true;
}

/* An emptied chunk goes on the spare stack.  In reserve mode always (the
 * I/O path never maps or unmaps: the housekeeper trims the excess); else
 * up to SPARE_MAX, and past that it is unmapped here.  Should the kernel
 * refuse the unmap (only on VMA exhaustion), the chunk stays committed,
 * counted in arena_bytes and unused until destroy. */
static void release_chunk(struct zu_store *st, uint32_t c)
{
	bool keep;

	pthread_mutex_lock(&st->chunk_lock);
	keep = st->reserve_mode || st->nspare < SPARE_MAX;
	if (keep)
		st->spare[st->nspare++] = c;
	if (st->reserve_mode)
		hk_wake_locked(st);
	pthread_mutex_unlock(&st->chunk_lock);
	if (!keep)
		unmap_chunk(st, c);
}

/* Unmap spare chunks until at most n are left. */
static int trim_to(struct zu_store *st, uint32_t n)
{
	uint32_t c;
	int err = 0;

	for (;;) {
		pthread_mutex_lock(&st->chunk_lock);
		if (st->nspare <= n) {
			pthread_mutex_unlock(&st->chunk_lock);
			return err;
		}
		c = st->spare[--st->nspare];
		pthread_mutex_unlock(&st->chunk_lock);
		if (!unmap_chunk(st, c))
			err = -ENOMEM;   /* lost until destroy; counted in arena */
	}
}

int zu_store_trim(struct zu_store *st)
{
	return trim_to(st, st->reserve_mode ? st->target : 0);
}

/* ---- the reserve ------------------------------------------------------------------------ */

int zu_store_refill(struct zu_store *st)
{
	int n = 0;

	for (;;) {
		uint32_t c = st->max_chunks;

		pthread_mutex_lock(&st->chunk_lock);
		if (st->nspare < st->target)
			c = claim_chunk_locked(st);
		pthread_mutex_unlock(&st->chunk_lock);
		if (c == st->max_chunks)
			break;                /* full, or at the limit */
		if (!map_chunk(st, c)) {
			pthread_mutex_lock(&st->chunk_lock);
			unclaim_chunk_locked(st, c);
			pthread_mutex_unlock(&st->chunk_lock);
			return n ? n : -ENOMEM;
		}
		pthread_mutex_lock(&st->chunk_lock);
		st->spare[st->nspare++] = c;
		pthread_mutex_unlock(&st->chunk_lock);
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
	if (target > st->max_chunks)
		target = st->max_chunks;
	if (low > target)
		low = target;
	pthread_mutex_lock(&st->chunk_lock);
	st->target = target;
	st->low = low;
	st->reserve_mode = true;
	pthread_mutex_unlock(&st->chunk_lock);
	ret = zu_store_refill(st);
	return ret < 0 ? ret : 0;
}

/* Commit the whole arena in one populated mapping (locked under the
 * server's mlockall) and put every chunk on the spare stack, lowest on top:
 * from here on put only pops and free only pushes, and nothing is ever
 * mapped or unmapped again, so no housekeeper is needed. */
int zu_store_commit_all(struct zu_store *st)
{
	size_t bytes = (size_t)st->max_chunks * ZU_STORE_CHUNK;
	volatile unsigned char *p;

	if (st->reserve_mode || atomic_load(&st->ncommitted))
		return -EINVAL;
	p = mmap(st->base, bytes, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	for (size_t off = 0; off < bytes; off += ZT_PAGE_SIZE)
		p[off] = 0;           /* real pages, even without mlockall */
	pthread_mutex_lock(&st->chunk_lock);
	for (uint32_t c = 0; c < st->max_chunks; c++) {
		st->committed[c / 64] |= UINT64_C(1) << (c % 64);
		st->spare[st->nspare++] = st->max_chunks - 1 - c;
	}
	st->low_free = st->max_chunks;
	st->target = st->max_chunks;
	st->low = 0;
	st->reserve_mode = true;
	atomic_store(&st->ncommitted, st->max_chunks);
	pthread_mutex_unlock(&st->chunk_lock);
	return 0;
}

static bool hk_has_work_locked(struct zu_store *st)
{
	return (st->nspare < st->low && can_grow(st)) || st->nspare > keep_max(st);
}

static void hk_wait_locked(struct zu_store *st)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += HK_WAIT_S;
	pthread_cond_timedwait(&st->hk_cond, &st->chunk_lock, &t);
}

/* The housekeeper: sleeps on hk_cond until put/free signal that the
 * reserve fell below the low-water mark (or spares piled up), then refills
 * or trims with chunk_lock dropped: it may wait in reclaim while faulting
 * a chunk in, and the queue threads never wait for it. */
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
	pthread_mutex_lock(&st->chunk_lock);
	while (!st->hk_stop) {
		int n;

		if (!hk_has_work_locked(st)) {
			hk_wait_locked(st);
			continue;
		}
		pthread_mutex_unlock(&st->chunk_lock);
		n = zu_store_refill(st);
		pthread_mutex_lock(&st->chunk_lock);
		if (n <= 0 && !st->hk_stop)
			hk_wait_locked(st);   /* no progress: do not spin */
	}
	pthread_mutex_unlock(&st->chunk_lock);
	return NULL;
}

int zu_store_housekeeper_start(struct zu_store *st)
{
	pthread_attr_t attr;
	int ret;

	if (!st->reserve_mode || st->hk_running)
		return -EINVAL;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, HK_STACK);
	ret = -pthread_create(&st->hk, &attr, housekeeper, st);
	pthread_attr_destroy(&attr);
	if (ret)
		return ret;
	pthread_setname_np(st->hk, "ztier-store");
	pthread_mutex_lock(&st->chunk_lock);
	st->hk_running = true;
	pthread_mutex_unlock(&st->chunk_lock);
	return 0;
}

/* ---- partial lists (class lock held) ---------------------------------------------------- */

static void partial_add(struct zu_store *st, struct sclass *cl, uint32_t c)
{
	struct chunk_hdr *h = hdr(st, c);

	h->prev = 0;
	h->next = cl->partial;
	if (cl->partial)
		hdr(st, cl->partial - 1)->prev = c + 1;
	cl->partial = c + 1;
}

static void partial_del(struct zu_store *st, struct sclass *cl, uint32_t c)
{
	struct chunk_hdr *h = hdr(st, c);

	if (h->prev)
		hdr(st, h->prev - 1)->next = h->next;
	else
		cl->partial = h->next;
	if (h->next)
		hdr(st, h->next - 1)->prev = h->prev;
	h->prev = h->next = 0;
}

/* Take a free slot of a partial chunk. */
static uint32_t take_slot(struct zu_store *st, struct sclass *cl, uint32_t c)
{
	struct chunk_hdr *h = hdr(st, c);
	uint32_t w = h->hint, bit;

	while (!~h->bitmap[w])
		w++;
	bit = (uint32_t)__builtin_ctzll(~h->bitmap[w]);
	h->bitmap[w] |= UINT64_C(1) << bit;
	h->hint = w;
	if (++h->used == cl->nslots)
		partial_del(st, cl, c);
	return w * 64 + bit;
}

/* ---- put / get / free ------------------------------------------------------------------ */

static int put(struct zu_store *st, const void *data, size_t len, bool may_commit,
	       uint64_t *handle)
{
	uint32_t ci = class_of_len(len), c, slot;
	struct sclass *cl = &st->cls[ci];
	int err;

	pthread_mutex_lock(&cl->lock);
	if (!cl->partial) {
		pthread_mutex_unlock(&cl->lock);
		err = commit_chunk(st, ci, may_commit, &c);
		pthread_mutex_lock(&cl->lock);
		if (!err) {
			cl->chunks++;
			partial_add(st, cl, c);
		} else if (!cl->partial) {
			/* Full, and no other thread added room meanwhile. */
			pthread_mutex_unlock(&cl->lock);
			atomic_fetch_add_explicit(&st->enospc, 1, memory_order_relaxed);
			return -ENOSPC;
		}
	}
	c = cl->partial - 1;
	slot = take_slot(st, cl, c);
	cl->pages++;
	cl->bytes += len;
	pthread_mutex_unlock(&cl->lock);
	memcpy(st->base + (size_t)c * ZU_STORE_CHUNK + cl->data_off +
	       (size_t)slot * cl->size, data, len);
	*handle = make_handle(c, slot, len);
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
	size_t n = zu_store_handle_len(handle);
	const struct sclass *cl = &st->cls[class_of_len(n)];

	if (len)
		*len = n;
	return st->base + (size_t)handle_chunk(handle) * ZU_STORE_CHUNK + cl->data_off +
	       (size_t)handle_slot(handle) * cl->size;
}

void zu_store_free(struct zu_store *st, uint64_t handle)
{
	size_t len = zu_store_handle_len(handle);
	uint32_t c = handle_chunk(handle), s = handle_slot(handle);
	struct sclass *cl = &st->cls[class_of_len(len)];
	struct chunk_hdr *h = hdr(st, c);
	bool release = false;

	pthread_mutex_lock(&cl->lock);
	h->bitmap[s / 64] &= ~(UINT64_C(1) << (s % 64));
	if (s / 64 < h->hint)
		h->hint = s / 64;
	if (h->used-- == cl->nslots)
		partial_add(st, cl, c);
	cl->pages--;
	cl->bytes -= len;
	if (h->used == 0) {
		partial_del(st, cl, c);
		cl->chunks--;
		h->magic = 0;
		release = true;
	}
	pthread_mutex_unlock(&cl->lock);
	if (release)
		release_chunk(st, c);
}

/* ---- stats ------------------------------------------------------------------------------ */

void zu_store_stats(struct zu_store *st, struct zu_store_stats *out)
{
	uint32_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < ZU_STORE_NCLASSES; i++) {
		struct sclass *cl = &st->cls[i];
		struct zu_store_class_stats *o = &out->cls[i];

		pthread_mutex_lock(&cl->lock);
		o->size = cl->size;
		o->pages = cl->pages;
		o->bytes = cl->bytes;
		o->chunks = cl->chunks;
		o->slots = cl->chunks * cl->nslots;
		pthread_mutex_unlock(&cl->lock);
		out->pages += o->pages;
		out->data_bytes += o->bytes;
	}
	out->raw_pages = out->cls[RAW_CLASS].pages;
	out->arena_bytes = atomic_load(&st->ncommitted) * ZU_STORE_CHUNK;
	out->limit_bytes = (uint64_t)st->max_chunks * ZU_STORE_CHUNK;
	out->meta_bytes = sizeof(*st) + (st->max_chunks + 63) / 64 * 8;
	out->chunks_released = atomic_load(&st->released);
	pthread_mutex_lock(&st->chunk_lock);
	out->spare_bytes = (uint64_t)st->nspare * ZU_STORE_CHUNK;
	out->reserve_target_bytes = (uint64_t)st->target * ZU_STORE_CHUNK;
	pthread_mutex_unlock(&st->chunk_lock);
	out->chunks_refilled = atomic_load(&st->refilled);
	out->enospc = atomic_load(&st->enospc);
}

uint64_t zu_store_arena_bytes(const struct zu_store *st)
{
	return atomic_load_explicit(&((struct zu_store *)st)->ncommitted,
				    memory_order_relaxed) * ZU_STORE_CHUNK;
}
