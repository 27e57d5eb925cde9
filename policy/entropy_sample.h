/*
 * entropy_sample.h — internal: the page sample behind zt_entropy_estimate,
 * shared by the classifier so it samples the page once and gets both the
 * entropy estimate and the byte-set size from the same histogram.
 */
#ifndef ZT_POLICY_ENTROPY_SAMPLE_H
#define ZT_POLICY_ENTROPY_SAMPLE_H

#include "policy/policy.h"

#ifndef ZT_SAMPLE_WORDS
#define ZT_SAMPLE_WORDS 64                      /* one per 64-byte stripe */
#endif
#define ZT_SAMPLE_BYTES (ZT_SAMPLE_WORDS * 8)

struct zt_sample_stats {
	float entropy;          /* bias-corrected estimate, bits/byte, 0..8 */
	unsigned distinct;      /* distinct byte values in the sample       */
};

void zt_sample_page(const void *page, unsigned char sample[ZT_SAMPLE_BYTES]);
void zt_sample_stats(const unsigned char sample[ZT_SAMPLE_BYTES],
		     struct zt_sample_stats *st);

#endif
