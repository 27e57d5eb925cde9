/*
 * t_store.c — the compressed store: round trips of every length, the
 * 3/4-page rule, the memory limit (never exceeded, -ENOSPC counted by
 * cause), emptied segments given back (in /proc/self/statm as well as in
 * the stats), four threads putting, checking and freeing at once.  Reserve
 * mode: put never commits (-ENOSPC, counted as "reserve empty", with the
 * arena unchanged), free never unmaps, a refill restores the reserve goal
 * and never passes the limit, the housekeeper refills, trims and compacts
 * on its own.  Compaction: random put/free/compact sequences against a
 * reference model (every page read back equal), the same with threads
 * rewriting pages while the housekeeper moves them, and the overhead of
 * issue #11's fill / churn / discard sequence.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "tests/tap.h"
#include "ublk/codec.h"
#include "ublk/store.h"
#include "tests/ublk/store_model.h"

#define MIB (UINT64_C(1) << 20)

static void pattern(unsigned char *buf, size_t len, uint64_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (unsigned char)((seed * 2654435761u + i * 131) >> 7);
}

static bool holds(struct zu_store *st, uint64_t h, size_t len, uint64_t seed)
{
	unsigned char want[ZT_PAGE_SIZE];
	size_t got;
	const void *p = zu_store_data(st, h, &got);

	pattern(want, len, seed);
	return got == len && memcmp(p, want, len) == 0;
}

static uint64_t rss_bytes(void)
{
	unsigned long size = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%lu %lu", &size, &res) != 2)
			res = 0;
		fclose(f);
	}
	return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

static void test_roundtrip(void)
{
	struct zu_store *st = zu_store_create(64 * MIB);
	static uint64_t h[ZU_STORE_MAX_COMPRESSED + 1];
	unsigned char buf[ZT_PAGE_SIZE];
	struct zu_store_stats s;
	size_t len;
	unsigned bad = 0, fails = 0;

	ok(st != NULL, "create a 64 MiB store");
	for (len = 1; len <= ZU_STORE_MAX_COMPRESSED; len++) {
		pattern(buf, len, len);
		fails += zu_store_put(st, buf, len, &h[len]) != 0;
	}
	is_int(fails, 0, "put every length 1..3072");
	for (len = 1; len <= ZU_STORE_MAX_COMPRESSED; len++)
		bad += !holds(st, h[len], len, len);
	is_int(bad, 0, "every length reads back");
	is_int(zu_store_put(st, buf, ZU_STORE_MAX_COMPRESSED + 1, &h[0]), -E2BIG,
	       "3073 bytes: -E2BIG");
	is_int(zu_store_put(st, buf, 0, &h[0]), -EINVAL, "0 bytes: -EINVAL");
	pattern(buf, ZT_PAGE_SIZE, 99);
	is_int(zu_store_put_raw(st, buf, &h[0]), 0, "put_raw");
	ok(holds(st, h[0], ZT_PAGE_SIZE, 99), "raw page reads back, length 4096");
	ok(h[0] < (UINT64_C(1) << ZU_STORE_HANDLE_BITS), "handles fit 56 bits");
	zu_store_stats(st, &s);
	is_int(s.pages, ZU_STORE_MAX_COMPRESSED + 1, "stats: pages");
	is_int(s.raw_pages, 1, "stats: 1 raw page");
	is_int(s.data_bytes, (uint64_t)ZU_STORE_MAX_COMPRESSED *
			     (ZU_STORE_MAX_COMPRESSED + 1) / 2 + ZT_PAGE_SIZE,
	       "stats: data bytes are the exact lengths");
	ok(s.arena_bytes <= s.limit_bytes, "stats: arena within the limit");
	is_int(zu_store_arena_bytes(st), s.arena_bytes, "zu_store_arena_bytes agrees");
	for (len = 0; len <= ZU_STORE_MAX_COMPRESSED; len++)
		zu_store_free(st, h[len]);
	zu_store_stats(st, &s);
	ok(s.pages == 0 && s.arena_bytes == s.spare_bytes && s.spare_bytes <= MIB,
	   "all freed: no pages, only spare chunks (%llu KiB)",
	   (unsigned long long)s.spare_bytes >> 10);
	tap_diag("chunks given back after freeing all: %llu",
		 (unsigned long long)s.chunks_released);
	is_int(zu_store_trim(st), 0, "trim");
	zu_store_stats(st, &s);
	ok(s.arena_bytes == 0 && s.spare_bytes == 0, "after trim: no arena");
	zu_store_destroy(st);
}

#define SEGB ZU_STORE_CHUNK
#define SEG_PAGES(len) ((SEGB - 32) / (len))

/* Holes are not reused in place; the compactor packs them. */
static void limit_holes(struct zu_store *st, struct tmodel *mm, unsigned n)
{
	unsigned char buf[ZT_PAGE_SIZE];
	unsigned i, bad = 0, per = SEG_PAGES(100);
	struct zu_store_stats s;
	uint64_t h, first;

	pattern(buf, 100, 1);
	for (i = 0; i < 4 * per; i += 2) {
		zu_store_free(st, mm->e[i]);
		mm->e[i] = 0;
	}
	is_int(zu_store_put(st, buf, 100, &h), -ENOSPC, "holes are not reused in place");
	ok(zu_store_compact(st, true) > 0, "the compactor moves the pages of half-empty segments");
	while (zu_store_compact(st, true) > 0)
		;
	zu_store_stats(st, &s);
	ok(s.compact_pages >= per && s.compact_freed_bytes >= 2 * SEGB && s.compact_raced == 0,
	   "%llu pages moved in %llu passes, %llu KiB freed", (unsigned long long)s.compact_pages,
	   (unsigned long long)s.compactions, (unsigned long long)s.compact_freed_bytes >> 10);
	is_int(zu_store_put(st, buf, 100, &first), 0, "a put fits again");
	zu_store_free(st, first);
	for (i = 0; i < n; i++)
		bad += mm->e[i] && !holds(st, mm->e[i], 100, 1);
	is_int(bad, 0, "every page reads back after the moves");
}

/* Free every page of one segment: that segment alone goes back. */
static void limit_release(struct zu_store *st, struct tmodel *mm, unsigned n)
{
	unsigned char buf[ZT_PAGE_SIZE];
	struct zu_store_stats s;
	uint64_t first, used;
	unsigned i;

	pattern(buf, 100, 1);
	first = (mm->e[n - 1] >> 12) / SEGB;
	zu_store_stats(st, &s);
	used = s.in_use_bytes;
	for (i = 0; i < n; i++)
		if (mm->e[i] && (mm->e[i] >> 12) / SEGB == first) {
			zu_store_free(st, mm->e[i]);
			mm->e[i] = 0;
		}
	zu_store_stats(st, &s);
	ok(s.in_use_bytes == used - SEGB && s.spare_bytes >= SEGB,
	   "an emptied segment becomes a spare at once");
	zu_store_trim(st);
	zu_store_stats(st, &s);
	ok(s.spare_bytes == 0 && s.arena_bytes == s.in_use_bytes, "trim releases the spares");
	for (i = 0; i < n; i++)
		if (mm->e[i])
			zu_store_free(st, mm->e[i]);
	zu_store_trim(st);
	zu_store_stats(st, &s);
	ok(s.arena_bytes == 0 && s.pages == 0 && s.data_bytes == 0, "free all + trim: no arena");
	is_int(zu_store_put(st, buf, 1000, &first), 0, "another length fits after release");
	zu_store_free(st, first);
}

/* A 1 MiB store is 16 segments: fill it with 100 B pages to the limit. */
static void test_limit(void)
{
	struct zu_store *st = zu_store_create(MIB + 1000);
	unsigned char buf[ZT_PAGE_SIZE];
	struct zu_store_stats s;
	struct tmodel m;
	struct zu_store_mover mv;
	unsigned n = 0, per = SEG_PAGES(100);
	uint64_t h;
	int err;

	tm_init(&m, 20000);
	mv = tm_mover(&m);
	is_int(zu_store_set_mover(st, &mv), 0, "a mover (the model table)");
	pattern(buf, 100, 1);
	while (n < 20000 && (err = zu_store_put(st, buf, 100, &h)) == 0)
		m.e[n++] = h;
	is_int(err, -ENOSPC, "store to the limit: -ENOSPC");
	zu_store_stats(st, &s);
	is_int(s.limit_bytes, MIB, "limit rounded down to whole segments");
	is_int(s.arena_bytes, MIB - SEGB, "arena stops at the limit, less the compactor's segment");
	is_int(n, 15 * per, "15 segments of 100 B pages, end to end");
	tap_diag("100 B pages: %u in 1 MiB (%.2f%% of the arena is data)", n,
		 100.0 * (double)n * 100 / (double)MIB);
	is_int(zu_store_put(st, buf, 1000, &h), -ENOSPC, "another length: -ENOSPC too");
	is_int(zu_store_put_raw(st, buf, &h), -ENOSPC, "raw: -ENOSPC too");
	zu_store_stats(st, &s);
	ok(s.enospc == 3 && s.enospc_limit == 3 && s.enospc_reserve == 0,
	   "3 puts refused, all by the limit");
	limit_holes(st, &m, n);
	limit_release(st, &m, n);
	zu_store_destroy(st);
	free(m.e);
}

/* Memory goes back to the OS: RSS rises with puts and falls after frees. */
static void test_release_rss(void)
{
	struct zu_store *st = zu_store_create(64 * MIB);
	static uint64_t h[16384];
	unsigned char buf[ZT_PAGE_SIZE];
	uint64_t rss0, rss1, rss2;
	unsigned i, n = 8192;

	rss0 = rss_bytes();
	pattern(buf, 2048, 5);
	for (i = 0; i < n; i++)
		zu_store_put(st, buf, 2048, &h[i]);
	rss1 = rss_bytes();
	for (i = 0; i < n; i++)
		zu_store_free(st, h[i]);
	rss2 = rss_bytes();
	tap_diag("RSS: %llu KiB before, %llu KiB with 16 MiB stored, %llu KiB after free",
		 (unsigned long long)rss0 >> 10, (unsigned long long)rss1 >> 10,
		 (unsigned long long)rss2 >> 10);
	ok(rss1 >= rss0 + 15 * MIB, "RSS grows with the data");
	ok(rss2 + 14 * MIB <= rss1, "RSS falls back after freeing (chunks released)");
	zu_store_destroy(st);
}

/* ---- issue #11: overhead at every fill, after churn, after discards ---------- */

struct fill {
	struct zu_store *st;
	struct tmodel m;
	uint64_t seed;
	bool upfront;
	unsigned fails;
};

/* What the housekeeper does, done here in step with the test. */
static void housekeep(struct fill *f)
{
	zu_store_refill(f->st);
	while (zu_store_compact(f->st, false) > 0)
		;
	zu_store_refill(f->st);
}

/* Put (or overwrite) page pgno with a new length; an empty reserve makes
 * the test run the housekeeper's round, as the thread would. */
static void fill_put(struct fill *f, uint64_t pgno)
{
	static unsigned char buf[ZT_PAGE_SIZE];
	size_t len = tm_len(&f->seed, 300);
	uint64_t h, old;
	int err, tries = 0;

	while ((err = len == ZT_PAGE_SIZE ? zu_store_put_raw(f->st, buf, &h)
					  : zu_store_put(f->st, buf, len, &h)) == -ENOSPC &&
	       tries++ < 3)
		housekeep(f);
	if (err) {
		f->fails++;
		return;
	}
	old = f->m.e[pgno];
	f->m.e[pgno] = h;
	if (old)
		zu_store_free(f->st, old);
}

static void fill_drop(struct fill *f, uint64_t pgno)
{
	uint64_t old = f->m.e[pgno];

	f->m.e[pgno] = 0;
	if (old)
		zu_store_free(f->st, old);
}

/* One row of the table; the overhead in percent. */
static double fill_row(struct fill *f, const char *what)
{
	struct zu_store_stats s;
	uint64_t used;
	double pct;

	housekeep(f);
	zu_store_stats(f->st, &s);
	used = f->upfront ? s.in_use_bytes : s.arena_bytes;
	pct = zu_store_overhead_pct(used, s.data_bytes);
	tap_diag("%-8s %-22s %7.1f MB data, %7.1f MB %s (%5.1f%%), %llu pages, "
		 "%llu moved, %llu raced",
		 f->upfront ? "upfront" : "demand", what, (double)s.data_bytes / 1e6,
		 (double)used / 1e6, f->upfront ? "in use" : "used", pct,
		 (unsigned long long)s.pages, (unsigned long long)s.compact_pages,
		 (unsigned long long)s.compact_raced);
	return pct;
}

#define FILL_PAGES (UINT64_C(1) << 18)   /* 1 GiB stored */

static void fill_churn(bool upfront)
{
	struct fill f = { .st = zu_store_create(upfront ? 256 * MIB : 1024 * MIB),
			  .seed = 42, .upfront = upfront };
	struct zu_store_mover mv;
	struct zu_store_stats s;
	uint64_t i, next = 4096;
	double worst = 0, pct;

	tm_init(&f.m, FILL_PAGES);
	mv = tm_mover(&f.m);
	zu_store_set_mover(f.st, &mv);
	if (upfront)
		zu_store_commit_all(f.st);
	else
		zu_store_reserve(f.st, 32, 16);
	for (i = 0; i < FILL_PAGES; i++) {
		fill_put(&f, i);
		if (i + 1 == next) {
			char what[32];

			snprintf(what, sizeof(what), "%llu MiB stored",
				 (unsigned long long)(next >> 8));
			pct = fill_row(&f, what);
			worst = pct > worst ? pct : worst;
			next *= 4;
		}
	}
	ok(worst <= 10.0, "%s: overhead <= 10%% at 16 MiB..1 GiB stored (worst %.1f%%)",
	   upfront ? "upfront" : "on demand", worst);
	for (i = 0; i < FILL_PAGES / 2; i++) {
		fill_put(&f, tm_rand(&f.seed) % FILL_PAGES);
		if (i % 4096 == 0)
			housekeep(&f);
	}
	pct = fill_row(&f, "overwrite half");
	ok(pct <= 15.0, "after overwriting half at random: %.1f%% <= 15%%", pct);
	for (i = 0; i < FILL_PAGES / 4; i++)
		fill_drop(&f, tm_rand(&f.seed) % FILL_PAGES);
	pct = fill_row(&f, "discard a quarter");
	ok(pct <= 15.0, "after discarding a quarter at random: %.1f%% <= 15%%", pct);
	for (i = 0; i < FILL_PAGES; i++)
		fill_drop(&f, i);
	fill_row(&f, "discard all");
	zu_store_trim(f.st);
	zu_store_stats(f.st, &s);
	ok(s.pages == 0 && s.in_use_bytes == 0 && s.arena_bytes == s.spare_bytes &&
	   s.spare_bytes <= (upfront ? 256 * MIB : s.reserve_target_bytes),
	   "discard all: back to the reserve (%llu KiB)", (unsigned long long)s.arena_bytes >> 10);
	is_int(f.fails, 0, "no put failed for lack of room");
	zu_store_destroy(f.st);
	free(f.m.e);
}

static void test_fill_churn(void)
{
	fill_churn(false);
	fill_churn(true);
}

/* ---- threads -------------------------------------------------------------------- */

#define T_THREADS 4
#define T_ITERS   20000
#define T_HELD    256

struct worker {
	struct zu_store *st;
	unsigned id, bad, enospc;
};

static void *worker(void *arg)
{
	struct worker *w = arg;
	uint64_t h[T_HELD], seed[T_HELD];
	size_t len[T_HELD];
	unsigned char buf[ZT_PAGE_SIZE];
	unsigned n = 0, i, r = w->id * 977 + 3;

	for (i = 0; i < T_ITERS; i++) {
		r = r * 1103515245u + 12345u;
		if (n < T_HELD && (r & 0x10000)) {
			size_t l = 1 + (r >> 17) % ZT_PAGE_SIZE;
			uint64_t s = ((uint64_t)w->id << 40) | i;
			int err;

			if (l > ZU_STORE_MAX_COMPRESSED)
				l = ZT_PAGE_SIZE;
			pattern(buf, l, s);
			err = l == ZT_PAGE_SIZE ? zu_store_put_raw(w->st, buf, &h[n])
						: zu_store_put(w->st, buf, l, &h[n]);
			if (err) {
				w->enospc++;
				continue;
			}
			len[n] = l;
			seed[n++] = s;
		} else if (n) {
			unsigned k = (r >> 8) % n;

			w->bad += !holds(w->st, h[k], len[k], seed[k]);
			zu_store_free(w->st, h[k]);
			h[k] = h[--n];
			len[k] = len[n];
			seed[k] = seed[n];
		}
	}
	while (n--) {
		w->bad += !holds(w->st, h[n], len[n], seed[n]);
		zu_store_free(w->st, h[n]);
	}
	return NULL;
}

static void test_threads(void)
{
	struct zu_store *st = zu_store_create(8 * MIB);   /* tight: ENOSPC happens */
	struct worker w[T_THREADS];
	pthread_t t[T_THREADS];
	struct zu_store_stats s;
	unsigned i, bad = 0, enospc = 0;

	for (i = 0; i < T_THREADS; i++) {
		w[i] = (struct worker){ .st = st, .id = i };
		pthread_create(&t[i], NULL, worker, &w[i]);
	}
	for (i = 0; i < T_THREADS; i++) {
		pthread_join(t[i], NULL);
		bad += w[i].bad;
		enospc += w[i].enospc;
	}
	is_int(bad, 0, "4 threads: every page read back what was put");
	zu_store_stats(st, &s);
	ok(s.pages == 0 && s.arena_bytes == s.spare_bytes,
	   "4 threads: all freed, all chunks released but the spares");
	tap_diag("4 threads x %d ops in 8 MiB: %u ENOSPC, %llu chunks released",
		 T_ITERS, enospc, (unsigned long long)s.chunks_released);
	zu_store_destroy(st);
}

static uint64_t arena_chunks(struct zu_store *st)
{
	return zu_store_arena_bytes(st) / ZU_STORE_CHUNK;
}

static uint64_t spare_chunks(struct zu_store *st)
{
	struct zu_store_stats s;

	zu_store_stats(st, &s);
	return s.spare_bytes / ZU_STORE_CHUNK;
}

/* A 4 MiB store (64 segments) with a reserve, driven by hand. */
static void test_reserve(void)
{
	struct zu_store *st = zu_store_create(4 * MIB);
	unsigned char buf[ZT_PAGE_SIZE];
	static uint64_t h[40000];
	struct zu_store_stats s;
	unsigned n = 0, i, k, bad = 0, over = 0;
	uint64_t x;
	int err;

	pattern(buf, sizeof(buf), 7);
	is_int(zu_store_reserve(st, 0, 0), -EINVAL, "reserve of 0 segments: -EINVAL");
	is_int(zu_store_reserve(st, 2, 3), -EINVAL, "low above target: -EINVAL");
	is_int(zu_store_housekeeper_start(st), -EINVAL, "no housekeeper without a reserve");
	is_int(zu_store_reserve(st, 8, 4), 0, "reserve up to 8 segments");
	zu_store_stats(st, &s);
	ok(s.arena_bytes == SEGB && s.spare_bytes == SEGB &&
	   s.reserve_target_bytes == SEGB, "an empty store commits the minimum reserve: 1");
	while ((err = zu_store_put(st, buf, 1000, &h[n])) == 0 && n < 39999)
		n++;
	is_int(err, -ENOSPC, "reserve used up: put is -ENOSPC");
	is_int(n, SEG_PAGES(1000), "after filling the reserve segment");
	is_int(arena_chunks(st), 1, "the I/O side never committed a segment");
	is_int(zu_store_put_raw(st, buf, &x), -ENOSPC, "raw too");
	zu_store_stats(st, &s);
	ok(s.enospc_reserve == 2 && s.enospc_limit == 0, "both counted as 'reserve empty'");
	/* A page with nowhere else to go is not refused for an empty reserve. */
	is_int(zu_store_put_last(st, buf, 700, &h[n]), 0, "put_last with the reserve empty: 0");
	n++;
	is_int(arena_chunks(st), 2, "it committed its own segment");
	is_int(zu_store_refill(st), 1, "refill commits the segment the reserve lacks");
	ok(arena_chunks(st) == 3 && spare_chunks(st) == 1, "the reserve is back");
	/* Fill and refill until the limit: the arena never passes it. */
	for (k = 0; k < 200 && n < 39000; k++) {
		while (n < 39999 && zu_store_put(st, buf, 64 + 32 * (k % 90), &h[n]) == 0)
			n++;
		over += arena_chunks(st) > 64;
		if (zu_store_refill(st) == 0 && spare_chunks(st) == 0)
			break;
	}
	zu_store_stats(st, &s);
	ok(over == 0 && s.arena_bytes == 4 * MIB, "refills stop at the limit (64 segments)");
	is_int(zu_store_refill(st), 0, "at the limit a refill commits nothing");
	is_int(zu_store_put(st, buf, 3000, &x), -ENOSPC, "and put is -ENOSPC");
	zu_store_stats(st, &s);
	ok(s.enospc_limit >= 1, "counted as 'memory limit'");
	for (i = 0; i < n; i++)
		bad += !holds(st, h[i], zu_store_handle_len(h[i]), 7);
	is_int(bad, 0, "every page reads back");
	for (i = 0; i < n; i++)
		zu_store_free(st, h[i]);
	zu_store_stats(st, &s);
	ok(s.pages == 0 && s.arena_bytes == 4 * MIB && s.chunks_released == 0,
	   "free never unmaps in reserve mode");
	zu_store_refill(st);
	zu_store_stats(st, &s);
	ok(s.arena_bytes == SEGB && s.spare_bytes == s.arena_bytes,
	   "a refill trims the spares back to the reserve goal");
	zu_store_destroy(st);
}

/* Wait up to 3 s for cond(st). */
static bool becomes(struct zu_store *st, bool (*cond)(struct zu_store *))
{
	for (int i = 0; i < 3000; i++) {
		if (cond(st))
			return true;
		usleep(1000);
	}
	return false;
}

static bool reserve_full(struct zu_store *st)
{
	struct zu_store_stats s;

	zu_store_stats(st, &s);
	return s.spare_bytes >= SEGB && s.spare_bytes <= s.reserve_target_bytes;
}

static bool packed(struct zu_store *st)
{
	struct zu_store_stats s;

	zu_store_stats(st, &s);
	return s.compactions > 0 && zu_store_overhead_pct(s.in_use_bytes, s.data_bytes) < 12;
}

/* The housekeeper refills, trims and compacts on its own. */
static void test_housekeeper(void)
{
	struct zu_store *st = zu_store_create(64 * MIB);
	unsigned char buf[ZT_PAGE_SIZE];
	struct zu_store_stats s;
	struct tmodel m;
	struct zu_store_mover mv;
	unsigned i, n = 0, bad = 0;
	uint64_t h;

	tm_init(&m, 8192);
	mv = tm_mover(&m);
	pattern(buf, sizeof(buf), 9);
	is_int(zu_store_reserve(st, 8, 4), 0, "reserve up to 8 segments, refill below half");
	is_int(zu_store_set_mover(st, &mv), 0, "a mover");
	is_int(zu_store_housekeeper_start(st), 0, "start the housekeeper");
	is_int(zu_store_housekeeper_start(st), -EINVAL, "only once");
	is_int(zu_store_set_mover(st, &mv), -EINVAL, "no new mover while it runs");
	for (i = 0; i < 8192; i++) {
		int err;

		while ((err = zu_store_put(st, buf, 1000, &h)) == -ENOSPC)
			usleep(100);   /* the reserve is refilled, not by us */
		m.e[n++] = h;
	}
	ok(becomes(st, reserve_full), "the housekeeper refilled the reserve");
	zu_store_stats(st, &s);
	ok(s.reserve_target_bytes == s.in_use_bytes / 32 / SEGB * SEGB,
	   "goal: 1/32 of the segments in use (%llu KiB)",
	   (unsigned long long)s.reserve_target_bytes >> 10);
	for (i = 0; i < n; i++)
		if (i % 3) {
			tm_lock(&m, i);
			zu_store_free(st, m.e[i]);
			tm_unlock(&m, i, 0);
		}
	ok(becomes(st, packed), "the housekeeper compacted 2/3 holes on its own");
	for (i = 0; i < n; i++) {
		uint64_t v = tm_lock(&m, i);

		bad += v && !holds(st, v, 1000, 9);
		tm_unlock(&m, i, v);
	}
	is_int(bad, 0, "the moved pages read back");
	for (i = 0; i < n; i++)
		if (m.e[i])
			zu_store_free(st, tm_lock(&m, i)), tm_unlock(&m, i, 0);
	ok(becomes(st, reserve_full) && arena_chunks(st) == 1,
	   "all freed: the housekeeper trims back to the reserve");
	zu_store_destroy(st);
	ok(1, "destroy stops the housekeeper");
	free(m.e);
}

/* Upfront commit (swap): everything committed at once, then no put ever
 * maps memory, a full store refuses at once (also put_last), and a free
 * gives the segment back to the stack, never to the kernel. */
static void test_commit_all(void)
{
	struct zu_store *st = zu_store_create(4 * MIB);
	struct zu_store_stats s;
	unsigned char buf[ZT_PAGE_SIZE];
	static uint64_t h[40000];
	uint64_t x, rss0 = rss_bytes();
	unsigned n = 0, i, bad = 0;
	int err;

	pattern(buf, sizeof(buf), 11);
	is_int(zu_store_housekeeper_start(st), -EINVAL, "no housekeeper before a commit");
	is_int(zu_store_commit_all(st), 0, "commit the whole 4 MiB limit");
	ok(rss_bytes() - rss0 >= 4 * MIB, "and it is resident (%" PRIu64 " KiB more)",
	   (rss_bytes() - rss0) >> 10);
	is_int(zu_store_commit_all(st), -EINVAL, "only once");
	is_int(zu_store_reserve(st, 4, 2), -EINVAL, "no reserve on top of it");
	is_int(zu_store_housekeeper_start(st), -EINVAL, "upfront: no housekeeper without a mover");
	zu_store_stats(st, &s);
	ok(s.arena_bytes == 4 * MIB && s.spare_bytes == 4 * MIB && s.in_use_bytes == 0,
	   "all 64 segments are spares, none in use");
	while (n < 39999 && (err = zu_store_put(st, buf, 64 + 32 * (n % 8), &h[n])) == 0)
		n++;
	is_int(err, -ENOSPC, "filled to the limit: -ENOSPC");
	is_int(zu_store_put_last(st, buf, 3000, &x), -ENOSPC, "put_last: -ENOSPC at once");
	is_int(zu_store_put_raw_last(st, buf, &x), -ENOSPC, "put_raw_last too");
	zu_store_stats(st, &s);
	ok(s.enospc_limit == 3 && s.enospc_reserve == 0, "refusals counted as the limit");
	is_int(zu_store_refill(st), 0, "a refill has nothing to commit");
	for (i = 0; i < n; i++)
		bad += !holds(st, h[i], zu_store_handle_len(h[i]), 11);
	is_int(bad, 0, "every page reads back");
	tap_diag("%u pages at the limit", n);
	for (i = 0; i < n; i++)
		zu_store_free(st, h[i]);
	is_int(zu_store_trim(st), 0, "trim");
	zu_store_stats(st, &s);
	ok(s.pages == 0 && s.arena_bytes == 4 * MIB && s.spare_bytes == 4 * MIB &&
	   s.chunks_released == 0, "freed segments stay committed, nothing unmapped");
	is_int(zu_store_put(st, buf, 3000, &x), 0, "and serve the next put");
	zu_store_destroy(st);
}

/* ---- compaction against a reference model ----------------------------------- */

#define M_PAGES 2048

/* Random put / overwrite / free / compact steps on a tight store; every
 * page is checked against the model (its length and seed) at the end and
 * after every compaction. */
static unsigned model_check(struct zu_store *st, struct tmodel *m, const uint64_t *seed)
{
	unsigned bad = 0;

	for (unsigned i = 0; i < M_PAGES; i++) {
		uint64_t v = m->e[i];

		bad += (v != 0) != (seed[i] != 0) ||
		       (v && !holds(st, v, zu_store_handle_len(v), seed[i]));
	}
	return bad;
}

static void model_step(struct zu_store *st, struct tmodel *m, uint64_t *seed, uint64_t *r,
		       unsigned *bad)
{
	unsigned char buf[ZT_PAGE_SIZE];
	uint64_t pg = tm_rand(r) % M_PAGES, h, k = tm_rand(r) % 16;

	if (k < 10) {
		size_t len = tm_len(r, 400);
		uint64_t sd = tm_rand(r) | 1;

		pattern(buf, len, sd);
		if ((len == ZT_PAGE_SIZE ? zu_store_put_raw(st, buf, &h)
					 : zu_store_put(st, buf, len, &h)) != 0)
			return;
		if (m->e[pg])
			zu_store_free(st, m->e[pg]);
		m->e[pg] = h;
		seed[pg] = sd;
	} else if (k < 15) {
		if (m->e[pg])
			zu_store_free(st, m->e[pg]);
		m->e[pg] = 0;
		seed[pg] = 0;
	} else if (zu_store_compact(st, tm_rand(r) % 2) > 0) {
		*bad += model_check(st, m, seed);
	}
}

/* A mover that checks, at the moment of publishing, what a kill there
 * would leave: the entry still names the old copy, which must be intact,
 * and the new copy must already be whole.  Every 7th move is "killed"
 * before it publishes (the store must then drop its copy). */
struct crash_mover {
	struct tmodel *m;
	struct zu_store *st;
	unsigned calls, torn;
};

static bool crash_relocate(void *ctx, uint64_t pgno, uint64_t old, uint64_t nh)
{
	struct crash_mover *c = ctx;
	size_t len = zu_store_handle_len(old);

	c->torn += len != zu_store_handle_len(nh) ||
		   memcmp(zu_store_data(c->st, old, NULL), zu_store_data(c->st, nh, NULL), len);
	if (++c->calls % 7 == 0)
		return false;
	return tm_relocate(c->m, pgno, old, nh);
}

static void crash_walk(void *ctx, struct zu_store *st, zu_store_visit_fn visit)
{
	tm_walk(((struct crash_mover *)ctx)->m, st, visit);
}

static void test_model(void)
{
	struct zu_store *st = zu_store_create(MIB);
	static uint64_t seed[M_PAGES];
	struct zu_store_mover mv;
	struct zu_store_stats s;
	struct tmodel m;
	uint64_t r = 7;
	unsigned bad = 0, i;

	struct crash_mover cm = { &m, st, 0, 0 };

	tm_init(&m, M_PAGES);
	mv = (struct zu_store_mover){ crash_walk, crash_relocate, &cm };
	zu_store_set_mover(st, &mv);
	for (i = 0; i < 200000; i++)
		model_step(st, &m, seed, &r, &bad);
	bad += model_check(st, &m, seed);
	zu_store_stats(st, &s);
	is_int(bad, 0, "200000 random put/free/compact steps: every page equals the model");
	is_int(cm.torn, 0, "at every publish both copies were whole (a kill loses nothing)");
	ok(s.compact_raced >= cm.calls / 7, "moves not published were dropped (%llu)",
	   (unsigned long long)s.compact_raced);
	tap_diag("model: %llu passes moved %llu pages; %llu puts refused; %llu pages left",
		 (unsigned long long)s.compactions, (unsigned long long)s.compact_pages,
		 (unsigned long long)s.enospc, (unsigned long long)s.pages);
	ok(s.compact_pages > 1000, "compaction moved pages");
	for (i = 0; i < M_PAGES; i++)
		if (m.e[i])
			zu_store_free(st, m.e[i]);
	zu_store_stats(st, &s);
	ok(s.pages == 0 && s.data_bytes == 0 && s.in_use_bytes == 0, "all freed: nothing in use");
	zu_store_destroy(st);
	free(m.e);
}

/* Threads rewrite, read and discard their pages under the entry lock while
 * the housekeeper moves them: a reader never sees a half-moved page and a
 * page rewritten meanwhile is never moved back. */
#define C_THREADS 3
#define C_PAGES   1024       /* per thread */

struct cworker {
	struct zu_store *st;
	struct tmodel *m;
	unsigned id, bad, ops;
	uint64_t seed[C_PAGES];
	_Atomic bool *stop;
};

static void cw_write(struct cworker *w, uint64_t pg, unsigned k, uint64_t *r)
{
	unsigned char buf[ZT_PAGE_SIZE];
	size_t len = tm_len(r, 400);
	uint64_t sd = tm_rand(r) | 1, h, old;
	unsigned i = (unsigned)(pg - (uint64_t)w->id * C_PAGES);

	pattern(buf, len, sd);
	if ((len == ZT_PAGE_SIZE ? zu_store_put_raw(w->st, buf, &h)
				 : zu_store_put(w->st, buf, len, &h)) != 0)
		return;
	old = tm_lock(w->m, pg);
	w->seed[i] = k ? sd : 0;
	tm_unlock(w->m, pg, k ? h : 0);
	if (old)
		zu_store_free(w->st, old);
	if (!k)
		zu_store_free(w->st, h);
}

static void *cworker_run(void *arg)
{
	struct cworker *w = arg;
	uint64_t r = w->id * 31 + 5;

	while (!atomic_load(w->stop)) {
		uint64_t pg = (uint64_t)w->id * C_PAGES + tm_rand(&r) % C_PAGES, v;
		unsigned k = (unsigned)(tm_rand(&r) % 8), i = (unsigned)(pg % C_PAGES);

		if (k < 4) {
			v = tm_lock(w->m, pg);
			w->bad += v ? !holds(w->st, v, zu_store_handle_len(v), w->seed[i])
				    : w->seed[i] != 0;
			tm_unlock(w->m, pg, v);
		} else {
			cw_write(w, pg, k - 4, &r);
		}
		w->ops++;
	}
	return NULL;
}

static void test_compact_threads(void)
{
	struct zu_store *st = zu_store_create(16 * MIB);
	struct cworker *w = calloc(C_THREADS, sizeof(*w));
	pthread_t t[C_THREADS];
	_Atomic bool stop = false;
	struct zu_store_mover mv;
	struct zu_store_stats s;
	struct tmodel m;
	unsigned i, bad = 0, ops = 0;

	tm_init(&m, C_THREADS * C_PAGES);
	mv = tm_mover(&m);
	zu_store_set_mover(st, &mv);
	zu_store_commit_all(st);
	is_int(zu_store_housekeeper_start(st), 0, "upfront with a mover: a compacting housekeeper");
	for (i = 0; i < C_THREADS; i++) {
		w[i] = (struct cworker){ .st = st, .m = &m, .id = i, .stop = &stop };
		pthread_create(&t[i], NULL, cworker_run, &w[i]);
	}
	for (i = 0; i < 40; i++) {   /* 2 s, with extra forced passes */
		usleep(50000);
		zu_store_compact(st, true);
	}
	atomic_store(&stop, true);
	for (i = 0; i < C_THREADS; i++) {
		pthread_join(t[i], NULL);
		bad += w[i].bad;
		ops += w[i].ops;
	}
	zu_store_stats(st, &s);
	is_int(bad, 0, "3 threads + compaction: every read saw its page whole");
	tap_diag("%u ops; %llu pages moved, %llu moves dropped (page rewritten meanwhile)",
		 ops, (unsigned long long)s.compact_pages, (unsigned long long)s.compact_raced);
	ok(s.compact_pages > 0, "pages were moved under the threads");
	for (i = 0; i < C_THREADS * C_PAGES; i++)
		if (m.e[i])
			zu_store_free(st, m.e[i]);
	/* The housekeeper may be in the middle of a pass (a copy made, not yet
	 * dropped): give it up to 2 s to finish before counting. */
	for (i = 0; i < 200; i++) {
		zu_store_stats(st, &s);
		if (s.pages == 0 && s.in_use_bytes == 0)
			break;
		usleep(10000);
	}
	ok(s.pages == 0 && s.in_use_bytes == 0, "all freed: nothing in use (pages %llu, in use %llu)",
	   (unsigned long long)s.pages, (unsigned long long)s.in_use_bytes);
	zu_store_destroy(st);
	free(m.e);
	free(w);
}

int main(void)
{
	errno = 0;
	ok(zu_store_create(1000) == NULL && errno == EINVAL, "limit below a segment: EINVAL");
	test_roundtrip();
	test_limit();
	test_release_rss();
	test_threads();
	test_reserve();
	test_housekeeper();
	test_commit_all();
	test_model();
	test_compact_threads();
	test_fill_churn();
	return tap_done();
}
