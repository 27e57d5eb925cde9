/*
 * t_store.c — the compressed store: round trips of every length, the
 * 3/4-page rule, the memory limit (never exceeded, -ENOSPC, other classes
 * too), reuse of freed slots, chunks given back to the OS (checked in
 * /proc/self/statm as well as in the stats), overhead for real lz4 pages,
 * and four threads putting, checking and freeing at once.  Reserve mode:
 * put (the I/O side) never commits a chunk (-ENOSPC with the arena
 * unchanged when the reserve is empty), free never unmaps, a refill
 * restores the reserve and never passes the limit, and the housekeeper
 * thread refills and trims on its own.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "tests/tap.h"
#include "ublk/codec.h"
#include "ublk/store.h"

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

/* A 1 MiB store is 4 chunks: fill one class to the limit. */
static void test_limit(void)
{
	struct zu_store *st = zu_store_create(MIB + 1000);
	unsigned char buf[ZT_PAGE_SIZE];
	static uint64_t h[40000];
	struct zu_store_stats s;
	unsigned n = 0, i, bad = 0;
	uint64_t first, again;
	int err;

	pattern(buf, 100, 1);
	while ((err = zu_store_put(st, buf, 100, &h[n])) == 0 && n < 39999)
		n++;
	is_int(err, -ENOSPC, "store to the limit: -ENOSPC");
	zu_store_stats(st, &s);
	is_int(s.limit_bytes, MIB, "limit rounded down to whole chunks");
	is_int(s.arena_bytes, MIB, "arena stops at the limit");
	is_int(s.cls[3].chunks, 4, "the 128 B class owns all 4 chunks");
	is_int(n, s.cls[3].slots, "every slot of the 4 chunks was used");
	tap_diag("128 B class: %u pages in 1 MiB (%.2f%% of the arena is data)", n,
		 100.0 * (double)n * 100 / (double)MIB);
	is_int(zu_store_put(st, buf, 1000, &first), -ENOSPC, "another class: -ENOSPC too");
	is_int(zu_store_put_raw(st, buf, &first), -ENOSPC, "raw: -ENOSPC too");
	zu_store_stats(st, &s);
	is_int(s.enospc, 3, "3 puts refused");

	/* Reuse: a freed slot is used again without growing. */
	first = h[n / 2];
	zu_store_free(st, first);
	is_int(zu_store_put(st, buf, 100, &again), 0, "put after a free fits again");
	is_int(again, first, "it reuses the freed slot");
	h[n / 2] = again;
	for (i = 0; i < n; i++)
		bad += !holds(st, h[i], 100, 1);
	is_int(bad, 0, "a full store reads back");

	/* Free every page of one chunk (handle bits 28..55 name the chunk):
	 * that chunk alone goes back. */
	for (i = 0; i < n; i++)
		if (h[i] >> 28 == first >> 28) {
			zu_store_free(st, h[i]);
			h[i] = UINT64_MAX;
		}
	zu_store_stats(st, &s);
	ok(s.arena_bytes == 4 * ZU_STORE_CHUNK && s.spare_bytes == ZU_STORE_CHUNK,
	   "an emptied chunk becomes a spare while the others stay");
	zu_store_trim(st);
	zu_store_stats(st, &s);
	ok(s.arena_bytes == 3 * ZU_STORE_CHUNK && s.chunks_released == 1,
	   "trim releases it");
	for (i = 0; i < n; i++)
		if (h[i] != UINT64_MAX)
			zu_store_free(st, h[i]);
	zu_store_stats(st, &s);
	zu_store_trim(st);
	zu_store_stats(st, &s);
	ok(s.arena_bytes == 0 && s.chunks_released == 4, "free all + trim: 4 chunks released");
	is_int(zu_store_put(st, buf, 1000, &first), 0, "another class fits after release");
	zu_store_free(st, first);
	zu_store_destroy(st);
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

/* A text-like page with k/16 of it overwritten by noise: lz4 and zstd
 * sizes spread over most classes. */
static void page_varied(unsigned char *page, unsigned k, uint64_t *seed)
{
	static const char *words[] = { "the ", "page ", "memory ", "swap ", "zram ",
				       "tier ", "of ", "and ", "compressed ", "ublk\n" };
	size_t n = 0;

	while (n < ZT_PAGE_SIZE) {
		const char *w;

		*seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
		w = words[(*seed >> 33) % 10];
		while (*w && n < ZT_PAGE_SIZE)
			page[n++] = (unsigned char)*w++;
	}
	for (n = 0; n < ZT_PAGE_SIZE * k / 16; n++) {
		*seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
		page[n] = (unsigned char)(*seed >> 33);
	}
}

/* Where the arena bytes beyond the data go. */
static void diag_overhead(const char *what, const struct zu_store_stats *s)
{
	uint64_t round = 0, empty = 0, slots = 0, i;

	for (i = 0; i < ZU_STORE_NCLASSES; i++) {
		round += s->cls[i].pages * s->cls[i].size - s->cls[i].bytes;
		empty += (s->cls[i].slots - s->cls[i].pages) * s->cls[i].size;
		slots += s->cls[i].slots * s->cls[i].size;
	}
	tap_diag("%s: %llu pages, %llu data bytes (%.0f B/page), arena %llu: overhead "
		 "%.2f%% = %.1f B/page (class rounding %.1f, free slots %.1f, "
		 "chunk headers %.1f), %llu raw",
		 what, (unsigned long long)s->pages, (unsigned long long)s->data_bytes,
		 (double)s->data_bytes / (double)s->pages,
		 (unsigned long long)s->arena_bytes,
		 100.0 * (double)(s->arena_bytes - s->data_bytes) / (double)s->data_bytes,
		 (double)(s->arena_bytes - s->data_bytes) / (double)s->pages,
		 (double)round / (double)s->pages, (double)empty / (double)s->pages,
		 (double)(s->arena_bytes - slots) / (double)s->pages,
		 (unsigned long long)s->raw_pages);
}

/* Overhead with real compressed pages (lz4 and zstd:3 of varied data),
 * then the same length mix at 10x the count without compressing again. */
static void test_overhead(void)
{
	struct zu_codec_ctx *ctx = zu_codec_ctx_create(3);
	struct zu_store *st = zu_store_create(512 * MIB);
	const struct zt_codec codec[2] = { { ZT_CODEC_LZ4, 0 }, { ZT_CODEC_ZSTD, 3 } };
	static unsigned char page[ZT_PAGE_SIZE];
	static uint16_t lens[10000];
	struct zu_store_stats s;
	uint64_t h, seed = 1;
	unsigned i;
	int n;

	for (i = 0; i < 10000; i++) {
		page_varied(page, i % 13, &seed);
		n = zu_codec_compress(ctx, &codec[i % 2], page, zu_codec_buf(ctx),
				      ZU_STORE_MAX_COMPRESSED);
		lens[i] = n > 0 ? (uint16_t)n : ZT_PAGE_SIZE;
		if (n > 0)
			zu_store_put(st, zu_codec_buf(ctx), (size_t)n, &h);
		else
			zu_store_put_raw(st, page, &h);
	}
	zu_store_stats(st, &s);
	diag_overhead("10000 lz4/zstd:3 pages", &s);
	ok(s.raw_pages < s.pages, "most pages compressed");
	ok(s.arena_bytes < s.data_bytes + s.pages * 32 + ZU_STORE_NCLASSES * ZU_STORE_CHUNK,
	   "overhead under 32 B/page + one chunk per class");
	for (i = 0; i < 90000; i++) {
		if (lens[i % 10000] == ZT_PAGE_SIZE)
			zu_store_put_raw(st, page, &h);
		else
			zu_store_put(st, page, lens[i % 10000], &h);
	}
	zu_store_stats(st, &s);
	diag_overhead("100000 pages, same length mix", &s);
	ok(s.arena_bytes < s.data_bytes + s.pages * 32 + ZU_STORE_NCLASSES * ZU_STORE_CHUNK,
	   "100000 pages: overhead under 32 B/page + one chunk per class");
	zu_store_destroy(st);
	zu_codec_ctx_destroy(ctx);
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

/* A 4 MiB store (16 chunks) with a reserve of 4, driven by hand. */
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
	is_int(zu_store_reserve(st, 0, 0), -EINVAL, "reserve of 0 chunks: -EINVAL");
	is_int(zu_store_reserve(st, 2, 3), -EINVAL, "low above target: -EINVAL");
	is_int(zu_store_housekeeper_start(st), -EINVAL, "no housekeeper without a reserve");
	is_int(zu_store_reserve(st, 4, 2), 0, "reserve 4 chunks");
	zu_store_stats(st, &s);
	ok(s.arena_bytes == 4 * ZU_STORE_CHUNK && s.spare_bytes == 4 * ZU_STORE_CHUNK &&
	   s.reserve_target_bytes == 4 * ZU_STORE_CHUNK, "the reserve is committed up front");
	for (k = 0; k < 4; k++)
		is_int(zu_store_put(st, buf, 100 + 100 * k, &h[n++]), 0, "a new class takes a reserve chunk");
	ok(arena_chunks(st) == 4 && spare_chunks(st) == 0, "reserve used up, nothing committed");
	is_int(zu_store_put(st, buf, 600, &x), -ENOSPC, "reserve empty: put is -ENOSPC");
	is_int(zu_store_put_raw(st, buf, &x), -ENOSPC, "raw too");
	while ((err = zu_store_put(st, buf, 100, &h[n])) == 0 && n < 39999)
		n++;
	is_int(err, -ENOSPC, "a class whose chunk is full: -ENOSPC");
	is_int(arena_chunks(st), 4, "the I/O side never committed a chunk");
	/* A page with nowhere else to go is not refused for an empty reserve. */
	is_int(zu_store_put_last(st, buf, 700, &h[n]), 0, "put_last with the reserve empty: 0");
	n++;
	is_int(zu_store_put_raw_last(st, buf, &h[n]), 0, "put_raw_last too");
	n++;
	is_int(arena_chunks(st), 6, "each committed its own chunk");
	for (k = 0; k < 2; k++)
		zu_store_free(st, h[--n]);
	ok(arena_chunks(st) == 6 && spare_chunks(st) == 2, "freed, they stay as spares");
	is_int(zu_store_trim(st), 0, "trim keeps the reserve-sized stack");

	is_int(zu_store_refill(st), 2, "refill commits the 2 chunks the reserve lacks");
	ok(arena_chunks(st) == 8 && spare_chunks(st) == 4, "the reserve is back");
	is_int(zu_store_put(st, buf, 600, &h[n]), 0, "a new class fits again");
	n++;
	/* Fill and refill until the limit: the arena never passes it. */
	for (k = 0; k < 40 && n < 39000; k++) {
		while (n < 39999 && zu_store_put(st, buf, 64 + 32 * (k % 90), &h[n]) == 0)
			n++;
		over += arena_chunks(st) > 16;
		if (zu_store_refill(st) == 0 && spare_chunks(st) == 0)
			break;
	}
	zu_store_stats(st, &s);
	ok(over == 0 && s.arena_bytes == 4 * MIB, "refills stop at the limit (16 chunks)");
	is_int(zu_store_refill(st), 0, "at the limit a refill commits nothing");
	is_int(zu_store_put(st, buf, 3000, &x), -ENOSPC, "and put is -ENOSPC");
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
	ok(s.arena_bytes == 4 * ZU_STORE_CHUNK && s.spare_bytes == s.arena_bytes,
	   "a refill trims the spares back to the reserve");
	zu_store_destroy(st);
}

/* Wait up to 2 s for the housekeeper to bring the spares to want. */
static bool spares_become(struct zu_store *st, uint64_t want)
{
	for (int i = 0; i < 2000; i++) {
		if (spare_chunks(st) == want)
			return true;
		usleep(1000);
	}
	return false;
}

static void test_housekeeper(void)
{
	struct zu_store *st = zu_store_create(4 * MIB);
	unsigned char buf[ZT_PAGE_SIZE];
	uint64_t h[8];
	unsigned k, fails = 0;

	pattern(buf, sizeof(buf), 9);
	is_int(zu_store_reserve(st, 8, 4), 0, "reserve 8 chunks, refill below 4");
	is_int(zu_store_housekeeper_start(st), 0, "start the housekeeper");
	is_int(zu_store_housekeeper_start(st), -EINVAL, "only once");
	for (k = 0; k < 5; k++)
		fails += zu_store_put(st, buf, 100 + 100 * k, &h[k]) != 0;
	is_int(fails, 0, "5 new classes from the reserve");
	ok(spares_become(st, 8), "the housekeeper refilled the reserve to 8");
	is_int(arena_chunks(st), 13, "5 used + 8 in reserve");
	for (k = 0; k < 5; k++)
		zu_store_free(st, h[k]);
	ok(spares_become(st, 8) && arena_chunks(st) == 8,
	   "emptied chunks: the housekeeper trims back to 8");
	zu_store_destroy(st);
	ok(1, "destroy stops the housekeeper");
}

/* Upfront commit (swap): everything committed at once, then no put ever
 * maps memory, a full store refuses at once (also put_last), and a free
 * gives the chunk back to the reserve, never to the kernel. */
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
	is_int(zu_store_commit_all(st), 0, "commit the whole 4 MiB limit");
	ok(rss_bytes() - rss0 >= 4 * MIB, "and it is resident (%" PRIu64 " KiB more)",
	   (rss_bytes() - rss0) >> 10);
	is_int(zu_store_commit_all(st), -EINVAL, "only once");
	is_int(zu_store_reserve(st, 4, 2), -EINVAL, "no reserve on top of it");
	zu_store_stats(st, &s);
	ok(s.arena_bytes == 4 * MIB && s.spare_bytes == 4 * MIB, "all 16 chunks are spares");
	while (n < 39999 && (err = zu_store_put(st, buf, 64 + 32 * (n % 8), &h[n])) == 0)
		n++;
	is_int(err, -ENOSPC, "filled to the limit: -ENOSPC");
	is_int(zu_store_put_last(st, buf, 700, &x), -ENOSPC, "put_last: -ENOSPC at once");
	is_int(zu_store_put_raw_last(st, buf, &x), -ENOSPC, "put_raw_last too");
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
	   s.chunks_released == 0, "freed chunks stay committed, nothing unmapped");
	is_int(zu_store_put(st, buf, 3000, &x), 0, "and serve the next put");
	zu_store_destroy(st);
}

int main(void)
{
	errno = 0;
	ok(zu_store_create(1000) == NULL && errno == EINVAL, "limit below a chunk: EINVAL");
	test_roundtrip();
	test_limit();
	test_release_rss();
	test_overhead();
	test_threads();
	test_reserve();
	test_housekeeper();
	test_commit_all();
	return tap_done();
}
