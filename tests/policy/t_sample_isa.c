/*
 * t_sample_isa.c — the vector sample paths (AVX2, AVX-512) against the
 * scalar one.
 *
 * zt_sample_add and the bucket pass have a path per instruction set
 * (entropy.c, entropy_avx2.c, entropy_avx512.c); the estimate must not
 * depend on the CPU, so on every page below each vector path must give
 * the scalar path's merged histogram and bucket statistics (distinct,
 * ones, twos, the fixed-point sum of c log2 c), not merely close ones.
 * Pages are chosen for the vector paths' edges: no zero byte (nothing set
 * aside), only zero bytes, every pattern of zero bytes in an 8-byte half
 * (the AVX2 pack table), counts around 8, 16, 32 and 64 in one bucket (the
 * register tables' limits) up to 512, a number of non-zero bytes that is
 * not a multiple of 4 (the padding), random pages of every density, and
 * real-like pages: C-style records, pages of installed binaries and text,
 * and the corpus of process memory when it was built (build/vm/corpus.bin,
 * `make vm-bench`).  A path the CPU lacks is reported and skipped.
 */
#include <stdio.h>
#include <string.h>

#include "policy/policy.h"
#include "policy/entropy_sample.h"
#include "policy/isa.h"
#include "tests/tap.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void sample(const unsigned char *page, const struct zt_sample_path *path,
		   struct zt_sample *s, struct zt_bucket_stats *bs)
{
	zt_sample_begin(s);
	path->add(s, page, 0);
	path->add(s, page, 1);
	path->buckets(s, bs);
}

static void merged(const struct zt_sample *s, unsigned count[256])
{
	for (int b = 0; b < 256; b++)
		count[b] = (unsigned)s->h[0][b] + s->h[1][b] + s->h[2][b] + s->h[3][b];
	count[0] += s->zeros;
}

/* The path under test (the scalar one is the reference). */
static const struct zt_sample_path *vec;

/* 1 when both paths agree on everything the estimate reads. */
static int same(const unsigned char *page)
{
	struct zt_sample a, b;
	struct zt_bucket_stats x, y;
	unsigned ca[256], cb[256];

	sample(page, zt_sample_impl(ZT_ISA_SCALAR), &a, &x);
	sample(page, vec, &b, &y);
	merged(&a, ca);
	merged(&b, cb);
	return a.n == b.n && !memcmp(ca, cb, sizeof(ca)) && x.seen == y.seen &&
	       x.ones == y.ones && x.twos == y.twos && x.sum_clogc == y.sum_clogc;
}

/* Every sampled position: chunk i of either pass, byte k. */
static unsigned char *sampled(unsigned char *page, size_t nth)
{
	unsigned pass = (unsigned)(nth / ZT_SAMPLE_PASS);
	size_t i = nth % ZT_SAMPLE_PASS / ZT_SAMPLE_CHUNK, k = nth % ZT_SAMPLE_CHUNK;

	return page + zt_sample_chunk_at[pass][i] + k;
}

static void fill_nonzero(unsigned char *page)
{
	for (size_t i = 0; i < ZT_PAGE_SIZE; i++)
		page[i] = (unsigned char)(1 + rnd() % 255);
}

static void test_edges(unsigned char *page)
{
	int bad = 0;

	memset(page, 0, ZT_PAGE_SIZE);
	bad += !same(page);
	memset(page, 0xff, ZT_PAGE_SIZE);
	bad += !same(page);
	for (size_t i = 0; i < ZT_PAGE_SIZE; i++)
		page[i] = (unsigned char)(1 + i % 255);
	bad += !same(page);
	ok(bad == 0, "zero, 0xff and zero-free pages: same counts and sums");
}

/* Each of the 256 patterns of zero bytes in the low half of every sampled
 * chunk, another in the high half. */
static void test_zero_patterns(unsigned char *page)
{
	int bad = 0;

	for (unsigned m = 0; m < 256; m++) {
		fill_nonzero(page);
		for (size_t k = 0; k < ZT_SAMPLE_BYTES; k++) {
			unsigned half = k % ZT_SAMPLE_CHUNK < 8 ? m : (m * 37 + 11) & 0xff;
			if (half & (1u << (k % 8)))
				*sampled(page, k) = 0;
		}
		bad += !same(page);
	}
	is_int(bad, 0, "every pattern of zero bytes in a chunk's halves: same counts and sums");
}

static void test_counts(unsigned char *page)
{
	static const size_t counts[] = { 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33,
					 63, 64, 65, 255, 256, 511, 512 };
	const size_t nc = sizeof(counts) / sizeof(counts[0]);
	int bad = 0;

	for (size_t c = 0; c < nc; c++) {
		fill_nonzero(page);
		for (size_t k = 0; k < counts[c]; k++)
			*sampled(page, k * (ZT_SAMPLE_BYTES / counts[c])) = 0x41;
		bad += !same(page);
		for (size_t k = 0; k < counts[c]; k++)       /* the same count of zeros */
			*sampled(page, k * (ZT_SAMPLE_BYTES / counts[c])) = 0;
		bad += !same(page);
	}
	ok(bad == 0, "one value or zero %zu..%zu times in the sample: same counts and sums",
	   counts[0], counts[nc - 1]);
}

static void test_random(unsigned char *page)
{
	int bad = 0;

	for (int n = 0; n < 4000; n++) {
		unsigned zero_pct = (unsigned)(rnd() % 101), alphabet = 1 + (unsigned)(rnd() % 256);
		for (size_t i = 0; i < ZT_PAGE_SIZE; i++)
			page[i] = rnd() % 100 < zero_pct ? 0 : (unsigned char)(rnd() % alphabet);
		bad += !same(page);
	}
	is_int(bad, 0, "4000 random pages of every zero density and alphabet: no difference");
}

/* A C heap's records: two pointers, a length, flags, a short name. */
static void fill_records(unsigned char *page)
{
	uint64_t base = UINT64_C(0x00005600000000) | (rnd() & 0xfffff000);
	unsigned char rec[40];

	memset(page, 0, ZT_PAGE_SIZE);
	for (size_t at = 0; at + sizeof(rec) <= ZT_PAGE_SIZE; at += sizeof(rec)) {
		uint64_t next = base + (rnd() % 65536) * 48, prev = next - 48;
		uint32_t len = (uint32_t)(rnd() % 4000), flags = 1u << (rnd() % 8);
		memset(rec, 0, sizeof(rec));
		memcpy(rec, &next, 8);
		memcpy(rec + 8, &prev, 8);
		memcpy(rec + 16, &len, 4);
		memcpy(rec + 20, &flags, 4);
		snprintf((char *)rec + 24, 16, "key%u", (unsigned)(rnd() % 100000));
		memcpy(page + at, rec, sizeof(rec));
	}
}

/* Up to limit pages of a file (every stride-th), compared; -1 if absent. */
static int file_pages(const char *path, unsigned char *page, int limit, long stride)
{
	FILE *f = fopen(path, "rb");
	int bad = 0;

	if (!f)
		return -1;
	for (int n = 0; n < limit && fread(page, 1, ZT_PAGE_SIZE, f) == ZT_PAGE_SIZE; n++) {
		bad += !same(page);
		if (fseek(f, (stride - 1) * (long)ZT_PAGE_SIZE, SEEK_CUR))
			break;
	}
	fclose(f);
	return bad;
}

static void test_real_like(unsigned char *page)
{
	static const char *const files[] = {
		"/usr/bin/perl", "/usr/lib/x86_64-linux-gnu/libc.so.6",
		"/usr/include/stdlib.h", "policy/ztier.policy.5",
	};
	int bad = 0;

	for (int n = 0; n < 500; n++) {
		fill_records(page);
		bad += !same(page);
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		bad += file_pages(files[i], page, 300, 1) > 0;
	is_int(bad, 0, "C-style records, binaries and text: no difference");
	int corpus = file_pages("build/vm/corpus.bin", page, 4096, 16);
	if (corpus < 0)
		tap_diag("no build/vm/corpus.bin (make vm-bench): process memory not compared");
	else
		is_int(corpus, 0, "4096 pages of process memory (build/vm/corpus.bin): no difference");
}

/* The dispatched estimate, with the paths capped at each ISA, is the
 * same number. */
static void test_dispatch(unsigned char *page)
{
	int bad = 0;

	for (int n = 0; n < 200; n++) {
		for (size_t i = 0; i < ZT_PAGE_SIZE; i++)
			page[i] = (unsigned char)(rnd() % (1 + n));
		zt_isa_limit(ZT_ISA_SCALAR);
		double want = zt_entropy_estimate(page);
		for (int isa = ZT_ISA_AVX2; isa < ZT_ISA_COUNT; isa++) {
			zt_isa_limit((enum zt_isa)isa);
			bad += zt_entropy_estimate(page) != want;
		}
	}
	zt_isa_limit(ZT_ISA_COUNT - 1);
	is_int(bad, 0, "zt_entropy_estimate is the same number with every path");
}

int main(void)
{
	static unsigned char page[ZT_PAGE_SIZE];
	int paths = 0;

	for (int isa = ZT_ISA_AVX2; isa < ZT_ISA_COUNT; isa++) {
		vec = zt_sample_impl((enum zt_isa)isa);
		if (!vec) {
			tap_diag("%s: not supported by this CPU, skipped", zt_isa_name((enum zt_isa)isa));
			continue;
		}
		tap_diag("%s sample path against the scalar one", zt_isa_name((enum zt_isa)isa));
		paths++;
		test_edges(page);
		test_zero_patterns(page);
		test_counts(page);
		test_random(page);
		test_real_like(page);
	}
	if (!paths)
		tap_skip_all("this CPU has neither AVX2 nor AVX-512 VBMI2: only the scalar path runs");
	test_dispatch(page);
	return tap_done();
}
