/*
 * tiered_hooks.c — what other processes learn from a tiered server's stats
 * block (srv.h's reap/sections/owned): the zram tier's device and the
 * spill's dm-crypt mapping, each named there by its server.
 */
#include <errno.h>
#include <stdio.h>

#include "policy/common/common.h"
#include "ublk/srv.h"
#include "ublk/stats.h"
#include "ublk/tier.h"
#include "ublk/tier_zram.h"

void ztu_crypt_publish(const struct ztu_tiers *t, struct ztu_tiered_stats *st)
{
	ztu_ctr_set(&st->spill_crypt_id, (int64_t)ztu_blk_crypt_id(t->blk[ZT_TIER_SPILL]));
	ztu_ctr_set(&st->spill_plain, t->blk[ZT_TIER_SPILL] && !ztu_blk_crypt_id(t->blk[ZT_TIER_SPILL]));
	ztu_ctr_set(&st->spill_fallbacks, ztu_ctr_get(&t->spill_fallbacks));
}

static uint64_t crypt_id(const void *tgt_stats)
{
	return (uint64_t)ztu_ctr_get(&((const struct ztu_tiered_stats *)tgt_stats)->spill_crypt_id);
}

/* A killed server's zram tier and its spill's mapping (and with it the
 * key: nothing that was spilled can be read again, as after a clean stop). */
int ztu_tiered_reap(const void *tgt_stats, char *msg, size_t len)
{
	int ret = ztu_zram_reap(tgt_stats, msg, len);
	uint64_t id = crypt_id(tgt_stats);
	char m2[256];

	if (id && ztu_crypt_remove(id, m2, sizeof(m2)) && !ret)
		ret = zt_fail(msg, len, -EBUSY, "%s", m2);
	return ret;
}

static void crypt_section(const void *tgt_stats, struct ztu_section *out)
{
	const struct ztu_tiered_stats *st = tgt_stats;
	char name[64];

	out->name = "encryption";
	out->n = 0;
	if (crypt_id(tgt_stats)) {
		ztu_crypt_name(crypt_id(tgt_stats), name, sizeof(name));
		ztu_field_text(out, "spill", "dm-crypt aes-xts-plain64, key of this setup", false);
		ztu_field_text(out, "mapping", name, true);
	} else if (ztu_ctr_get(&st->spill_plain)) {
		ztu_field_text(out, "spill", "plaintext (encrypt = no)", false);
	}
	if (out->n && ztu_ctr_get(&st->spill_fallbacks))
		ztu_field_num(out, "failed_writes_placed", ztu_ctr_get(&st->spill_fallbacks));
}

/* Async block-tier reads and read-modify-writes begun again because the
 * page changed under them (tier.h): the zram section shows them when the
 * device has a zram tier, this one otherwise (a spill-only device). */
static void races_section(const void *tgt_stats, struct ztu_section *out)
{
	const struct ztu_tiered_stats *st = tgt_stats;

	out->name = "races";
	out->n = 0;
	ztu_field_num(out, "rereads", ztu_ctr_get(&st->rereads));
}

unsigned ztu_tiered_sections(const void *tgt_stats, struct ztu_section *out, unsigned max)
{
	unsigned n = ztu_zram_sections(tgt_stats, out, max);

	if (n == 0 && max > 0)
		races_section(tgt_stats, out + n++);
	if (n < max) {
		crypt_section(tgt_stats, out + n);
		n += out[n].n > 0;
	}
	return n;
}
