/*
 * b_corpus.c — `make bench`: the classifier on real process memory.
 *
 * Pages: the corpus (tests/bench/corpus.h: $ZT_CORPUS, $ZT_BENCH_PAGES,
 * $ZT_BENCH_CLOCK); $ZT_BENCH_ONLY=estimate, cost or write prints one
 * table; $ZT_BENCH_ISA=scalar, avx2 or avx512 caps the classifier's paths
 * (policy/isa.h), as on a CPU that has no better one (the cost table then
 * times that path alone).
 * Instructions per page, which do not vary from run to run:
 * tests/bench/callgrind-classify.sh.
 *
 * Three tables:
 *  estimate  the sampled entropy against zt_entropy_exact on every page
 *            that is not same-filled: max, p99 and mean absolute error, and
 *            how many pages change class (entropy thresholds alone, and the
 *            whole classifier against the exact entropy and byte set);
 *  cost      ns/page of LZ4_compress_default and of zt_classify on each
 *            of its paths (scalar, AVX2, AVX-512) this CPU has, from
 *            memory and from cache (pass_ns());
 *  write     on the compressible pages (not same-filled, lz4 fits the
 *            store's 3/4-page limit), the write path step by step: the
 *            queue thread's codec, + zu_store_put, + zt_classify first,
 *            against LZ4_compress_default alone.
 * Every figure is the median of ROUNDS passes, the methods taking turns.
 */
#include <lz4.h>
#include <math.h>

#include "policy/entropy_sample.h"
#include "policy/isa.h"
#include "tests/bench/corpus.h"
#include "ublk/codec.h"
#include "ublk/store.h"

#define ROUNDS 7

/* ---- the estimate against the exact entropy ------------------------------------ */

static unsigned distinct_bytes(const unsigned char *p)
{
	bool seen[256] = { false };
	unsigned k = 0;

	for (size_t i = 0; i < ZT_PAGE_SIZE; i++) {
		k += !seen[p[i]];
		seen[p[i]] = true;
	}
	return k;
}

static enum zt_class by_entropy(double h, const struct zt_thresholds *t)
{
	return h >= t->random_entropy ? ZT_CLASS_RANDOM
	     : h < t->text_entropy ? ZT_CLASS_TEXT : ZT_CLASS_MIXED;
}

/* What zt_classify would say with the exact entropy and the page's own
 * byte set instead of the sample's. */
static enum zt_class exact_class(const unsigned char *p, double h, const struct zt_thresholds *t)
{
	enum zt_class c = by_entropy(h, t);

	if (c == ZT_CLASS_MIXED && distinct_bytes(p) < t->text_byteset)
		return ZT_CLASS_TEXT;
	return c;
}

static void estimate_table(const struct corpus *c, const struct zt_thresholds *t)
{
	double *err = malloc(c->n * sizeof(*err)), sum = 0;
	size_t n = 0, by_h = 0, whole = 0;
	uint64_t fill;

	for (size_t i = 0; i < c->n; i++) {
		const unsigned char *p = page_at(c, i);
		if (zt_page_samefill(p, &fill))
			continue;
		double exact = zt_entropy_exact(p, ZT_PAGE_SIZE), est = zt_entropy_estimate(p);
		struct zt_page_class pc;
		zt_classify(p, t, &pc);
		by_h += by_entropy(est, t) != by_entropy(exact, t);
		whole += pc.cls != exact_class(p, exact, t);
		err[n] = fabs(est - exact);
		sum += err[n++];
	}
	if (n) {
		qsort(err, n, sizeof(*err), cmp_double);
		printf("\n[estimate] %zu pages not same-filled: |estimate - exact| bits/byte:"
		       " max %.3f  p99 %.3f  mean %.3f\n", n, err[n - 1], err[n * 99 / 100], sum / (double)n);
		printf("  class changes: entropy thresholds %zu (%.2f%%), whole classifier %zu (%.2f%%)\n",
		       by_h, 100.0 * (double)by_h / (double)n, whole, 100.0 * (double)whole / (double)n);
	}
	free(err);
}

/* ---- timing ---------------------------------------------------------------------- */

static volatile size_t sink;
static char lz4_out[LZ4_COMPRESSBOUND(ZT_PAGE_SIZE)];
static struct zt_thresholds thresholds;

typedef size_t (*method_fn)(const unsigned char *page);

/*
 * ns per page of one pass of fn over the listed pages, two ways:
 *  memory: the pages as they are, 256 MiB of them (not in any cache, as a
 *          page the kernel swaps out of a process); the pass is timed;
 *  cache:  each block of BLOCK pages first copied into a buffer, untimed,
 *          then processed, timed: as in the ublk server, where the kernel
 *          has just copied the request's data into the queue's buffer.
 */
#define BLOCK 8
static unsigned char cache_buf[BLOCK * ZT_PAGE_SIZE] __attribute__((aligned(4096)));

static double pass_ns(const struct corpus *c, const size_t *idx, size_t n, method_fn fn,
		      bool cached)
{
	size_t acc = 0;
	double t = 0;

	if (!cached) {
		double t0 = now_ns();
		for (size_t i = 0; i < n; i++)
			acc += fn(page_at(c, idx[i]));
		t = now_ns() - t0;
	}
	for (size_t i = 0; cached && i + BLOCK <= n; i += BLOCK) {
		for (size_t k = 0; k < BLOCK; k++)
			memcpy(cache_buf + k * ZT_PAGE_SIZE, page_at(c, idx[i + k]), ZT_PAGE_SIZE);
		double t0 = now_ns();
		for (size_t k = 0; k < BLOCK; k++)
			acc += fn(cache_buf + k * ZT_PAGE_SIZE);
		t += now_ns() - t0;
	}
	sink = acc;
	return t / (double)(cached ? n / BLOCK * BLOCK : n);
}

/* The classifier's paths: up to $ZT_BENCH_ISA (scalar, avx2, avx512) if
 * set (only_isa), or the best this CPU has. */
static enum zt_isa top_isa = ZT_ISA_COUNT - 1;
static bool only_isa;

/* Median ns/page of each method over ROUNDS passes, the methods taking
 * turns pass by pass so that a burst of load elsewhere favours none.
 * Method m runs with the classifier's paths up to isa[m] (top_isa if isa
 * is NULL). */
static void medians(const struct corpus *c, const size_t *idx, size_t n, const method_fn *fn,
		    const enum zt_isa *isa, int nfn, bool cached, void (*after)(void), double *med)
{
	double t[8][ROUNDS];

	for (int r = 0; r < ROUNDS; r++) {
		for (int m = 0; m < nfn; m++) {
			zt_isa_limit(isa ? isa[m] : top_isa);
			t[m][r] = pass_ns(c, idx, n, fn[m], cached);
			if (after)
				after();
		}
	}
	for (int m = 0; m < nfn; m++)
		med[m] = median(t[m], ROUNDS);
}

/* ---- cost per page --------------------------------------------------------------- */

static size_t run_classify(const unsigned char *p)
{
	struct zt_page_class pc;
	zt_classify(p, &thresholds, &pc);
	return pc.cls;
}

static size_t run_lz4(const unsigned char *p)
{
	return (size_t)LZ4_compress_default((const char *)p, lz4_out, ZT_PAGE_SIZE,
					    (int)sizeof(lz4_out));
}

/* lz4, then zt_classify on each of its paths up to top_isa that this CPU
 * has (on top_isa alone with $ZT_BENCH_ISA, as a CPU that has no better
 * path would run), taking turns on the same pages. */
static void cost_table(const struct corpus *c, const size_t *all)
{
	method_fn fn[1 + ZT_ISA_COUNT] = { run_lz4 };
	enum zt_isa isa[1 + ZT_ISA_COUNT] = { top_isa };
	double med[1 + ZT_ISA_COUNT];
	int n = 1;

	for (int i = only_isa ? (int)top_isa : 0; i <= (int)top_isa; i++) {
		if (zt_sample_impl((enum zt_isa)i)) {
			isa[n] = (enum zt_isa)i;
			fn[n++] = run_classify;
		}
	}
	printf("\n[cost] every page, median of %d passes (%s time), ns/page:\n", ROUNDS, clock_name());
	for (int cached = 0; cached < 2; cached++) {
		medians(c, all, c->n, fn, isa, n, cached, NULL, med);
		printf("  %-6s lz4 %5.0f ", cached ? "cache" : "memory", med[0]);
		for (int m = 1; m < n; m++)
			printf(" classify %s %4.0f (1/%.1f)", zt_isa_name(isa[m]), med[m], med[0] / med[m]);
		printf("\n");
	}
}

/* ---- write path ------------------------------------------------------------------ */

/* The queue thread's codec and a store as a swap device has it (the whole
 * limit committed upfront, so a put takes memory that is already there). */
static struct zu_codec_ctx *codec;
static struct zu_store *store;
static uint64_t *handles;
static size_t stored;

/* The write path's steps, cumulatively: compress with the codec (tier_mem.c
 * store_put), then store, then classify first (tgt_tiered.c place_from). */
static size_t write_page(const unsigned char *p, int steps)
{
	static const struct zt_codec lz4 = { .kind = ZT_CODEC_LZ4 };
	struct zt_page_class pc;
	void *dst = zu_codec_buf(codec);

	if (steps >= 2)
		zt_classify(p, &thresholds, &pc);
	int len = zu_codec_compress(codec, &lz4, p, dst, ZU_STORE_MAX_COMPRESSED);
	if (len > 0 && steps >= 1 && zu_store_put(store, dst, (size_t)len, &handles[stored]) == 0)
		stored++;
	return (size_t)len;
}

static size_t w_codec(const unsigned char *p) { return write_page(p, 0); }
static size_t w_store(const unsigned char *p) { return write_page(p, 1); }
static size_t w_classify(const unsigned char *p) { return write_page(p, 2); }

/* After a pass: empty the store (untimed). */
static void empty_store(void)
{
	while (stored)
		zu_store_free(store, handles[--stored]);
}

/* The pages lz4 shrinks to what the store takes, and not same-filled. */
static size_t compressible(const struct corpus *c, size_t *idx)
{
	size_t n = 0;
	uint64_t fill;

	for (size_t i = 0; i < c->n; i++) {
		const unsigned char *p = page_at(c, i);
		if (!zt_page_samefill(p, &fill) && run_lz4(p) <= ZU_STORE_MAX_COMPRESSED)
			idx[n++] = i;
	}
	return n;
}

static void write_table(const struct corpus *c, size_t *idx)
{
	static const method_fn fn[4] = { run_lz4, w_codec, w_store, w_classify };
	static const char *const names[4] = {
		"LZ4_compress_default", "codec lz4", "codec lz4 + store", "classify + codec lz4 + store",
	};
	size_t n = compressible(c, idx);
	double med[4];

	codec = zu_codec_ctx_create(0);
	store = zu_store_create(UINT64_C(1) << 30);
	handles = malloc(c->n * sizeof(*handles));
	if (!codec || !store || !handles || !n || zu_store_commit_all(store)) {
		fprintf(stderr, "b_corpus: write path: no codec, store or pages\n");
		exit(1);
	}
	printf("\n[write] %zu compressible pages, median of %d passes (%s time), ns/page:\n", n,
	       ROUNDS, clock_name());
	for (int cached = 0; cached < 2; cached++) {
		medians(c, idx, n, fn, NULL, 4, cached, empty_store, med);
		for (int m = 0; m < 4; m++)
			printf("  %-6s %-30s %5.0f  throughput %.2fx of lz4\n", cached ? "cache" : "memory",
			       names[m], med[m], med[0] / med[m]);
	}
	zu_store_destroy(store);
	zu_codec_ctx_destroy(codec);
	free(handles);
}

/* $ZT_BENCH_ISA: the classifier's paths go no higher, as on a CPU that has
 * no better one.  false if the name is not one of them. */
static bool pick_isa(void)
{
	const char *want = getenv("ZT_BENCH_ISA");

	for (int i = 0; want && i < ZT_ISA_COUNT; i++)
		if (!strcmp(want, zt_isa_name((enum zt_isa)i)))
			top_isa = (enum zt_isa)i;
	if (want && strcmp(want, zt_isa_name(top_isa))) {
		fprintf(stderr, "b_corpus: ZT_BENCH_ISA=%s: not scalar, avx2 or avx512\n", want);
		return false;
	}
	only_isa = want != NULL;
	while (!zt_sample_impl(top_isa))
		top_isa--;
	zt_isa_limit(top_isa);
	printf("b_corpus: classifier paths up to %s\n", zt_isa_name(top_isa));
	return true;
}

int main(void)
{
	struct corpus c = load_corpus("b_corpus");
	const char *only = getenv("ZT_BENCH_ONLY");   /* estimate | cost | write */

	if (!c.n)
		return 0;
	if (!pick_isa())
		return 1;
	zt_thresholds_default(&thresholds);
	size_t *idx = malloc(c.n * sizeof(*idx));
	for (size_t i = 0; i < c.n; i++)
		idx[i] = i;
	if (!only || !strcmp(only, "estimate"))
		estimate_table(&c, &thresholds);
	if (!only || !strcmp(only, "cost"))
		cost_table(&c, idx);
	if (!only || !strcmp(only, "write"))
		write_table(&c, idx);
	free(idx);
	free((void *)c.pages);
	return 0;
}
