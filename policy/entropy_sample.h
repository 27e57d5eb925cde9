/*
 * entropy_sample.h — internal: the page sample behind zt_entropy_estimate
 * and zt_classify (see entropy.c for the design).
 *
 * The sample is taken in two passes of 256 bytes each (16 chunks of 16
 * bytes, one per 256-byte stripe, at different slots in the two passes);
 * zt_classify and zt_entropy_estimate take both.
 */
#ifndef ZT_POLICY_ENTROPY_SAMPLE_H
#define ZT_POLICY_ENTROPY_SAMPLE_H

#include "policy/policy.h"

#define ZT_SAMPLE_CHUNK   16u                           /* bytes per chunk */
#define ZT_SAMPLE_STRIPE  256u                          /* one per pass    */
#define ZT_SAMPLE_CHUNKS  (ZT_PAGE_SIZE / ZT_SAMPLE_STRIPE)          /* 16 */
#define ZT_SAMPLE_PASS    (ZT_SAMPLE_CHUNKS * ZT_SAMPLE_CHUNK)      /* 256 */
#define ZT_SAMPLE_BYTES   (2 * ZT_SAMPLE_PASS)                      /* 512 */
#define ZT_SAMPLE_NHIST 4

struct zt_sample {
	uint16_t h[ZT_SAMPLE_NHIST][256];   /* per byte position mod 4 */
	unsigned zeros;                     /* bytes of all-zero words  */
	unsigned n;                         /* bytes sampled so far     */
};

struct zt_sample_stats {
	float entropy;          /* bias-corrected estimate, bits/byte, 0..8 */
	unsigned distinct;      /* distinct byte values in the sample       */
};

/* Start fetching the cache lines of a pass: the page is usually cold at
 * swap-out, and 16 misses in flight at once cost about one. */
void zt_sample_prefetch(const void *page, unsigned pass);
void zt_sample_begin(struct zt_sample *s);
void zt_sample_add(struct zt_sample *s, const void *page, unsigned pass);
void zt_sample_stats(const struct zt_sample *s, struct zt_sample_stats *st);

#endif
