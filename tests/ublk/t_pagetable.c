/*
 * t_pagetable.c — the sparse page table: entry encoding, lock/unlock,
 * leaves freed when empty, metadata bytes per stored page (dense and on a
 * sparse 1 TiB device), and four threads doing read-modify-writes of the
 * same few pages while leaves are freed and re-created under them.
 */
#include <errno.h>
#include <pthread.h>

#include "tests/tap.h"
#include "ublk/fillvals.h"
#include "ublk/pagetable.h"

#define GIB_PAGES (UINT64_C(1) << 18)         /* 1 GiB of 4 KiB pages */

static void store_page(struct zu_pt *pt, uint64_t idx, uint64_t e)
{
	uint64_t cur;

	if (zu_pt_lock(pt, idx, 0, &cur) == 0)
		zu_pt_unlock(pt, idx, e);
}

static void test_encoding(void)
{
	uint64_t e = zu_pte_store(UINT64_C(0xabcdef123456), ZT_CODEC_ZSTD);

	is_int(zu_pte_tier(e), ZT_TIER_STORE, "store entry: tier");
	is_int(zu_pte_store_handle(e), UINT64_C(0xabcdef123456), "store entry: handle");
	is_int(zu_pte_store_codec(e), ZT_CODEC_ZSTD, "store entry: codec");
	e = zu_pte_slot(ZT_TIER_SPILL, (UINT64_C(1) << 39) + 5);
	is_int(zu_pte_tier(e), ZT_TIER_SPILL, "spill entry: tier");
	is_int(zu_pte_slot_nr(e), (UINT64_C(1) << 39) + 5, "spill entry: 40-bit slot");
	is_int(zu_pte_payload(e), (UINT64_C(1) << 39) + 5, "untagged: payload is the slot");
	e = zu_pte_slot_tagged(ZT_TIER_ZRAM, 77, 0xfffff);
	is_int(zu_pte_tier(e), ZT_TIER_ZRAM, "tagged zram entry: tier");
	is_int(zu_pte_slot_nr(e), 77, "tagged zram entry: slot");
	ok(e != zu_pte_slot(ZT_TIER_ZRAM, 77), "the tag tells two writes apart");
	ok(!(e & ZU_PTE_LOCK), "no entry sets the lock bit");
	ok(zu_pte_is_empty(ZU_PTE_EMPTY), "empty is empty");
	is_int(zu_pte_meta(ZU_FILL_ZERO), (uint64_t)ZT_TIER_META << 60,
	       "zero-fill entry is tier META, payload 0");
}

static void test_basic(void)
{
	struct zu_pt *pt = zu_pt_create(10000, 0);
	struct zu_pt_stats s;
	uint64_t cur = 1;

	ok(pt != NULL, "create a 10000-page table");
	is_int(zu_pt_peek(pt, 42), ZU_PTE_EMPTY, "never written: empty");
	is_int(zu_pt_lock(pt, 42, ZU_PT_NOCREATE, &cur), -ENOENT,
	       "NOCREATE without a leaf: -ENOENT");
	is_int(zu_pt_lock(pt, 10000, 0, &cur), -ERANGE, "past the end: -ERANGE");
	is_int(zu_pt_lock(pt, 42, 0, &cur), 0, "lock page 42");
	is_int(cur, ZU_PTE_EMPTY, "it was empty");
	zu_pt_unlock(pt, 42, zu_pte_slot(ZT_TIER_SPILL, 7));
	is_int(zu_pt_peek(pt, 42), zu_pte_slot(ZT_TIER_SPILL, 7), "peek sees the new entry");
	store_page(pt, 9999, zu_pte_meta(0));
	store_page(pt, 600, zu_pte_store(3, ZT_CODEC_LZ4));
	zu_pt_stats(pt, &s);
	is_int(s.stored, 3, "stats: 3 stored");
	is_int(s.pages[ZT_TIER_META], 1, "stats: 1 meta");
	is_int(s.pages[ZT_TIER_SPILL], 1, "stats: 1 spill");
	is_int(s.leaves, 3, "stats: 3 leaves (pages 42, 600, 9999)");
	is_int(s.mids, 1, "stats: 1 mid");
	store_page(pt, 42, ZU_PTE_EMPTY);
	store_page(pt, 600, ZU_PTE_EMPTY);
	zu_pt_stats(pt, &s);
	is_int(s.leaves, 1, "emptied leaves go back to the pool");
	ok(zu_pt_lock(pt, 42, 0, &cur) == 0 && cur == ZU_PTE_EMPTY,
	   "a freed leaf reads empty when re-created");
	zu_pt_unlock(pt, 42, ZU_PTE_EMPTY);
	zu_pt_stats(pt, &s);
	is_int(s.leaves, 1, "locking then unlocking empty frees the leaf again");
	zu_pt_destroy(pt);
}

/* Dense: a 1 GiB device with every page stored. */
static void test_dense(void)
{
	struct zu_pt *pt = zu_pt_create(GIB_PAGES, 0);
	struct zu_pt_stats s;
	uint64_t i;
	double per;

	for (i = 0; i < GIB_PAGES; i++)
		store_page(pt, i, zu_pte_store(i, ZT_CODEC_LZ4));
	zu_pt_stats(pt, &s);
	is_int(s.stored, GIB_PAGES, "dense: every page of 1 GiB stored");
	is_int(zu_pt_meta_bytes(pt), s.meta_bytes, "zu_pt_meta_bytes agrees with the walk");
	per = (double)s.meta_bytes / (double)s.stored;
	tap_diag("dense 1 GiB: %llu metadata bytes for %llu pages = %.4f B/page",
		 (unsigned long long)s.meta_bytes, (unsigned long long)s.stored, per);
	/* 8 B entries are the floor; the mid and root add 1/64 B per page. */
	ok(per <= 8.0 + 1.0 / 32, "dense: <= 8 B/page + directory (%.4f)", per);
	for (i = 0; i < GIB_PAGES; i++)
		store_page(pt, i, ZU_PTE_EMPTY);
	zu_pt_stats(pt, &s);
	ok(s.leaves == 0 && s.stored == 0, "dense: all leaves freed after discard");
	zu_pt_destroy(pt);
}

/* Store n pages from base; metadata bytes per stored page afterwards. */
static double fill_run(struct zu_pt *pt, uint64_t base, uint64_t n, uint64_t *stored)
{
	struct zu_pt_stats s;
	uint64_t i;

	for (i = 0; i < n; i++)
		store_page(pt, base + i, zu_pte_meta(0));
	zu_pt_stats(pt, &s);
	*stored = s.stored;
	return (double)s.meta_bytes / (double)s.stored;
}

/* Sparse: a 1 TiB device holding 1 GiB, in one run and in 64 clusters.
 * Bound: 8 B/page + a partial leaf per run end + a 4 KiB mid per GiB of
 * device touched + the fixed root (12 KiB for 1 TiB). */
static void test_sparse(void)
{
	uint64_t npages = UINT64_C(1) << 28, c, stored = 0, n;
	struct zu_pt *pt = zu_pt_create(npages, 0);
	struct zu_pt_stats before;
	double per;

	zu_pt_stats(pt, &before);
	tap_diag("1 TiB device, nothing stored: %llu metadata bytes",
		 (unsigned long long)before.meta_bytes);
	ok(before.meta_bytes < 64 * 1024, "1 TiB empty: < 64 KiB of metadata");
	per = fill_run(pt, npages / 2 + 12345, GIB_PAGES, &n);
	is_int(n, GIB_PAGES, "sparse: 1 GiB run stored on a 1 TiB device");
	tap_diag("1 TiB device holding one 1 GiB run: %.4f B/page", per);
	ok(per <= 8.2, "sparse, one run: metadata follows pages stored (%.4f B/page)", per);
	zu_pt_destroy(pt);

	pt = zu_pt_create(npages, 0);
	for (c = 0; c < 64; c++)
		per = fill_run(pt, c * (npages / 64) + 12345, GIB_PAGES / 64, &stored);
	is_int(stored, GIB_PAGES, "sparse: 1 GiB in 64 clusters of 16 MiB stored");
	tap_diag("1 TiB device holding 1 GiB in 64 clusters 16 GiB apart: %.4f B/page", per);
	ok(per <= 10.5, "sparse, 64 clusters: a leaf per end and a mid per cluster (%.4f)",
	   per);
	zu_pt_destroy(pt);
}

/* The worst case, measured: single pages scattered far apart. */
static void test_scatter(void)
{
	uint64_t npages = UINT64_C(1) << 28, i;
	struct zu_pt *pt = zu_pt_create(npages, 0);
	struct zu_pt_stats s;


	for (i = 0; i < 1024; i++)
		store_page(pt, i * (npages / 1024) + 7, zu_pte_meta(0));
	zu_pt_stats(pt, &s);
	tap_diag("worst case, 1024 pages 1 GiB apart: %.1f B/page (a leaf and a mid each)",
		 (double)s.meta_bytes / (double)s.stored);
	ok(s.stored == 1024, "scatter: 1024 pages stored");
	zu_pt_destroy(pt);
}

/* ---- threads ----------------------------------------------------------------- */

#define T_LEAVES   64
#define T_PER_LEAF 4                  /* few pages per leaf: leaves churn */
#define T_THREADS  4
#define T_ITERS    100000

struct rmw {
	struct zu_pt *pt;
	uint64_t *shadow;             /* per page, written under the entry lock */
	unsigned id, mismatches, errors;
};

static uint64_t page_of(unsigned r)
{
	return (uint64_t)(r % T_LEAVES) * 512 + (r / T_LEAVES) % T_PER_LEAF * 97;
}

static void *rmw_thread(void *arg)
{
	struct rmw *r = arg;
	unsigned seed = r->id * 7919 + 1, i;
	int err;

	for (i = 0; i < T_ITERS; i++) {
		uint64_t idx, cur, want, next;

		seed = seed * 1103515245u + 12345u;
		idx = page_of(seed >> 8);
		/* A quarter of the time as a reader would: no leaf, no lock. */
		err = zu_pt_lock(r->pt, idx, (seed & 0x60000) ? 0 : ZU_PT_NOCREATE, &cur);
		if (err == -ENOENT)
			continue;
		if (err) {
			r->errors++;
			continue;
		}
		want = r->shadow[idx] ? zu_pte_slot(ZT_TIER_SPILL, r->shadow[idx]) : 0;
		if (cur != want)
			r->mismatches++;
		/* Half the time empty the page, else count it up. */
		next = (seed & 0x10000) ? 0 : (r->shadow[idx] & 0xffffff) + 1 +
					     ((uint64_t)r->id << 32);
		r->shadow[idx] = next;
		zu_pt_unlock(r->pt, idx, next ? zu_pte_slot(ZT_TIER_SPILL, next) : 0);
	}
	return NULL;
}

static void test_threads(void)
{
	struct zu_pt *pt = zu_pt_create(T_LEAVES * 512, 0);
	uint64_t *shadow = calloc(T_LEAVES * 512, sizeof(*shadow));
	struct rmw r[T_THREADS];
	pthread_t t[T_THREADS];
	unsigned i, mism = 0, errs = 0;
	struct zu_pt_stats s;
	uint64_t idx, n = 0, bad = 0;

	for (i = 0; i < T_THREADS; i++) {
		r[i] = (struct rmw){ .pt = pt, .shadow = shadow, .id = i };
		pthread_create(&t[i], NULL, rmw_thread, &r[i]);
	}
	for (i = 0; i < T_THREADS; i++) {
		pthread_join(t[i], NULL);
		mism += r[i].mismatches;
		errs += r[i].errors;
	}
	is_int(errs, 0, "4 threads: every lock succeeded");
	is_int(mism, 0, "4 threads: every RMW saw the previous writer's entry");
	for (idx = 0; idx < T_LEAVES * 512; idx++) {
		uint64_t want = shadow[idx] ? zu_pte_slot(ZT_TIER_SPILL, shadow[idx]) : 0;

		bad += zu_pt_peek(pt, idx) != want;
		n += shadow[idx] != 0;
	}
	is_int(bad, 0, "4 threads: final table equals the shadow");
	zu_pt_stats(pt, &s);
	is_int(s.stored, n, "4 threads: stats count what the shadow holds");
	for (idx = 0; idx < T_LEAVES * 512; idx++)
		if (shadow[idx])
			store_page(pt, idx, ZU_PTE_EMPTY);
	zu_pt_stats(pt, &s);
	is_int(s.leaves, 0, "4 threads: no leaf left once all pages are empty");
	zu_pt_destroy(pt);
	free(shadow);
}

static int count_visit(void *ctx, uint64_t idx, uint64_t e)
{
	uint64_t *last = ctx;

	if (idx <= last[0] && last[1])
		last[2]++;                  /* out of order */
	last[0] = idx;
	last[1]++;
	return 0;
}

static void test_foreach(void)
{
	struct zu_pt *pt = zu_pt_create(GIB_PAGES * 3, 1 << 20);
	uint64_t st[3] = { 0, 0, 0 };
	struct zu_pt_stats s;

	zu_pt_stats(pt, &s);
	ok(s.pool_bytes >= (1 << 20) && s.leaves == 0, "prealloc maps the pool up front");
	is_int(zu_pt_free_blocks(pt), s.pool_bytes / 4096, "all of it free");
	is_int(zu_pt_reserve(pt, 1000), 0, "reserve 1000 blocks");
	ok(zu_pt_free_blocks(pt) >= 1000, "at least 1000 blocks free now");
	store_page(pt, 5, zu_pte_meta(0));
	store_page(pt, GIB_PAGES * 2 + 1, zu_pte_meta(0));
	store_page(pt, GIB_PAGES + 513, zu_pte_meta(0));
	zu_pt_foreach(pt, count_visit, st);
	ok(st[1] == 3 && st[2] == 0, "foreach visits 3 entries in order");
	zu_pt_destroy(pt);
}

int main(void)
{
	test_encoding();
	test_basic();
	test_dense();
	test_sparse();
	test_scatter();
	test_foreach();
	test_threads();
	return tap_done();
}
