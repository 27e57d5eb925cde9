/*
 * entropy.c — Shannon entropy of a page: exact, and the sampled estimate.
 *
 * Exact: a 256-bucket histogram of every byte, H = -sum p log2 p.  That is
 * one increment per byte, about the cost of compressing the page with lz4,
 * so the classifier does not use it (the benchmark and tests do).
 *
 * Estimate: read 16-byte chunks, one from each 256-byte stripe of the page,
 * in two passes of 16 chunks (256 bytes): chunk i of pass p is slot
 * (3i + 5p) mod 16 of stripe i.  Neighbouring stripes use different slots
 * (a page of records is not always sampled at the same field); each pass
 * covers every 16-byte slot modulo 256 once (a page with a 256-byte period,
 * like a counting sequence, is sampled evenly, not aliased); and since 5 is
 * odd, the two passes never read the same position modulo 512, 1024 or
 * 2048 bytes (with +8, a page of 2 KiB records was read twice over at half
 * the positions and its estimate drifted).  A chunk never crosses a cache
 * line, so a pass touches 16 of the page's 64 lines (zt_classify fetches
 * the whole page ahead, see classify.c).
 *
 * A plug-in entropy from n bytes is biased low by about (K-1)/(2 n ln 2)
 * bits, K being the number of distinct bytes (Miller-Madow).  The exact page
 * entropy is itself a plug-in value over 4096 bytes, so the estimate is
 * shifted by the difference of the two biases:
 *
 *     est = H_sample + (K - 1) / (2 ln 2) * (1/n - 1/4096)
 *
 * which brings a uniformly random page from ~7.6 (raw sample) to ~7.95,
 * where the exact value is.  K in the correction is the Chao1 estimate of
 * distinct bytes in the page (see bias_shift()).
 *
 * Cost: n counter increments (8 at once for a zero word), then one pass
 * over the 256 buckets that merges the histograms, counts distinct bytes,
 * singletons and doubletons, and sums c log2 c from a fixed-point table.
 * The increments are bound by the loads and stores of the counters; on a
 * CPU with AVX2 or AVX-512 VBMI2 the zero bytes inside non-zero words (40%
 * of the sampled bytes of process memory) are counted with a mask instead,
 * and the bucket pass reads the table from registers (entropy_avx2.c,
 * entropy_avx512.c; the best path the CPU has is chosen when the program
 * loads, see zt_sample_select).  Same counts, same integer sums: the same
 * estimate on every CPU.  Measured by tests/bench/b_corpus.c on real
 * process memory (from memory: scalar 1/11.6 of lz4's time, AVX2 1/15.6,
 * AVX-512 1/18), see the README.
 *
 * Tolerance against zt_entropy_exact, tested in tests/policy/t_entropy.c and
 * documented in ztier.policy(5): every test page within 0.8 bits/byte, the
 * mean error within 0.15 and RMS within 0.2 per page family.  One 256-byte
 * pass alone measured errors up to 1.1 bits/byte.  Process memory is
 * harder: a page that mixes a key, pointers and zeros is sampled in 32
 * chunks.  On every page of the real corpus (64659 pages of perl, python3
 * and node heaps not same-filled; b_corpus) the absolute error is at most
 * 1.245, p99 0.643, mean 0.152 bits/byte, and 4.1% of the pages change
 * class against the exact entropy (3.9% with the byte-set test; on a second
 * build of the corpus 1.273, 0.632, 0.152, 3.7% and 3.6%); generated
 * heap-like pages are tested to max 1.3, p99 0.7, mean 0.2, 7%.
 */
#include <math.h>
#include <string.h>
#include <time.h>

#include "policy/policy.h"
#include "policy/entropy_sample.h"

double zt_entropy_exact(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	size_t count[256] = { 0 };
	double h = 0;

	if (len == 0)
		return 0;
	for (size_t i = 0; i < len; i++)
		count[p[i]]++;
	for (int b = 0; b < 256; b++) {
		if (count[b]) {
			double q = (double)count[b] / (double)len;
			h -= q * log2(q);
		}
	}
	return h;
}

/* c log2 c for every count a sample can hold, in fixed point (ZT_CLOGC_ONE
 * is 1): integer sums have a one-cycle latency where float sums had three,
 * and the sum over a sample (at most 512 log2 512 = 4608) fits 32 bits.
 * The byte offset of each chunk of each pass (chunk_offset() below).  The
 * AVX2 path's pack controls (pack_control()), built here, not in
 * entropy_avx2.c: the compiler may use AVX2 anywhere in that file, and this
 * runs on every CPU, before any check.
 * The path zt_sample_add and zt_sample_stats take (zt_sample_select()). */
uint32_t zt_sample_clogc[ZT_SAMPLE_BYTES + 1];
uint16_t zt_sample_chunk_at[2][ZT_SAMPLE_CHUNKS];
uint64_t zt_sample_pack_lut[256];
static const struct zt_sample_path *path;

/* Chunk i of pass p sits in slot (3i + 5p) mod 16 of stripe i. */
static size_t chunk_offset(size_t i, unsigned pass)
{
	const size_t slots = ZT_SAMPLE_STRIPE / ZT_SAMPLE_CHUNK;

	return i * ZT_SAMPLE_STRIPE + ((3 * i + 5 * pass) % slots) * ZT_SAMPLE_CHUNK;
}

/* The pshufb control that packs the bytes of m's set bits to the front;
 * the lanes past them read 0x80 (pshufb writes a zero there). */
static uint64_t pack_control(unsigned m)
{
	uint64_t ctl = UINT64_C(0x8080808080808080);
	unsigned at = 0;

	for (unsigned b = 0; b < 8; b++) {
		if (m & (1u << b)) {
			ctl &= ~(UINT64_C(0xff) << (8 * at));
			ctl |= (uint64_t)b << (8 * at++);
		}
	}
	return ctl;
}

/* Filled when the program loads (entropy.o is linked in whenever the
 * classifier is), so the per-page path has no "initialised yet?" check. */
__attribute__((constructor)) static void tables_init(void)
{
	for (int c = 1; c <= (int)ZT_SAMPLE_BYTES; c++)
		zt_sample_clogc[c] = (uint32_t)lround(c * log2((double)c) * ZT_CLOGC_ONE);
	for (unsigned pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < ZT_SAMPLE_CHUNKS; i++)
			zt_sample_chunk_at[pass][i] = (uint16_t)chunk_offset(i, pass);
	for (unsigned m = 0; m < 256; m++)
		zt_sample_pack_lut[m] = pack_control(m);
	zt_sample_select(ZT_ISA_COUNT - 1, true);
}

/* What each path's file is compiled for (policy/module.mk). */
static bool cpu_has(enum zt_isa isa)
{
	__builtin_cpu_init();
	switch (isa) {
	case ZT_ISA_SCALAR:
		return true;
	case ZT_ISA_AVX2:
		return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");
	case ZT_ISA_AVX512:
		return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
		       __builtin_cpu_supports("avx512vbmi2");
	default:
		return false;
	}
}

const struct zt_sample_path *zt_sample_impl(enum zt_isa isa)
{
	static const struct zt_sample_path paths[ZT_ISA_COUNT] = {
		[ZT_ISA_SCALAR] = { zt_sample_add_scalar, zt_sample_buckets_scalar },
		[ZT_ISA_AVX2] = { zt_sample_add_avx2, zt_sample_buckets_avx2 },
		[ZT_ISA_AVX512] = { zt_sample_add_avx512, zt_sample_buckets_avx512 },
	};
	return (unsigned)isa < ZT_ISA_COUNT && cpu_has(isa) ? &paths[isa] : NULL;
}

/* Nanoseconds one path takes over a few synthetic pages, best of three
 * (text-like bytes with zero words: both of its steps do work). */
static uint64_t path_ns(const struct zt_sample_path *p)
{
	static unsigned char page[ZT_PAGE_SIZE];
	struct zt_bucket_stats bs;
	struct zt_sample smp;
	uint64_t best = UINT64_MAX;

	for (size_t i = 0; i < sizeof(page); i++)
		page[i] = (unsigned char)(i % 24 < 8 ? 0 : 'a' + (i * 7919 >> 3) % 26);
	for (int round = 0; round < 3; round++) {
		struct timespec t0, t1;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (int k = 0; k < 8; k++) {
			zt_sample_begin(&smp);
			p->add(&smp, page, 0);
			p->buckets(&smp, &bs);
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		uint64_t ns = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u +
			      (uint64_t)t1.tv_nsec - (uint64_t)t0.tv_nsec;
		best = ns < best ? ns : best;
	}
	return best;
}

/* The fastest path up to max, measured, not assumed: a CPU emulator (the
 * QEMU/TCG test guest) runs AVX2 slower than scalar code (tests/vm/
 * bench-classify.sh: classify 1/5.7 of lz4 on AVX2 against 1/9.0 scalar),
 * where real AVX2 hardware runs it faster.  A few microseconds, once. */
void zt_sample_select(enum zt_isa max, bool measure)
{
	const struct zt_sample_path *p = NULL;
	uint64_t best = UINT64_MAX;

	for (int isa = (int)max; isa >= 0 && (measure || !p); isa--) {
		const struct zt_sample_path *q = zt_sample_impl((enum zt_isa)isa);
		uint64_t ns = q && measure ? path_ns(q) : UINT64_MAX;

		if (q && (!p || ns < best - best / 8)) {   /* a clear win only */
			p = q;
			best = ns;
		}
	}
	path = p;
}

static inline uint64_t load64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

void zt_sample_begin(struct zt_sample *s)
{
	memset(s, 0, sizeof(*s));
}

/*
 * Four histograms, one per byte position modulo 4, so that repeats of one
 * byte value (spaces in text, the zero high bytes of pointers) are four
 * independent chains of increments instead of one chain of store-to-load
 * forwarding; a word of zero bytes (common in heaps) is counted in one step.
 * Each byte is loaded on its own: a byte load and a memory increment per
 * byte, where extracting it from the 64-bit word took two more instructions
 * (the time is about the same: the counters' loads and stores bound it).
 */
static inline void add_word(struct zt_sample *s, const unsigned char *p)
{
	if (!load64(p)) {
		s->zeros += 8;
		return;
	}
	s->h[0][p[0]]++;
	s->h[1][p[1]]++;
	s->h[2][p[2]]++;
	s->h[3][p[3]]++;
	s->h[0][p[4]]++;
	s->h[1][p[5]]++;
	s->h[2][p[6]]++;
	s->h[3][p[7]]++;
}

void zt_sample_add(struct zt_sample *s, const void *page, unsigned pass)
{
	path->add(s, page, pass);
}

void zt_sample_add_scalar(struct zt_sample *s, const void *page, unsigned pass)
{
	const unsigned char *p = page;

	for (size_t i = 0; i < ZT_SAMPLE_CHUNKS; i++) {
		add_word(s, p + zt_sample_chunk_at[pass][i]);
		add_word(s, p + zt_sample_chunk_at[pass][i] + 8);
	}
	s->n += ZT_SAMPLE_PASS;
}

/*
 * One pass over the 256 buckets, eight at a time (SSE2, via GCC vector
 * extensions): merge the four histograms, count the buckets holding 1, 2
 * and any bytes (a comparison yields -1 in each true lane), and sum
 * c log2 c from the table.
 */
typedef uint16_t v8u __attribute__((vector_size(16)));
typedef int16_t v8s __attribute__((vector_size(16)));

static inline v8u bucket_counts(const struct zt_sample *s, int b)
{
	v8u h0, h1, h2, h3;

	memcpy(&h0, &s->h[0][b], sizeof(h0));
	memcpy(&h1, &s->h[1][b], sizeof(h1));
	memcpy(&h2, &s->h[2][b], sizeof(h2));
	memcpy(&h3, &s->h[3][b], sizeof(h3));
	return (h0 + h1) + (h2 + h3);
}

void zt_sample_buckets_scalar(const struct zt_sample *s, struct zt_bucket_stats *bs)
{
	v8s seen = { 0 }, ones = { 0 }, twos = { 0 };
	const v8u zero = { 0 }, one = zero + 1, two = zero + 2;
	uint32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;

	for (int b = 0; b < 256; b += 8) {
		v8u c = bucket_counts(s, b);
		if (b == 0)
			c[0] = (uint16_t)(c[0] + s->zeros);
		seen -= (v8s)(c != zero);
		ones -= (v8s)(c == one);
		twos -= (v8s)(c == two);
		s0 += zt_sample_clogc[c[0]] + zt_sample_clogc[c[4]];
		s1 += zt_sample_clogc[c[1]] + zt_sample_clogc[c[5]];
		s2 += zt_sample_clogc[c[2]] + zt_sample_clogc[c[6]];
		s3 += zt_sample_clogc[c[3]] + zt_sample_clogc[c[7]];
	}
	bs->seen = bs->ones = bs->twos = 0;
	for (int i = 0; i < 8; i++) {
		bs->seen += (unsigned)seen[i];
		bs->ones += (unsigned)ones[i];
		bs->twos += (unsigned)twos[i];
	}
	bs->sum_clogc = (s0 + s1) + (s2 + s3);
}

/*
 * The bias correction needs the number of distinct byte values in the whole
 * page, not just in the sample; Chao1 estimates it from the singletons f1
 * and doubletons f2: K + f1 (f1 - 1) / (2 (f2 + 1)).  Without it the
 * estimate ran 0.09 bits/byte low on average on uniformly random pages;
 * with it, 0.06.
 */
static float bias_shift(float n, float distinct, float f1, float f2)
{
	float k = distinct + f1 * (f1 - 1) / (2 * (f2 + 1));

	if (k > 256)
		k = 256;
	return (k - 1) / (2 * (float)M_LN2) * (1 / n - 1.0f / ZT_PAGE_SIZE);
}

void zt_sample_stats(const struct zt_sample *s, struct zt_sample_stats *st)
{
	struct zt_bucket_stats bs;
	const float n = (float)s->n;

	path->buckets(s, &bs);
	/* H = log2 n - (1/n) sum c log2 c, then the bias shift */
	float log2n = (float)(31 - __builtin_clz(s->n));    /* n is 256 or 512 */
	float h = log2n - (float)(bs.sum_clogc / ZT_CLOGC_ONE) / n;
	h += bias_shift(n, (float)bs.seen, (float)bs.ones, (float)bs.twos);
	st->entropy = h < 0 ? 0 : h > 8 ? 8 : h;
	st->distinct = bs.seen;
}

double zt_entropy_estimate(const void *page)
{
	struct zt_sample s;
	struct zt_sample_stats st;

	zt_sample_begin(&s);
	zt_sample_add(&s, page, 0);
	zt_sample_add(&s, page, 1);
	zt_sample_stats(&s, &st);
	return st.entropy;
}
