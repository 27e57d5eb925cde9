/*
 * t_store_pt.c — the store's compactor on the real page table
 * (ublk/store_pt.c): relocate re-points only an entry that still names the
 * old copy and keeps its codec; two threads write, read and discard pages
 * the way the tiered target does (entry lock held across the copy out)
 * while the housekeeper of an upfront store compacts: every read is whole
 * and of its page.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "tests/tap.h"
#include "tests/ublk/store_model.h"
#include "ublk/store_pt.h"

#define NPAGES   4096u
#define NTHREADS 2u

struct shared {
	struct zu_pt *pt;
	struct zu_store *st;
	_Atomic bool stop;
};

struct worker {
	struct shared *sh;
	unsigned id, bad, ops;
	uint64_t seed[NPAGES / NTHREADS];   /* 0: empty; odd: lz4, even: zstd */
};

static bool page_ok(struct zu_store *st, uint64_t e, uint64_t seed)
{
	unsigned char want[ZT_PAGE_SIZE];
	uint64_t h = zu_pte_store_handle(e);
	size_t len;
	const void *p = zu_store_data(st, h, &len);

	if (zu_pte_tier(e) != ZT_TIER_STORE ||
	    zu_pte_store_codec(e) != (seed & 1 ? ZT_CODEC_LZ4 : ZT_CODEC_ZSTD))
		return false;
	tm_pattern(want, len, seed);
	return memcmp(p, want, len) == 0;
}

static void drop(struct shared *sh, uint64_t e)
{
	if (zu_pte_tier(e) == ZT_TIER_STORE)
		zu_store_free(sh->st, zu_pte_store_handle(e));
}

/* Put first, then swap the entry under its lock, then free the old copy:
 * the order of the tiered target's write_full. */
static void write_page(struct worker *w, uint64_t pg, uint64_t *r, bool discard)
{
	unsigned char buf[ZT_PAGE_SIZE];
	size_t len = tm_len(r, 400);
	uint64_t sd = tm_rand(r) + 1, h = 0, old, e = ZU_PTE_EMPTY;

	if (!discard) {
		tm_pattern(buf, len, sd);
		if ((len == ZT_PAGE_SIZE ? zu_store_put_raw(w->sh->st, buf, &h)
					 : zu_store_put(w->sh->st, buf, len, &h)) != 0)
			return;
		e = zu_pte_store(h, sd & 1 ? ZT_CODEC_LZ4 : ZT_CODEC_ZSTD);
	}
	if (zu_pt_lock(w->sh->pt, pg, 0, &old)) {
		w->bad++;
		return;
	}
	w->seed[pg % (NPAGES / NTHREADS)] = discard ? 0 : sd;
	zu_pt_unlock(w->sh->pt, pg, e);
	drop(w->sh, old);
}

static void read_page(struct worker *w, uint64_t pg)
{
	uint64_t e, sd = w->seed[pg % (NPAGES / NTHREADS)];
	int ret = zu_pt_lock(w->sh->pt, pg, ZU_PT_NOCREATE, &e);

	if (ret == -ENOENT) {
		w->bad += sd != 0;
		return;
	}
	w->bad += zu_pte_is_empty(e) ? sd != 0 : !sd || !page_ok(w->sh->st, e, sd);
	zu_pt_unlock(w->sh->pt, pg, e);
}

static void *run(void *arg)
{
	struct worker *w = arg;
	uint64_t r = w->id * 17 + 3;

	while (!atomic_load(&w->sh->stop)) {
		uint64_t pg = w->id * (NPAGES / NTHREADS) + tm_rand(&r) % (NPAGES / NTHREADS);
		unsigned k = (unsigned)(tm_rand(&r) % 8);

		if (k < 4)
			read_page(w, pg);
		else
			write_page(w, pg, &r, k == 7);
		w->ops++;
	}
	return NULL;
}

static int free_all(void *ctx, uint64_t idx, uint64_t e)
{
	struct shared *sh = ctx;
	uint64_t cur;

	if (zu_pt_lock(sh->pt, idx, ZU_PT_NOCREATE, &cur) == 0) {
		zu_pt_unlock(sh->pt, idx, ZU_PTE_EMPTY);
		drop(sh, cur);
	}
	return 0;
}

/* relocate by itself: only the handle changes, and only if it matches. */
static void test_relocate(struct shared *shared)
{
	struct shared one = { .pt = shared->pt, .st = zu_store_create(1u << 20) }, *sh = &one;
	struct zu_store_mover mv = zu_store_pt_mover(sh->pt);
	unsigned char buf[100] = { 1 };
	uint64_t h, h2, e;

	zu_store_put(sh->st, buf, sizeof(buf), &h);
	zu_store_put(sh->st, buf, sizeof(buf), &h2);
	zu_pt_lock(sh->pt, 5, 0, &e);
	zu_pt_unlock(sh->pt, 5, zu_pte_store(h, ZT_CODEC_ZSTD));
	ok(!mv.relocate(mv.ctx, 5, h2, h), "relocate from a handle the entry does not name: no");
	ok(zu_pt_peek(sh->pt, 5) == zu_pte_store(h, ZT_CODEC_ZSTD), "and the entry is unchanged");
	ok(!mv.relocate(mv.ctx, 6, h, h2), "relocate of an empty page: no");
	ok(mv.relocate(mv.ctx, 5, h, h2), "relocate from the handle it names: yes");
	ok(zu_pt_peek(sh->pt, 5) == zu_pte_store(h2, ZT_CODEC_ZSTD),
	   "the entry names the new handle, same tier and codec");
	zu_pt_lock(sh->pt, 5, 0, &e);
	zu_pt_unlock(sh->pt, 5, ZU_PTE_EMPTY);
	zu_store_free(sh->st, h);
	zu_store_free(sh->st, h2);
	zu_store_destroy(sh->st);
}

int main(void)
{
	struct shared sh = { .pt = zu_pt_create(NPAGES, 0), .st = zu_store_create(8u << 20) };
	struct zu_store_mover mv = zu_store_pt_mover(sh.pt);
	struct worker w[NTHREADS];
	pthread_t t[NTHREADS];
	struct zu_store_stats ss;
	struct zu_pt_stats ps;
	unsigned i, bad = 0, ops = 0;

	test_relocate(&sh);
	is_int(zu_store_set_mover(sh.st, &mv), 0, "the page table's mover");
	is_int(zu_store_commit_all(sh.st), 0, "upfront commit");
	is_int(zu_store_housekeeper_start(sh.st), 0, "a compacting housekeeper");
	for (i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){ .sh = &sh, .id = i };
		pthread_create(&t[i], NULL, run, &w[i]);
	}
	for (i = 0; i < 30; i++) {
		usleep(50000);
		zu_store_compact(sh.st, true);
	}
	atomic_store(&sh.stop, true);
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		bad += w[i].bad;
		ops += w[i].ops;
	}
	/* A move in flight holds both copies for a moment: the counts are
	 * compared once the housekeeper has stopped. */
	zu_store_housekeeper_stop(sh.st);
	zu_store_stats(sh.st, &ss);
	is_int(bad, 0, "every read under the entry lock was whole, of its page and codec");
	tap_diag("%u ops, %llu pages moved, %llu moves dropped", ops,
		 (unsigned long long)ss.compact_pages, (unsigned long long)ss.compact_raced);
	ok(ss.compact_pages > 0, "pages were moved meanwhile");
	zu_pt_stats(sh.pt, &ps);
	is_int(ss.pages, ps.pages[ZT_TIER_STORE], "store pages == STORE entries");
	zu_pt_foreach(sh.pt, free_all, &sh);
	zu_store_stats(sh.st, &ss);
	ok(ss.pages == 0 && ss.in_use_bytes == 0, "discard all: nothing in use");
	zu_store_destroy(sh.st);
	zu_pt_destroy(sh.pt);
	return tap_done();
}
