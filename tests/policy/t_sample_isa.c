/*
 * t_sample_isa.c — the AVX-512 sample path against the scalar one.
 *
 * zt_sample_add and the bucket pass have a scalar and an AVX-512 path
 * (entropy_avx512.c); the estimate must not depend on the CPU, so on every
 * page below both paths must give the same merged histogram and the same
 * bucket statistics (distinct, ones, twos, the fixed-point sum of
 * c log2 c), not merely close ones.  Pages are chosen for the vector
 * path's edges: no zero byte (nothing set aside), only zero bytes, counts
 * of 31/32/63/64 and 512 in one bucket (the register table's limits), a
 * number of non-zero bytes that is not a multiple of 4 (the padding), and
 * random pages of every density.  Skipped on a CPU without AVX-512 VBMI2.
 */
#include <stdio.h>
#include <string.h>

#include "policy/policy.h"
#include "policy/entropy_sample.h"
#include "tests/tap.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void sample(const unsigned char *page, bool vec, struct zt_sample *s,
		   struct zt_bucket_stats *bs)
{
	zt_sample_begin(s);
	for (unsigned pass = 0; pass < 2; pass++) {
		if (vec)
			zt_sample_add_avx512(s, page, pass);
		else
			zt_sample_add_scalar(s, page, pass);
	}
	if (vec)
		zt_sample_buckets_avx512(s, bs);
	else
		zt_sample_buckets_scalar(s, bs);
}

static void merged(const struct zt_sample *s, unsigned count[256])
{
	for (int b = 0; b < 256; b++)
		count[b] = (unsigned)s->h[0][b] + s->h[1][b] + s->h[2][b] + s->h[3][b];
	count[0] += s->zeros;
}

/* 1 when both paths agree on everything the estimate reads. */
static int same(const unsigned char *page)
{
	struct zt_sample a, b;
	struct zt_bucket_stats x, y;
	unsigned ca[256], cb[256];

	sample(page, false, &a, &x);
	sample(page, true, &b, &y);
	merged(&a, ca);
	merged(&b, cb);
	return a.n == b.n && !memcmp(ca, cb, sizeof(ca)) && x.seen == y.seen &&
	       x.ones == y.ones && x.twos == y.twos && x.sum_clogc == y.sum_clogc;
}

/* Every sampled position: chunk i of either pass, byte k. */
static void set_sampled(unsigned char *page, size_t nth, unsigned char v)
{
	unsigned pass = (unsigned)(nth / ZT_SAMPLE_PASS);
	size_t i = nth % ZT_SAMPLE_PASS / ZT_SAMPLE_CHUNK, k = nth % ZT_SAMPLE_CHUNK;

	page[zt_sample_chunk_at[pass][i] + k] = v;
}

static void test_edges(unsigned char *page)
{
	static const size_t counts[] = { 1, 2, 3, 31, 32, 33, 63, 64, 65, 255, 256, 511, 512 };
	int bad = 0;

	memset(page, 0, ZT_PAGE_SIZE);
	bad += !same(page);
	memset(page, 0xff, ZT_PAGE_SIZE);
	bad += !same(page);
	for (size_t i = 0; i < ZT_PAGE_SIZE; i++)
		page[i] = (unsigned char)(1 + i % 255);
	bad += !same(page);
	ok(bad == 0, "zero, 0xff and zero-free pages: same counts and sums");

	bad = 0;
	for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		for (size_t i = 0; i < ZT_PAGE_SIZE; i++)
			page[i] = (unsigned char)(1 + rnd() % 255);
		for (size_t k = 0; k < counts[c]; k++)
			set_sampled(page, k * (ZT_SAMPLE_BYTES / counts[c]), 0x41);
		bad += !same(page);
		for (size_t k = 0; k < counts[c]; k++)       /* the same count of zeros */
			set_sampled(page, k * (ZT_SAMPLE_BYTES / counts[c]), 0);
		bad += !same(page);
	}
	ok(bad == 0, "one value or zero %zu..%zu times in the sample: same counts and sums",
	   counts[0], counts[sizeof(counts) / sizeof(counts[0]) - 1]);
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

/* The dispatched estimate is the scalar one on this CPU too. */
static void test_dispatch(unsigned char *page)
{
	struct zt_sample s;
	struct zt_bucket_stats bs;
	int bad = 0;

	for (int n = 0; n < 200; n++) {
		for (size_t i = 0; i < ZT_PAGE_SIZE; i++)
			page[i] = (unsigned char)(rnd() % (1 + n));
		sample(page, false, &s, &bs);
		struct zt_sample_stats st;
		zt_sample_stats(&s, &st);
		bad += st.entropy != (float)zt_entropy_estimate(page) || st.distinct != bs.seen;
	}
	is_int(bad, 0, "zt_entropy_estimate (dispatched) equals the scalar path's estimate");
}

int main(void)
{
	static unsigned char page[ZT_PAGE_SIZE];

	if (!zt_sample_has_avx512())
		tap_skip_all("this CPU lacks AVX-512 F/BW/VBMI2: only the scalar path runs");
	tap_diag("AVX-512 sample path in use");
	test_edges(page);
	test_random(page);
	test_dispatch(page);
	return tap_done();
}
