/*
 * entropy_avx512.c — the sample's histogram with zero bytes set aside.
 *
 * On process memory 40% of the sampled bytes are zero bytes inside
 * non-zero words (the high bytes of pointers and small integers), and each
 * costs the scalar path a load and a read-modify-write of a counter; the
 * counters' loads and stores are what the histogram's time goes to.  Here
 * four chunks (64 bytes) are loaded into one register, the zero bytes are
 * counted with one mask and dropped with vpcompressb, and only the others
 * reach the counters.  The counts are the scalar path's, so the estimate
 * is bit-identical on every CPU (tests/policy/t_entropy.c checks it).
 *
 * Built with -mavx512f -mavx512bw -mavx512vbmi2 (policy/module.mk) and
 * only called after __builtin_cpu_supports() said yes (entropy.c).
 */
#include <immintrin.h>

#include "policy/policy.h"
#include "policy/entropy_sample.h"

static inline __m512i four_chunks(const unsigned char *p, const uint16_t at[4])
{
	__m512i v = _mm512_castsi128_si512(_mm_loadu_si128((const void *)(p + at[0])));

	v = _mm512_inserti32x4(v, _mm_loadu_si128((const void *)(p + at[1])), 1);
	v = _mm512_inserti32x4(v, _mm_loadu_si128((const void *)(p + at[2])), 2);
	return _mm512_inserti32x4(v, _mm_loadu_si128((const void *)(p + at[3])), 3);
}

void zt_sample_add_avx512(struct zt_sample *s, const void *page, unsigned pass)
{
	const uint16_t *at = zt_sample_chunk_at[pass];
	/* the pass's non-zero bytes; a store writes 64 */
	unsigned char nz[ZT_SAMPLE_PASS + 64];
	size_t len = 0;

	for (size_t i = 0; i < ZT_SAMPLE_CHUNKS; i += 4) {
		__m512i v = four_chunks(page, at + i);
		__mmask64 keep = _mm512_test_epi8_mask(v, v);
		_mm512_storeu_si512(nz + len, _mm512_maskz_compress_epi8(keep, v));
		len += (size_t)__builtin_popcountll(keep);
	}
	zt_sample_count_packed(s, nz, len);
}

/* 32 buckets: the four histograms summed (the zero bytes set aside go to
 * bucket 0). */
static inline __m512i bucket_counts(const struct zt_sample *s, int b)
{
	__m512i c = _mm512_add_epi16(
		_mm512_add_epi16(_mm512_loadu_si512(&s->h[0][b]), _mm512_loadu_si512(&s->h[1][b])),
		_mm512_add_epi16(_mm512_loadu_si512(&s->h[2][b]), _mm512_loadu_si512(&s->h[3][b])));

	if (b == 0)
		c = _mm512_mask_add_epi16(c, 1, c, _mm512_set1_epi16((short)s->zeros));
	return c;
}

/*
 * c log2 c of 16 counts, from the table held in four registers for counts
 * below 64 (vpermi2d: a 32-entry lookup per instruction); the few larger
 * counts (the zero byte, a pointer's constant bytes) are looked up one by
 * one.  The same table as the scalar path, so the same integer sums.
 */
struct clogc_regs {
	__m512i t[4];           /* counts 0-15, 16-31, 32-47, 48-63 */
};

static inline __m512i clogc16(const struct clogc_regs *r, __m512i c, uint32_t *big_sum)
{
	const __m512i c32 = _mm512_set1_epi32(32), c64 = _mm512_set1_epi32(64);
	__m512i low = _mm512_permutex2var_epi32(r->t[0], c, r->t[1]);
	__m512i high = _mm512_permutex2var_epi32(r->t[2], c, r->t[3]);
	__m512i v = _mm512_mask_blend_epi32(_mm512_cmpge_epu32_mask(c, c32), low, high);
	__mmask16 big = _mm512_cmpge_epu32_mask(c, c64);

	if (big) {
		uint32_t lane[16];
		_mm512_storeu_si512(lane, c);
		for (unsigned m = big; m; m &= m - 1)
			*big_sum += zt_sample_clogc[lane[__builtin_ctz(m)]];
	}
	return _mm512_maskz_mov_epi32((__mmask16)~big, v);
}

/* The scalar merge, 32 buckets per step. */
void zt_sample_buckets_avx512(const struct zt_sample *s, struct zt_bucket_stats *bs)
{
	const __m512i one = _mm512_set1_epi16(1), two = _mm512_set1_epi16(2);
	struct clogc_regs r;
	__m512i sum = _mm512_setzero_si512();
	unsigned seen = 0, ones = 0, twos = 0;
	uint32_t big_sum = 0;

	for (int k = 0; k < 4; k++)
		r.t[k] = _mm512_loadu_si512(&zt_sample_clogc[16 * k]);
	for (int b = 0; b < 256; b += 32) {
		__m512i c = bucket_counts(s, b);
		seen += (unsigned)__builtin_popcount(_mm512_test_epi16_mask(c, c));
		ones += (unsigned)__builtin_popcount(_mm512_cmpeq_epi16_mask(c, one));
		twos += (unsigned)__builtin_popcount(_mm512_cmpeq_epi16_mask(c, two));
		__m512i lo = _mm512_cvtepu16_epi32(_mm512_castsi512_si256(c));
		__m512i hi = _mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(c, 1));
		sum = _mm512_add_epi32(sum, clogc16(&r, lo, &big_sum));
		sum = _mm512_add_epi32(sum, clogc16(&r, hi, &big_sum));
	}
	bs->seen = seen;
	bs->ones = ones;
	bs->twos = twos;
	bs->sum_clogc = (uint32_t)_mm512_reduce_add_epi32(sum) + big_sum;
}
