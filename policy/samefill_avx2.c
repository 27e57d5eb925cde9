/*
 * samefill_avx2.c — same-fill scan, 128 bytes (four 256-bit lanes) per step.
 *
 * Built with -mavx2 (policy/module.mk) and only ever called after
 * __builtin_cpu_supports("avx2").  Same order as the scalar path: last word
 * first, then the page front to back, stopping in the first 128-byte block
 * that holds a differing word.
 */
#include <immintrin.h>

#include "policy/policy.h"
#include "policy/samefill_isa.h"

bool zt_samefill_avx2(const void *page, uint64_t *fill)
{
	const __m256i *v = page;
	uint64_t first = zt_load64(page);

	if (zt_load64((const char *)page + ZT_PAGE_SIZE - 8) != first)
		return false;
	__m256i want = _mm256_set1_epi64x((long long)first);
	for (size_t i = 0; i < ZT_PAGE_SIZE / 32; i += 4) {
		__m256i d0 = _mm256_xor_si256(_mm256_loadu_si256(v + i), want);
		__m256i d1 = _mm256_xor_si256(_mm256_loadu_si256(v + i + 1), want);
		__m256i d2 = _mm256_xor_si256(_mm256_loadu_si256(v + i + 2), want);
		__m256i d3 = _mm256_xor_si256(_mm256_loadu_si256(v + i + 3), want);
		__m256i any = _mm256_or_si256(_mm256_or_si256(d0, d1),
					      _mm256_or_si256(d2, d3));
		if (!_mm256_testz_si256(any, any))
			return false;
	}
	*fill = first;
	return true;
}
