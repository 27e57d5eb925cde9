/*
 * store_churn.h — issue #11's memory sequence, driven on the host the way
 * the tiered server drives its store (tests/ublk/t_store_settle.c,
 * tests/bench/b_store_churn.c).
 *
 * As in the server (tiered_setup.c, tgt_tiered.c): a real page table
 * (pagetable.h) is the compactor's mover (store_pt.h); the store is on
 * demand with the server's reserve (32 segments, low 16) and its own
 * housekeeper thread; the caller is the queue thread: it compresses
 * outside the lock, puts with no fallback (put_last: a policy with no
 * spill tier), then swaps the entry under its lock and frees the old copy,
 * and discards a page by emptying its entry.  Same-filled pages become
 * META entries, as the shipped policy makes them.
 *
 * After each step, sc_watch() samples the figures every SC_TICK_MS until
 * they have not moved for SC_QUIET_MS (or max_s passes): when and where
 * they settle, the longest time they stood still before that, and what
 * tests/vm/bench-mem.sh would have read: its first two readings 0.5 s
 * apart that agree (slow = 10: the same on a machine 10 times slower, i.e.
 * readings 50 ms apart, as in the VM under TCG).
 */
#ifndef ZT_TESTS_STORE_CHURN_H
#define ZT_TESTS_STORE_CHURN_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "ublk/pagetable.h"
#include "ublk/store.h"
#include "ublk/store_pt.h"

#define SC_MIB        (UINT64_C(1) << 20)
#define SC_TICK_MS    10u
#define SC_QUIET_MS   2000u            /* 2 x the housekeeper's 1 s wait */
#define SC_MAX_SAMPLES 8192u

/* The page source: fills buf with page pgno's stored bytes and returns
 * their length (ZT_PAGE_SIZE: raw), 0 for a same-filled page; *codec is
 * the codec that made them. */
typedef size_t (*sc_page_fn)(void *ctx, uint64_t pgno, unsigned char *buf,
			     enum zt_codec_kind *codec);

struct sc {
	struct zu_pt *pt;
	struct zu_store *st;
	uint64_t fails;
};

struct sc_sample {
	uint32_t ms;
	uint64_t data, used;
};

struct sc_watch {
	double settle_s;      /* last change seen                          */
	double still_s;       /* longest stretch unchanged before settling */
	double pct;           /* overhead once settled                      */
	uint64_t used, data;  /* bytes once settled                         */
	uint64_t spare, reserve, in_use;
	double bench_pct[2];  /* what bench-mem.sh read: 0.5 s, 50 ms apart */
	double bench_s[2];
	uint64_t bench_used[2];
};

static inline double sc_pct(uint64_t used, uint64_t data)
{
	return zu_store_overhead_pct(used, data);
}

static inline uint32_t sc_ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint32_t)((t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000);
}

/* A store of mem_limit bytes for a device of dev_pages, as the server
 * makes it on demand. */
static inline int sc_open(struct sc *c, uint64_t dev_pages, uint64_t mem_limit)
{
	struct zu_store_mover mv;

	*c = (struct sc){ 0 };
	c->pt = zu_pt_create(dev_pages, 0);
	c->st = zu_store_create(mem_limit);
	if (!c->pt || !c->st || zu_store_reserve(c->st, 32, 16))
		return -ENOMEM;
	mv = zu_store_pt_mover(c->pt);
	zu_store_set_mover(c->st, &mv);
	return zu_store_housekeeper_start(c->st);
}

static inline void sc_close(struct sc *c)
{
	zu_store_destroy(c->st);   /* stops the housekeeper first */
	zu_pt_destroy(c->pt);
}

/* Swap page pgno's entry for e under its lock; the old copy is freed
 * after (tgt_tiered.c unlock_swap). */
static inline void sc_swap(struct sc *c, uint64_t pgno, uint64_t e, unsigned flags)
{
	uint64_t old;

	if (zu_pt_lock(c->pt, pgno, flags, &old))
		return;
	zu_pt_unlock(c->pt, pgno, e);
	if (zu_pte_tier(old) == ZT_TIER_STORE)
		zu_store_free(c->st, zu_pte_store_handle(old));
}

static inline void sc_write(struct sc *c, uint64_t pgno, sc_page_fn src, void *ctx)
{
	static unsigned char buf[ZT_PAGE_SIZE];
	enum zt_codec_kind codec = ZT_CODEC_RAW;
	size_t len = src(ctx, pgno, buf, &codec);
	uint64_t h;
	int err;

	if (len == 0) {
		sc_swap(c, pgno, zu_pte_meta(0), 0);
		return;
	}
	err = len == ZT_PAGE_SIZE ? zu_store_put_raw_last(c->st, buf, &h)
				  : zu_store_put_last(c->st, buf, len, &h);
	if (err) {
		c->fails++;
		return;
	}
	sc_swap(c, pgno, zu_pte_store(h, len == ZT_PAGE_SIZE ? ZT_CODEC_RAW : codec), 0);
}

/* Discard n pages from page from, as discard requests of 1 MiB that come
 * pace_us apart (a slow guest: the housekeeper's rounds then overlap the
 * frees, as in the VM). */
static inline void sc_discard(struct sc *c, uint64_t from, uint64_t n, unsigned pace_us)
{
	for (uint64_t p = from; p < from + n; p++) {
		sc_swap(c, p, ZU_PTE_EMPTY, ZU_PT_NOCREATE);
		if (pace_us && (p - from) % 256 == 255)
			usleep(pace_us);
	}
}

/* What bench-mem.sh reads: the first pair of readings gap_ms apart that
 * agree (it gives up after 60 pairs and takes the last). */
static inline void sc_bench_read(const struct sc_sample *s, unsigned n, uint32_t gap_ms,
				 struct sc_watch *w, int k)
{
	unsigned i = 0, j;

	for (unsigned tries = 0; tries < 60; tries++) {
		for (j = i; j + 1 < n && s[j].ms < s[i].ms + gap_ms; j++)
			;
		if (s[j].used == s[i].used && s[j].data == s[i].data)
			break;
		i = j;
		if (j + 1 == n)
			break;
	}
	w->bench_pct[k] = sc_pct(s[i].used, s[i].data);
	w->bench_s[k] = s[i].ms / 1000.0;
	w->bench_used[k] = s[i].used;
}

/* Sample every SC_TICK_MS from now until the figures have stood still
 * SC_QUIET_MS or max_s passed; print the changes (at most one line per
 * 100 ms) if verbose. */
static inline void sc_watch(struct sc *c, const char *what, double max_s, bool verbose,
			    struct sc_watch *w)
{
	static struct sc_sample s[SC_MAX_SAMPLES];
	struct zu_store_stats ss;
	struct timespec t0;
	uint32_t last_change = 0, last_print = 0, still = 0;
	unsigned n = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		uint32_t ms = sc_ms_since(&t0);

		zu_store_stats(c->st, &ss);
		s[n] = (struct sc_sample){ ms, ss.data_bytes, ss.arena_bytes };
		if (n && (s[n].used != s[n - 1].used || s[n].data != s[n - 1].data)) {
			if (ms - last_change > still)
				still = ms - last_change;
			last_change = ms;
			if (verbose && ms - last_print >= 100) {
				printf("#   %-18s t=%5.2fs  %7.1f MB data  %7.1f MB used  %6.1f%%\n",
				       what, ms / 1000.0, ss.data_bytes / 1e6, ss.arena_bytes / 1e6,
				       sc_pct(ss.arena_bytes, ss.data_bytes));
				last_print = ms;
			}
		}
		if (++n == SC_MAX_SAMPLES || ms - last_change >= SC_QUIET_MS || ms >= max_s * 1000)
			break;
		usleep(SC_TICK_MS * 1000);
	}
	*w = (struct sc_watch){ last_change / 1000.0, still / 1000.0,
				sc_pct(ss.arena_bytes, ss.data_bytes), ss.arena_bytes,
				ss.data_bytes, ss.spare_bytes, ss.reserve_target_bytes,
				ss.in_use_bytes, { 0, 0 }, { 0, 0 }, { 0, 0 } };
	sc_bench_read(s, n, 500, w, 0);
	sc_bench_read(s, n, 50, w, 1);
	printf("# %-18s settled at %5.2f s: %7.1f MB data, %7.1f MB used (%5.1f%%), "
	       "%.2f s still before; bench-mem would read %.1f MB (%.1f%%) at %.2f s, "
	       "50 ms apart %.1f MB (%.1f%%) at %.2f s\n",
	       what, w->settle_s, w->data / 1e6, w->used / 1e6, w->pct, w->still_s,
	       w->bench_used[0] / 1e6, w->bench_pct[0], w->bench_s[0],
	       w->bench_used[1] / 1e6, w->bench_pct[1], w->bench_s[1]);
}

#endif
