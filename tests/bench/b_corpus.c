/*
 * b_corpus.c — `make bench`: the classifier on real process memory.
 *
 * Pages: the corpus `make vm-bench` builds (tests/vm/corpus: resident
 * anonymous pages of perl, python3 and node), read from $ZT_CORPUS or
 * build/vm/corpus.bin; without it the benchmark says so and passes.
 * $ZT_BENCH_PAGES takes the first N pages only (a callgrind run on a
 * subset: see the README's "Measured" section for the command).
 *
 * Three tables, each from one run:
 *  estimate  the sampled entropy against zt_entropy_exact on every page
 *            that is not same-filled: max, p99 and mean absolute error, and
 *            how many pages change class (entropy thresholds alone, and the
 *            whole classifier against the exact entropy and byte set);
 *  cost      ns/page of zt_classify and of LZ4_compress_default over the
 *            whole corpus (256 MiB: pages come from memory, as at swap-out),
 *            the median of ROUNDS passes taken in turn;
 *  write     on the compressible pages (not same-filled, lz4 fits the
 *            store's 3/4-page limit): classify + compress (the queue
 *            thread's codec) + zu_store_put, against LZ4_compress_default
 *            alone, median of ROUNDS passes; the store is emptied between
 *            passes, outside the timing.
 */
#include <fcntl.h>
#include <lz4.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "policy/policy.h"
#include "ublk/codec.h"
#include "ublk/store.h"

#define ROUNDS 7

struct corpus {
	const unsigned char *pages;
	size_t n;
};

static const unsigned char *page_at(const struct corpus *c, size_t i)
{
	return c->pages + i * ZT_PAGE_SIZE;
}

/* The corpus, read into memory; 0 pages when absent.  With a limit, that
 * many pages spread evenly over it (every process, not the first one). */
static struct corpus load_corpus(void)
{
	const char *path = getenv("ZT_CORPUS") ? getenv("ZT_CORPUS") : "build/vm/corpus.bin";
	const char *lim = getenv("ZT_BENCH_PAGES");
	struct corpus c = { NULL, 0 };
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &sb) < 0 || sb.st_size < (off_t)ZT_PAGE_SIZE) {
		printf("b_corpus: no corpus at %s (make vm-bench builds it, or set ZT_CORPUS): skipped\n",
		       path);
		if (fd >= 0)
			close(fd);
		return c;
	}
	size_t total = (size_t)sb.st_size / ZT_PAGE_SIZE;
	c.n = lim && (size_t)atol(lim) > 0 && (size_t)atol(lim) < total ? (size_t)atol(lim) : total;
	unsigned char *buf = aligned_alloc(ZT_PAGE_SIZE, c.n * ZT_PAGE_SIZE);
	for (size_t i = 0; buf && i < c.n; i++) {
		if (pread(fd, buf + i * ZT_PAGE_SIZE, ZT_PAGE_SIZE,
			  (off_t)(i * (total / c.n) * ZT_PAGE_SIZE)) != (ssize_t)ZT_PAGE_SIZE) {
			perror("b_corpus: read");
			exit(1);
		}
	}
	close(fd);
	if (!buf) {
		fprintf(stderr, "b_corpus: out of memory\n");
		exit(1);
	}
	c.pages = buf;
	printf("b_corpus: %s, %zu of its %zu pages (%.0f MiB)\n", path, c.n, total,
	       (double)c.n * ZT_PAGE_SIZE / (1 << 20));
	return c;
}

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

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

/* ---- cost per page --------------------------------------------------------------- */

static volatile size_t sink;
static char lz4_out[LZ4_COMPRESSBOUND(ZT_PAGE_SIZE)];
static struct zt_thresholds thresholds;

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

/* ns per page of one pass of fn over the listed pages. */
static double pass_ns(const struct corpus *c, const size_t *idx, size_t n,
		      size_t (*fn)(const unsigned char *))
{
	size_t acc = 0;
	double t0 = now_ns();

	for (size_t i = 0; i < n; i++)
		acc += fn(page_at(c, idx[i]));
	sink = acc;
	return (now_ns() - t0) / (double)n;
}

static void cost_table(const struct corpus *c, const size_t *all)
{
	double cl[ROUNDS], lz[ROUNDS];

	for (int r = 0; r < ROUNDS; r++) {
		cl[r] = pass_ns(c, all, c->n, run_classify);
		lz[r] = pass_ns(c, all, c->n, run_lz4);
	}
	double mc = median(cl, ROUNDS), ml = median(lz, ROUNDS);
	printf("\n[cost] every page, median of %d passes: classify %.0f ns/page, lz4 %.0f ns/page:"
	       " classify = 1/%.1f of lz4\n", ROUNDS, mc, ml, ml / mc);
}

/* ---- write path ------------------------------------------------------------------ */

struct writer {
	struct zu_codec_ctx *codec;
	struct zu_store *store;
	uint64_t *handles;
	size_t stored;
};

/* classify, compress with the queue thread's codec, store: tier_mem.c's
 * store_put for a compressible page. */
static void write_page(struct writer *w, const unsigned char *p)
{
	static const struct zt_codec lz4 = { .kind = ZT_CODEC_LZ4 };
	struct zt_page_class pc;
	void *dst = zu_codec_buf(w->codec);

	zt_classify(p, &thresholds, &pc);
	int len = zu_codec_compress(w->codec, &lz4, p, dst, ZU_STORE_MAX_COMPRESSED);
	if (len > 0 && zu_store_put(w->store, dst, (size_t)len, &w->handles[w->stored]) == 0)
		w->stored++;
}

static double write_pass_ns(struct writer *w, const struct corpus *c, const size_t *idx, size_t n)
{
	double t0 = now_ns();

	for (size_t i = 0; i < n; i++)
		write_page(w, page_at(c, idx[i]));
	double t = (now_ns() - t0) / (double)n;
	if (w->stored != n) {
		fprintf(stderr, "b_corpus: stored %zu of %zu pages\n", w->stored, n);
		exit(1);
	}
	while (w->stored)
		zu_store_free(w->store, w->handles[--w->stored]);
	return t;
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
	struct writer w = { zu_codec_ctx_create(0), zu_store_create(UINT64_C(1) << 30),
			    malloc(c->n * sizeof(uint64_t)), 0 };
	double wr[ROUNDS], lz[ROUNDS];
	size_t n = compressible(c, idx);

	if (!w.codec || !w.store || !w.handles || !n || zu_store_commit_all(w.store)) {
		fprintf(stderr, "b_corpus: write path: no codec, store or pages\n");
		exit(1);
	}
	for (int r = 0; r < ROUNDS; r++) {
		wr[r] = write_pass_ns(&w, c, idx, n);
		lz[r] = pass_ns(c, idx, n, run_lz4);
	}
	double mw = median(wr, ROUNDS), ml = median(lz, ROUNDS);
	printf("\n[write] %zu compressible pages, median of %d passes: classify + lz4 + store"
	       " %.0f ns/page, lz4 alone %.0f ns/page: throughput %.2fx of lz4\n",
	       n, ROUNDS, mw, ml, ml / mw);
	zu_store_destroy(w.store);
	zu_codec_ctx_destroy(w.codec);
	free(w.handles);
}

int main(void)
{
	struct corpus c = load_corpus();
	const char *only = getenv("ZT_BENCH_ONLY");   /* estimate | cost | write */

	if (!c.n)
		return 0;
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
