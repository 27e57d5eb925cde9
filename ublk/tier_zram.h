/*
 * tier_zram.h — internal: the zram tier's kernel device (tier_zram.c).
 *
 * The tier's data path is tier_blk.c (slots, O_DIRECT, io_uring); this part
 * owns the kernel zram device behind it: create and configure it from the
 * policy, discard freed slots so zram gives their memory back (off the
 * queue threads: zram_discard.c, discards.h), remove it on
 * teardown, and the hooks other processes call: reap a killed server's
 * device, its `list` section (mm_stat), its name for ztierctl.
 */
#ifndef ZT_UBLK_TIER_ZRAM_H
#define ZT_UBLK_TIER_ZRAM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ublk/tier.h"

/* Load zram (libkmod, num_devices=0), hot_add a device, apply the config's
 * zram settings and open it as t->blk[ZT_TIER_ZRAM].  On failure nothing
 * is left behind (device reset and removed) and *msg says what failed. */
int ztu_zram_create(struct ztu_tiers *t, const struct zg_spec *spec, char *msg,
		    size_t len);

/* Reopen /dev/zram<id>, the tier a dead server of this device's state made
 * (state.h), as t->blk[ZT_TIER_ZRAM].  It must exist, be initialised and
 * hold spec's disksize in slots; else *msg says so and nothing is left
 * open (the device is never reset or removed here). */
int ztu_zram_reopen(struct ztu_tiers *t, const struct zg_spec *spec, int id, char *msg,
		    size_t len);

/* Discard every slot sl does not have in use (after an attach, before any
 * queue runs).  Returns the ranges discarded. */
uint64_t ztu_zram_discard_free(struct ztu_tiers *t, const struct zu_slots *sl);

/* Close the tier and leave its device as it is (NULL-safe): a take-over
 * that failed, whose device still waits with its pages. */
void ztu_zram_close(struct ztu_tiers *t);

/* Close the tier, reset and hot_remove the device (NULL-safe): 0, or the
 * -errno of a device left behind, which st (the stats block, or NULL) then
 * names for the deleter to reap.  While it is being removed st names no
 * device: a kill then leaks it, but never names an id reused since. */
struct ztu_tiered_stats;
int ztu_zram_destroy(struct ztu_tiers *t, struct ztu_tiered_stats *st);

/* Discard one slot now (BLKDISCARD on the caller's thread; the slot stays
 * the caller's): zram frees its compressed copy (and may take a page
 * again: clears the full mark). */
void ztu_zram_discard(struct ztu_tiers *t, uint64_t slot);

/* Start discarding released slots off the queue threads (zram_discard.c),
 * once the tier's slot map is final (after a state's, before any queue).
 * swap: never through io_uring (zram_discard.c says why).  0 or -errno. */
int ztu_zram_start_discards(struct ztu_tiers *t, bool swap, char *msg, size_t len);

/* Give a slot no entry names back: discarded, then freed for reuse, in
 * that order always (discards.h); by the discarder thread when one runs,
 * else here and now.  Never blocks once the discarder runs. */
void ztu_zram_release(struct ztu_tiers *t, uint64_t slot);

/* The discarder (NULL: none), for the queues' ring discards. */
struct ztu_discarder;
struct ztu_discarder *ztu_zram_discarder(const struct ztu_tiers *t);

/* zram_discard.c: the discarder of a zram tier's released slots. */
struct io_uring_sqe;
int ztu_discarder_start(struct ztu_discarder **out, int fd, struct zu_slots *slots,
			atomic_bool *full, bool swap);
void ztu_discarder_stop(struct ztu_discarder *dc);         /* NULL-safe */
/* Mark a slot for the thread (any thread; never blocks). */
void ztu_discarder_release(struct ztu_discarder *dc, uint64_t slot);
/* May a queue discard on its ring?  (Probed at start; off for swap, and
 * after a ring discard failed.)  Then: fill a zeroed SQE with the discard
 * of slot on fd, and pass its completion to ztu_discarder_done, which
 * frees the slot (or hands it to the thread if the ring failed). */
bool ztu_discarder_ring(const struct ztu_discarder *dc);
int ztu_discarder_fd(const struct ztu_discarder *dc);
void ztu_discarder_prep(struct io_uring_sqe *sqe, int fd, uint64_t slot);
void ztu_discarder_done(struct ztu_discarder *dc, uint64_t slot, int res);
/* Slots discarded and freed so far. */
uint64_t ztu_discarder_count(const struct ztu_discarder *dc);

/* The kernel refused a write (mem_limit): new pages skip zram, straight to
 * the fallback, until a zram slot is freed.  Saves a compression and a
 * failed write per page while zram stays full. */
void ztu_zram_mark_full(struct ztu_tiers *t);
/* Has the tier no backing device (nothing written back: reads are memory
 * work, never a disk's wait)? */
bool ztu_zram_in_memory(const struct ztu_tiers *t);
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
	ztu_ctr zram_discarded;       /* zram slots discarded and freed        */
	ztu_ctr zram_ring;            /* 1: discards go on the queues' rings   */
	ztu_ctr spill_fallbacks;      /* spill writes that failed (EIO: a dead
	                                 disk) placed in the class's fallback  */
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
