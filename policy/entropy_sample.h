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

#include <string.h>

#include "policy/policy.h"
#include "policy/isa.h"

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

/*
 * The sample's paths, one per instruction set: scalar (entropy.c), AVX2
 * (entropy_avx2.c) and AVX-512 F/BW/VBMI2 (entropy_avx512.c).  All give
 * the same counts and the same integer sums, so the same estimate on every
 * CPU (tests/policy/t_sample_isa.c).  zt_sample_impl() is NULL for an ISA
 * the CPU lacks; zt_sample_add and zt_sample_stats take the path chosen by
 * zt_sample_select (isa.h), the best one unless a test said otherwise.
 */
struct zt_sample_path {
	void (*add)(struct zt_sample *s, const void *page, unsigned pass);
	void (*buckets)(const struct zt_sample *s, struct zt_bucket_stats *bs);
};
const struct zt_sample_path *zt_sample_impl(enum zt_isa isa);

void zt_sample_add_scalar(struct zt_sample *s, const void *page, unsigned pass);
void zt_sample_add_avx2(struct zt_sample *s, const void *page, unsigned pass);
void zt_sample_add_avx512(struct zt_sample *s, const void *page, unsigned pass);
void zt_sample_buckets_scalar(const struct zt_sample *s, struct zt_bucket_stats *bs);
void zt_sample_buckets_avx2(const struct zt_sample *s, struct zt_bucket_stats *bs);
void zt_sample_buckets_avx512(const struct zt_sample *s, struct zt_bucket_stats *bs);

/* For each 8-bit mask m, a pshufb control that moves the bytes whose bit is
 * set in m to the front, in order (entropy.c fills it, entropy_avx2.c uses
 * it: AVX2 has no vpcompressb). */
extern uint64_t zt_sample_pack_lut[256];

/*
 * The vector paths' common tail: the len non-zero bytes of a pass, packed
 * into nz (which has room for 4 more), go to the four histograms.  len is
 * rounded up to 4 with zero bytes, counted in the histogram, not in
 * s->zeros: no tail loop; the merged counts are the scalar path's.
 */
static inline void zt_sample_count_packed(struct zt_sample *s, unsigned char *nz, size_t len)
{
	size_t pad = (4 - len % 4) % 4;

	memset(nz + len, 0, 4);
	s->zeros += (unsigned)(ZT_SAMPLE_PASS - len - pad);
	for (size_t i = 0; i < len + pad; i += 4) {
		s->h[0][nz[i]]++;
		s->h[1][nz[i + 1]]++;
		s->h[2][nz[i + 2]]++;
		s->h[3][nz[i + 3]]++;
	}
	s->n += ZT_SAMPLE_PASS;
}

#endif
