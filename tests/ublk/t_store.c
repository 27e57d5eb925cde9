/*
 * t_store.c — the compressed store: round trips of every length, the
 * 3/4-page rule, the memory limit (never exceeded, -ENOSPC counted by
 * cause), emptied segments given back (in /proc/self/statm as well as in
 * the stats), four threads putting, checking and freeing at once.  Reserve
 * mode and upfront commit are in t_store_reserve.c, compaction and the
 * overhead at every fill in t_store_compact.c.
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
		tm_pattern(buf, len, len);
		fails += zu_store_put(st, buf, len, &h[len]) != 0;
	}
	is_int(fails, 0, "put every length 1..3072");
	for (len = 1; len <= ZU_STORE_MAX_COMPRESSED; len++)
		bad += !tm_holds(st, h[len], len, len);
	is_int(bad, 0, "every length reads back");
	is_int(zu_store_put(st, buf, ZU_STORE_MAX_COMPRESSED + 1, &h[0]), -E2BIG,
	       "3073 bytes: -E2BIG");
	is_int(zu_store_put(st, buf, 0, &h[0]), -EINVAL, "0 bytes: -EINVAL");
	tm_pattern(buf, ZT_PAGE_SIZE, 99);
	is_int(zu_store_put_raw(st, buf, &h[0]), 0, "put_raw");
	ok(tm_holds(st, h[0], ZT_PAGE_SIZE, 99), "raw page reads back, length 4096");
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

/* Holes are not reused in place; the compactor packs them. */
static void limit_holes(struct zu_store *st, struct tmodel *mm, unsigned n)
{
	unsigned char buf[ZT_PAGE_SIZE];
	unsigned i, bad = 0, per = TM_SEG_PAGES(100);
	struct zu_store_stats s;
	uint64_t h, first;

	tm_pattern(buf, 100, 1);
	for (i = 0; i < 4 * per; i += 2) {
		zu_store_free(st, mm->e[i]);
		mm->e[i] = 0;
	}
	is_int(zu_store_put(st, buf, 100, &h), -ENOSPC, "holes are not reused in place");
	ok(zu_store_compact(st, true) > 0, "the compactor moves the pages of half-empty segments");
	while (zu_store_compact(st, true) > 0)
		;
	zu_store_stats(st, &s);
	ok(s.compact_pages >= per && s.compact_freed_bytes >= 2 * ZU_STORE_CHUNK && s.compact_raced == 0,
	   "%llu pages moved in %llu passes, %llu KiB freed", (unsigned long long)s.compact_pages,
	   (unsigned long long)s.compactions, (unsigned long long)s.compact_freed_bytes >> 10);
	is_int(zu_store_put(st, buf, 100, &first), 0, "a put fits again");
	zu_store_free(st, first);
	for (i = 0; i < n; i++)
		bad += mm->e[i] && !tm_holds(st, mm->e[i], 100, 1);
	is_int(bad, 0, "every page reads back after the moves");
}

/* Free every page of one segment: that segment alone goes back. */
static void limit_release(struct zu_store *st, struct tmodel *mm, unsigned n)
{
	unsigned char buf[ZT_PAGE_SIZE];
	struct zu_store_stats s;
	uint64_t first, used;
	unsigned i;

	tm_pattern(buf, 100, 1);
	first = (mm->e[n - 1] >> 12) / ZU_STORE_CHUNK;
	zu_store_stats(st, &s);
	used = s.in_use_bytes;
	for (i = 0; i < n; i++)
		if (mm->e[i] && (mm->e[i] >> 12) / ZU_STORE_CHUNK == first) {
			zu_store_free(st, mm->e[i]);
			mm->e[i] = 0;
		}
	zu_store_stats(st, &s);
	ok(s.in_use_bytes == used - ZU_STORE_CHUNK && s.spare_bytes >= ZU_STORE_CHUNK,
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
	unsigned n = 0, per = TM_SEG_PAGES(100);
	uint64_t h;
	int err;

	tm_init(&m, 20000);
	mv = tm_mover(&m);
	is_int(zu_store_set_mover(st, &mv), 0, "a mover (the model table)");
	tm_pattern(buf, 100, 1);
	while (n < 20000 && (err = zu_store_put(st, buf, 100, &h)) == 0)
		m.e[n++] = h;
	is_int(err, -ENOSPC, "store to the limit: -ENOSPC");
	zu_store_stats(st, &s);
	is_int(s.limit_bytes, MIB, "limit rounded down to whole segments");
	is_int(s.arena_bytes, MIB - ZU_STORE_CHUNK, "arena stops at the limit, less the compactor's segment");
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

	rss0 = tm_rss_bytes();
	tm_pattern(buf, 2048, 5);
	for (i = 0; i < n; i++)
		zu_store_put(st, buf, 2048, &h[i]);
	rss1 = tm_rss_bytes();
	for (i = 0; i < n; i++)
		zu_store_free(st, h[i]);
	rss2 = tm_rss_bytes();
	tap_diag("RSS: %llu KiB before, %llu KiB with 16 MiB stored, %llu KiB after free",
		 (unsigned long long)rss0 >> 10, (unsigned long long)rss1 >> 10,
		 (unsigned long long)rss2 >> 10);
	ok(rss1 >= rss0 + 15 * MIB, "RSS grows with the data");
	ok(rss2 + 14 * MIB <= rss1, "RSS falls back after freeing (chunks released)");
	zu_store_destroy(st);
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
			tm_pattern(buf, l, s);
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

			w->bad += !tm_holds(w->st, h[k], len[k], seed[k]);
			zu_store_free(w->st, h[k]);
			h[k] = h[--n];
			len[k] = len[n];
			seed[k] = seed[n];
		}
	}
	while (n--) {
		w->bad += !tm_holds(w->st, h[n], len[n], seed[n]);
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

int main(void)
{
	errno = 0;
	ok(zu_store_create(1000) == NULL && errno == EINVAL, "limit below a segment: EINVAL");
	test_roundtrip();
	test_limit();
	test_release_rss();
	test_threads();
	return tap_done();
}
