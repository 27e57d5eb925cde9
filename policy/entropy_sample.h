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

void zt_sample_begin(struct zt_sample *s);
void zt_sample_add(struct zt_sample *s, const void *page, unsigned pass);
void zt_sample_stats(const struct zt_sample *s, struct zt_sample_stats *st);

/* The byte offset of chunk i of each pass, and c log2 c in fixed point
 * (ZT_CLOGC_ONE is 1) for every count c a sample can hold (entropy.c). */
#define ZT_CLOGC_ONE 65536.0
extern uint16_t zt_sample_chunk_at[2][ZT_SAMPLE_CHUNKS];
extern uint32_t zt_sample_clogc[ZT_SAMPLE_BYTES + 1];

/* What the entropy needs from the merged histogram: buckets holding any,
 * 1 and 2 bytes, and the sum of c log2 c over the buckets. */
struct zt_bucket_stats {
	unsigned seen, ones, twos;
	uint32_t sum_clogc;         /* fixed point, ZT_CLOGC_ONE */
};

/* zt_sample_add's two paths, for the tests that compare them: the scalar
 * one, and one with AVX-512 (F, BW, VBMI2) that zt_sample_add takes when
 * zt_sample_has_avx512() (the CPU has them); both give the same counts. */
void zt_sample_add_scalar(struct zt_sample *s, const void *page, unsigned pass);
void zt_sample_add_avx512(struct zt_sample *s, const void *page, unsigned pass);
void zt_sample_buckets_scalar(const struct zt_sample *s, struct zt_bucket_stats *bs);
void zt_sample_buckets_avx512(const struct zt_sample *s, struct zt_bucket_stats *bs);
bool zt_sample_has_avx512(void);

#endif
