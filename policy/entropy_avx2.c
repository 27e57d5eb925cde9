/*
 * entropy_avx2.c — the sample's histogram with zero bytes set aside, AVX2.
 *
 * As in entropy_avx512.c: 40% of the sampled bytes of process memory are
 * zero bytes inside non-zero words, and each costs the scalar path a load
 * and a read-modify-write of a counter.  Here a chunk's zero bytes are
 * found with one compare, and the others are packed to the front with
 * pshufb (AVX2 has no vpcompressb: the control for each 8-byte half comes
 * from a 256-entry table, zt_sample_pack_lut), so only they reach the
 * counters.  The counts are the scalar path's, bit for bit.
 *
 * Built with -mavx2 -mpopcnt (policy/module.mk) and only called after
 * __builtin_cpu_supports() said yes (entropy.c).
 */
#include <immintrin.h>

#include "policy/policy.h"
#include "policy/entropy_sample.h"

/* The non-zero bytes of the 16 at p, appended to nz at len; the new len.
 * Each half is stored whole (8 bytes), the next store overwriting what is
 * past its packed bytes. */
static inline size_t pack_chunk(unsigned char *nz, size_t len, const unsigned char *p)
{
	__m128i v = _mm_loadu_si128((const void *)p);
	unsigned zero = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_setzero_si128()));
	unsigned lo = ~zero & 0xff, hi = (~zero >> 8) & 0xff;
	/* the high half's bytes are 8 on (unused lanes stay >= 0x80: zeroed) */
	uint64_t hi_ctl = zt_sample_pack_lut[hi] + UINT64_C(0x0808080808080808);
	__m128i packed = _mm_shuffle_epi8(v, _mm_set_epi64x((long long)hi_ctl,
							     (long long)zt_sample_pack_lut[lo]));

	_mm_storel_epi64((void *)(nz + len), packed);
	len += (size_t)__builtin_popcount(lo);
	_mm_storel_epi64((void *)(nz + len), _mm_unpackhi_epi64(packed, packed));
	return len + (size_t)__builtin_popcount(hi);
}

void zt_sample_add_avx2(struct zt_sample *s, const void *page, unsigned pass)
{
	const uint16_t *at = zt_sample_chunk_at[pass];
	const unsigned char *p = page;
	/* the pass's non-zero bytes; a store writes 8, the tail pads 4 */
	unsigned char nz[ZT_SAMPLE_PASS + 8];
	size_t len = 0;

	for (size_t i = 0; i < ZT_SAMPLE_CHUNKS; i++)
		len = pack_chunk(nz, len, p + at[i]);
	zt_sample_count_packed(s, nz, len);
}

void zt_sample_buckets_avx2(const struct zt_sample *s, struct zt_bucket_stats *bs)
{
	zt_sample_buckets_scalar(s, bs);
}
