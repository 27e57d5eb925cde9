/*
 * samefill_avx512.c — same-fill scan, 256 bytes (four 512-bit lanes) per step.
 *
 * Built with -mavx512f (policy/module.mk) and only ever called after
 * __builtin_cpu_supports("avx512f").  Mirrors samefill_avx2.c.
 */
#include <immintrin.h>

#include "policy/policy.h"
#include "policy/samefill_isa.h"

bool zt_samefill_avx512(const void *page, uint64_t *fill)
{
	const char *p = page;
	uint64_t first = zt_load64(page);

	if (zt_load64((const char *)page + ZT_PAGE_SIZE - 8) != first)
		return false;
	__m512i want = _mm512_set1_epi64((long long)first);
	for (size_t off = 0; off < ZT_PAGE_SIZE; off += 256) {
		__m512i d0 = _mm512_xor_si512(_mm512_loadu_si512(p + off), want);
		__m512i d1 = _mm512_xor_si512(_mm512_loadu_si512(p + off + 64), want);
		__m512i d2 = _mm512_xor_si512(_mm512_loadu_si512(p + off + 128), want);
		__m512i d3 = _mm512_xor_si512(_mm512_loadu_si512(p + off + 192), want);
		__m512i any = _mm512_or_si512(_mm512_or_si512(d0, d1),
					      _mm512_or_si512(d2, d3));
		if (_mm512_test_epi64_mask(any, any))
			return false;
	}
	*fill = first;
	return true;
}
