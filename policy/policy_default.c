/*
 * policy_default.c — the built-in policy, valid on any machine.
 *
 * It uses only tiers that need nothing from the machine: meta for same-filled
 * pages and the userspace store for the rest (zstd for text, which it
 * shrinks most; lz4 for mixed binary data, where speed matters more; raw for
 * random pages, which no codec shrinks).  No zram size and no spill target
 * are set, so neither tier is used until a policy file asks for it.
 */
#include <string.h>

#include "policy/policy.h"

void zt_policy_default(struct zt_policy *p)
{
	memset(p, 0, sizeof(*p));
	strcpy(p->name, "default");
	zt_thresholds_default(&p->thresholds);

	p->rule[ZT_CLASS_SAMEFILL] = (struct zt_class_rule){
		ZT_TIER_META, ZT_TIER_NONE, { ZT_CODEC_RAW, 0 } };
	p->rule[ZT_CLASS_TEXT] = (struct zt_class_rule){
		ZT_TIER_STORE, ZT_TIER_NONE, { ZT_CODEC_ZSTD, 3 } };
	p->rule[ZT_CLASS_MIXED] = (struct zt_class_rule){
		ZT_TIER_STORE, ZT_TIER_NONE, { ZT_CODEC_LZ4, 0 } };
	p->rule[ZT_CLASS_RANDOM] = (struct zt_class_rule){
		ZT_TIER_STORE, ZT_TIER_NONE, { ZT_CODEC_RAW, 0 } };

	p->device.size = (struct zt_size){ .ram_num = 1, .ram_den = 2 };
	p->device.mem_limit = (struct zt_size){ .ram_num = 1, .ram_den = 4 };
	p->device.queues = 1;
	p->device.depth = 128;

	strcpy(p->zram.algorithm, "lz4");

	p->use.use = ZT_USE_SWAP;
	p->use.priority = 100;
	p->use.discard = true;
	p->spill.encrypt = true;
	zt_maint_default(&p->maint);
}
