/*
 * isa.h — internal: the instruction sets the classifier has paths for.
 *
 * The same-fill scan (samefill_isa.h) and the entropy sample
 * (entropy_sample.h) each have a scalar path and vector twins, every twin
 * in its own file compiled with its -m flags (policy/module.mk), so that no
 * vector instruction runs before the CPU check.  Each picks, once, the best
 * twin the CPU supports (the sample: the fastest, timed); zt_isa_limit() makes both pick again with a lower
 * ceiling, so that the tests and the benchmarks can run every path on one
 * machine (a CPU without AVX-512 VBMI2 is what most hosts have).
 */
#ifndef ZT_POLICY_ISA_H
#define ZT_POLICY_ISA_H

#include <stdbool.h>

enum zt_isa { ZT_ISA_SCALAR, ZT_ISA_AVX2, ZT_ISA_AVX512, ZT_ISA_COUNT };

const char *zt_isa_name(enum zt_isa isa);

/* Use the best path up to max from now on, the CPU's best below it if it
 * lacks max (not thread-safe: call it before the classifier runs).  The
 * default, at load, is the fastest one measured (entropy.c). */
void zt_isa_limit(enum zt_isa max);

/* zt_isa_limit's two halves (samefill.c, entropy.c).  The sample's: the
 * best path up to max the CPU has, or with measure (its default, at load)
 * the fastest of those, timed (entropy.c says why). */
void zt_samefill_select(enum zt_isa max);
void zt_sample_select(enum zt_isa max, bool measure);

#endif
