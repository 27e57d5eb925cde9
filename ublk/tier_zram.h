/*
 * tier_zram.h — internal: the zram tier's kernel device (tier_zram.c).
 *
 * The tier's data path is tier_blk.c (slots, O_DIRECT, io_uring); this part
 * owns the kernel zram device behind it: create and configure it from the
 * policy, discard freed slots so zram gives their memory back, remove it on
 * teardown, and show its mm_stat in `ztier-ublk list`.
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
int ztu_zram_create(struct ztu_tiers *t, const struct ztu_zram_conf *zc, char *msg,
		    size_t len);

/* Close the tier, reset and hot_remove the device.  NULL-safe. */
void ztu_zram_destroy(struct ztu_tiers *t);

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

/* `list`: the zram tier of ublk device dev_id (its slots, and the kernel's
 * mm_stat figures), as one text line / a ",\"zram\":{...}" JSON member.
 * Prints nothing when the device has no zram tier. */
void ztu_zram_print(FILE *o, int dev_id, bool json);

#endif
