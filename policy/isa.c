/*
 * isa.c — names of the instruction-set paths, and the ceiling on them that
 * the tests and benchmarks set (isa.h).
 */
#include "policy/isa.h"

const char *zt_isa_name(enum zt_isa isa)
{
	static const char *const names[ZT_ISA_COUNT] = {
		[ZT_ISA_SCALAR] = "scalar",
		[ZT_ISA_AVX2] = "avx2",
		[ZT_ISA_AVX512] = "avx512",
	};
	return (unsigned)isa < ZT_ISA_COUNT ? names[isa] : "unknown";
}

void zt_isa_limit(enum zt_isa max)
{
	zt_samefill_select(max);
	zt_sample_select(max, false);
}
