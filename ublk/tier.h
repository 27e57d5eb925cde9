/*
 * tier.h — internal: the tiers of the tiered target behind one ops table.
 *
 * A tier keeps whole 4 KiB pages and names each one by a page-table entry
 * (pagetable.h).  The target never knows how a tier stores a page; it asks:
 *
 *   put   find room for this page, return its entry.  In-memory tiers (meta,
 *         store) keep the data now.  Block tiers (spill, zram) only allocate
 *         a slot: the data goes by io_uring on the queue's ring (io_fd), or
 *         by write_sync on the rare read-modify-write path.
 *         -ENOSPC: the tier is full; -E2BIG: it does not want this page
 *         (the caller tries the policy's fallback).
 *   get   copy an entry's page out (the caller holds the entry lock); a
 *         packed spill entry (demote.h) is decoded, and its slot's bytes
 *         are left in the context's scratch page.
 *   drop  free the location (after the entry stopped naming it).
 *   io_fd the fd and offset for async I/O; -1 for in-memory tiers.
 *
 * meta  (tier_mem.c)   same-filled pages: the fill code is the entry.
 * store (tier_mem.c)   compressed pages in the userspace store; pages that
 *                      compress worse than 3/4 of a page go to the fallback,
 *                      or raw into the store when there is none.
 * spill (tier_blk.c)   a block device or file, 4 KiB slots, O_DIRECT.
 * zram  (tier_blk.c)   the same code on a kernel zram device that the ztier
 *                      device creates and removes (tier_zram.c); freed zram
 *                      slots are discarded so the kernel frees their memory.
 */
#ifndef ZT_UBLK_TIER_H
#define ZT_UBLK_TIER_H

#include <stdatomic.h>
#include <sys/types.h>

#include "policy/policy.h"
#include "ublk/ztublk.h"
#include "ublk/codec.h"
#include "ublk/fillvals.h"
#include "ublk/pagetable.h"
#include "ublk/slots.h"
#include "ublk/stats.h"
#include "ublk/store.h"

struct ztu_blk;                  /* a block tier instance (tier_blk.c) */
struct zu_state;                 /* the shared state, when used (state.h) */
struct ztu_zram;                 /* the zram tier's kernel device (tier_zram.c) */
struct zu_demoter;               /* idle store pages to spill (demote.h) */

/* Device-wide: shared by every queue. */
struct ztu_tiers {
	struct zu_pt *pt;
	struct zu_fills *fills;
	struct zu_store *store;
	struct ztu_blk *blk[ZT_TIER_COUNT];   /* [SPILL], [ZRAM] or NULL */
	struct ztu_zram *zram;                /* owns blk[ZRAM]'s device  */
	ztu_ctr zram_fallbacks;               /* failed zram writes placed
	                                         in the fallback (atomic) */
	ztu_ctr spill_fallbacks;              /* the same for spill: pages
	                                         a failing spill did not take */
	_Atomic int64_t spill_retry_ms;       /* a spill write failed: new
	                                         pages skip spill until this
	                                         (CLOCK_MONOTONIC ms)       */
	ztu_ctr rereads;                      /* async block-tier reads and
	                                         read-modify-writes redone:
	                                         the page changed meanwhile */
	const struct ztu_config *cfg;         /* the server's, resolved   */
	struct zu_state *state;               /* owns pt, fills, store and the
	                                         spill slots when set      */
	bool recount;                         /* attached: the published page
	                                         counts start from the table */
	struct zu_demoter *demoter;           /* NULL: no demotion        */
	atomic_bool serving;                  /* counters published once:
	                                         demotion may start        */
};

/* Per queue thread: its codec context, slot cursor and counters. */
struct ztu_tier_ctx {
	struct ztu_tiers *t;
	struct zu_codec_ctx *codec;
	uint64_t cursor;
	struct ztu_qstats *st;
	void *scratch;               /* one page, 4 KiB aligned */
	uint32_t wtag;               /* block-tier entry tags: qid, += 16 */
};

struct ztu_tier_ops {
	const char *name;
	int (*put)(struct ztu_tier_ctx *c, enum zt_tier tier, const void *page, const struct zt_page_class *cls,
		   const struct zt_codec *codec, bool last, uint64_t *entry);
	int (*get)(struct ztu_tier_ctx *c, uint64_t entry, void *page);
	void (*drop)(struct ztu_tier_ctx *c, uint64_t entry);
	int (*io_fd)(struct ztu_tier_ctx *c, uint64_t entry, off_t *off);
	int (*write_sync)(struct ztu_tier_ctx *c, uint64_t entry, const void *page);
};

extern const struct ztu_tier_ops ztu_tier_meta, ztu_tier_store, ztu_tier_blk;

/* The ops for a tier (NULL for ZT_TIER_NONE). */
const struct ztu_tier_ops *ztu_tier_ops(enum zt_tier t);

/* tier_blk.c: the slots ztu_blk_open would find at path (size 0: the
 * file's size), read only: nothing is created, grown or held.  0, or
 * -errno with msg ("not present" for a device that is gone). */
int ztu_blk_probe_slots(const char *path, uint64_t size, uint64_t *slots, char *msg,
			size_t len);
/* tier_blk.c: open a spill/zram target; size 0: use the file's size.
 * Creates a regular file that does not exist yet (needs size), never one in
 * /dev (ztu_path_is_device): there -ENOENT, "not present". */
int ztu_blk_open(struct ztu_blk **out, enum zt_tier tier, const char *path,
		 uint64_t size, char *msg, size_t len);
void ztu_blk_close(struct ztu_blk *b);
/* Keep the slot map in sl (a shared state's, state.h) instead of the
 * block tier's own, which must still be empty; sl stays its owner's. */
void ztu_blk_use_slots(struct ztu_blk *b, struct zu_slots *sl);

/* Through dm-crypt (spill_crypt.c); recovering: keep the mapping (and key)
 * a dead server left.  At close the mapping goes, unless kept (a device
 * that waits for another server).  swap: I/O on the queue thread, not
 * io_uring (tier_blk.c says why). */
int ztu_blk_encrypt(struct ztu_blk *b, bool recovering, bool swap, char *msg, size_t len);
uint64_t ztu_blk_crypt_id(const struct ztu_blk *b);
void ztu_blk_keep_crypt(struct ztu_blk *b, bool keep);
/* The error of a failed write at off, named for what it is (EIO for a disk
 * that is gone). */
int ztu_blk_write_error(const struct ztu_blk *b, off_t off, int err);

/* The fd slot s lives on (at s * 4096) and the slot map (demotion). */
int ztu_blk_fd(const struct ztu_blk *b);
struct zu_slots *ztu_blk_slots(const struct ztu_blk *b);
uint64_t ztu_blk_used(const struct ztu_blk *b);
uint64_t ztu_blk_total(const struct ztu_blk *b);

#endif
