/*
 * tier_zram.h — internal: the zram tier's kernel device (tier_zram.c).
 *
 * The tier's data path is tier_blk.c (slots, O_DIRECT, io_uring); this part
 * owns the kernel zram device behind it: create and configure it from the
 * policy, discard freed slots so zram gives their memory back, remove it on
 * teardown, and the hooks other processes call: reap a killed server's
 * device, its `list` section (mm_stat), its name for ztierctl.
 */
#ifndef ZT_UBLK_TIER_ZRAM_H
#define ZT_UBLK_TIER_ZRAM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ublk/tier.h"

/* Load zram (libkmod, num_devices=0), hot_add a device, apply the config's
 * zram settings and open it as t->blk[ZT_TIER_ZRAM].  On failure nothing
 * is left behind (device reset and removed) and *msg says what failed. */
int ztu_zram_create(struct ztu_tiers *t, const struct zg_spec *spec, char *msg,
		    size_t len);

/* Close the tier, reset and hot_remove the device (NULL-safe): 0, or the
 * -errno of a device left behind, which st (the stats block, or NULL) then
 * names for the deleter to reap.  While it is being removed st names no
 * device: a kill then leaks it, but never names an id reused since. */
struct ztu_tiered_stats;
int ztu_zram_destroy(struct ztu_tiers *t, struct ztu_tiered_stats *st);

/* Discard one slot: zram frees its compressed copy now (and may take a
 * page again: clears the full mark). */
void ztu_zram_discard(struct ztu_tiers *t, uint64_t slot);

/* The kernel refused a write (mem_limit): new pages skip zram, straight to
 * the fallback, until a zram slot is freed.  Saves a compression and a
 * failed write per page while zram stays full. */
void ztu_zram_mark_full(struct ztu_tiers *t);
bool ztu_zram_full(const struct ztu_tiers *t);

/* The kernel device id (N of /dev/zramN), or -1. */
int ztu_zram_id(const struct ztu_tiers *t);

/* The tiered target's block of the stats file (ztu_stats_shm.tgt). */
struct ztu_tiered_stats {
	ztu_ctr zram_id1;             /* kernel device id + 1, 0: none         */
	ztu_ctr zram_used, zram_total;         /* slots (main thread)         */
	ztu_ctr zram_fallbacks;       /* writes sent on to the fallback        */
	ztu_ctr rereads;              /* async block-tier reads redone: the
	                                 page changed under them               */
	ztu_ctr spill_crypt_id;       /* the spill's dm-crypt mapping (its
	                                 identity, spill_crypt.c), 0: none     */
	ztu_ctr spill_plain;          /* 1: a spill without encryption         */
};

/* Publish the zram tier's figures (server main thread). */
void ztu_zram_publish(const struct ztu_tiers *t, struct ztu_tiered_stats *st);

/* The spill's encryption, for the hooks (tiered_hooks.c). */
void ztu_crypt_publish(const struct ztu_tiers *t, struct ztu_tiered_stats *st);

/* The tiered target's hooks for other processes (srv.h). */
int ztu_zram_reap(const void *tgt_stats, char *msg, size_t len);
unsigned ztu_zram_sections(const void *tgt_stats, struct ztu_section *out, unsigned max);
int ztu_zram_owned(const void *tgt_stats, char names[][ZTU_DEVNAME_MAX], int max);
/* Both: the zram tier's, then the spill encryption's (tiered_hooks.c). */
int ztu_tiered_reap(const void *tgt_stats, char *msg, size_t len);
unsigned ztu_tiered_sections(const void *tgt_stats, struct ztu_section *out, unsigned max);

#endif
