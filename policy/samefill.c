/*
 * samefill.c — is a page one 64-bit word repeated?  Scalar path + dispatch.
 *
 * Like zram's page_same_filled(): compare the first word with the last one
 * first (most non-uniform pages differ there, so they cost two loads), then
 * walk the page and stop at the first word that differs.  The AVX2 and
 * AVX-512 twins (samefill_avx2.c, samefill_avx512.c) do the same walk 128 or
 * 256 bytes per step; the best one this CPU supports is chosen once, with
 * __builtin_cpu_supports, and cached in a function pointer (zt_isa_limit
 * lowers the ceiling for the tests and benchmarks).
 */
#include "policy/policy.h"
#include "policy/samefill_isa.h"

#define WORDS (ZT_PAGE_SIZE / sizeof(uint64_t))

bool zt_samefill_scalar(const void *page, uint64_t *fill)
{
	const unsigned char *p = page;
	uint64_t first = zt_load64(p);

	if (zt_load64(p + ZT_PAGE_SIZE - 8) != first)
		return false;
	for (size_t i = 1; i < WORDS - 1; i++)
		if (zt_load64(p + 8 * i) != first)
			return false;
	*fill = first;
	return true;
}

zt_samefill_fn zt_samefill_impl(enum zt_isa isa)
{
	__builtin_cpu_init();
	switch (isa) {
	case ZT_ISA_SCALAR:
		return zt_samefill_scalar;
	case ZT_ISA_AVX2:
		return __builtin_cpu_supports("avx2") ? zt_samefill_avx2 : NULL;
	case ZT_ISA_AVX512:
		return __builtin_cpu_supports("avx512f") ? zt_samefill_avx512 : NULL;
	default:
		return NULL;
	}
}

/* The best scanner up to max (zt_isa_limit), chosen on first use.  A race
 * between two first callers only stores the same pointer twice. */
static zt_samefill_fn best;

void zt_samefill_select(enum zt_isa max)
{
	zt_samefill_fn f = NULL;

	for (int isa = (int)max; !f && isa >= 0; isa--)
		f = zt_samefill_impl((enum zt_isa)isa);
	__atomic_store_n(&best, f, __ATOMIC_RELAXED);
}

bool zt_page_samefill(const void *page, uint64_t *fill)
{
	zt_samefill_fn f = __atomic_load_n(&best, __ATOMIC_RELAXED);

	if (!f) {
		zt_samefill_select(ZT_ISA_COUNT - 1);
		f = __atomic_load_n(&best, __ATOMIC_RELAXED);
	}
	return f(page, fill);
}
