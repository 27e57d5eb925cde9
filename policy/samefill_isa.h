/*
 * samefill_isa.h — internal: the per-ISA same-fill scanners.
 *
 * Each vector scanner lives in its own file, compiled with its -m flag
 * (policy/module.mk), so no AVX instruction can leak into code that runs
 * before the CPU check.  samefill.c picks one at run time.
 */
#ifndef ZT_POLICY_SAMEFILL_ISA_H
#define ZT_POLICY_SAMEFILL_ISA_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "policy/isa.h"

/* A 64-bit load from any address (pages need not be 8-byte aligned);
 * compiles to one mov. */
static inline uint64_t zt_load64(const void *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

bool zt_samefill_scalar(const void *page, uint64_t *fill);
bool zt_samefill_avx2(const void *page, uint64_t *fill);
bool zt_samefill_avx512(const void *page, uint64_t *fill);

/* The implementations one by one, for the tests and the benchmark that
 * compare them (not public: policy.h has zt_page_samefill only).
 * zt_samefill_impl() returns NULL for an ISA the CPU (or build) lacks. */
typedef bool (*zt_samefill_fn)(const void *page, uint64_t *fill);
zt_samefill_fn zt_samefill_impl(enum zt_isa isa);

#endif
