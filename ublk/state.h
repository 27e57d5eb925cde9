/*
 * state.h — the state that outlives the server (issue #10, part 1): one
 * shared-memory region holding everything a device's pages depend on, so
 * that a server killed with -9 can be replaced by one that attaches to it.
 *
 * Where it lives: a file descriptor the caller owns, mapped MAP_SHARED: a
 * memfd that ztierd creates for its stacks and hands to the server at
 * spawn, or a file on tmpfs under /run/ztier/ublk/ for a standalone
 * `ztier-ublk add`.  Both are RAM: the state survives the process, not the
 * machine.  zu_state_create sizes the file (fallocate: the memory is
 * committed now, as memory-commit upfront wants) and maps it populated;
 * under the server's mlockall the mapping is locked like the rest.
 * Without memory-commit (a file system's device: geometry on_demand) all
 * but the store's part is committed at create; the store commits a
 * segment by fallocate and gives one back by punching its hole (store.h),
 * the mapping is not populated, and the server locks pages on fault
 * (MCL_ONFAULT): a hole read through a shared tmpfs mapping would be
 * committed as a write would.  An attach then reads only what the table
 * names and punches the free segments out (tests/ublk/t_state_demand.c:
 * a 1 GiB device with a 32 MiB store holds 3088 KiB at create).
 *
 * Layout (offsets from the start of the region, never pointers; every
 * part starts on a 4 KiB boundary):
 *   0      header (one page): magic "ZTSTATE", layout version, page size,
 *          device size, policy identity, the zram tier's kernel device
 *          (its id: a recovering server reopens that device, whose pages
 *          outlive the server as the region does), the geometry below,
 *          each part's offset and length, total bytes, a checksum of all
 *          of that, and an attach counter (outside the checksum).  Its
 *          second half (from 2048) is what the running server updates,
 *          outside the checksum and never checked at attach: demotion's
 *          budget window (demote.h, whose rules make any value harmless).
 *          A fresh state has zeros there, and so has a state an older
 *          build of layout 3 made (it never wrote there): its first
 *          recovered server opens a new window, as that build's did.
 *   PT     the page table (pagetable.h zu_pt_create_in): the root of mid
 *          ids, then every block it can use; 8 B per page + 4 KiB per GiB
 *          + 1 MiB of slack.
 *   FILLS  the fill-word table's entries (24 B each).
 *   STORE  the store's arena, whole 64 KiB segments with their headers.
 *   SPILL  the spill tier's slot bitmap (1 bit per 4 KiB slot), if any.
 *   ZRAM   the zram tier's slot bitmap, if any.
 * Cost (tests/ublk/t_state.c, test_cost: a store of a quarter of the
 * device, a 4 GiB spill tier, a zram tier of a quarter of the device):
 *   1 GiB device: 265460 KiB = header 4 + table 3080 + fills 96 + store
 *                 262144 + spill map 128 + zram map 8
 *   4 GiB device: 1058072 KiB = 4 + 9236 + 96 + 1048576 + 128 + 32
 * A server without a state committing the same parts upfront (swap's
 * memory-commit: the whole table, the store's limit, the maps) uses 7 KiB
 * less: the header page and the parts' rounding to pages.  The table's
 * fixed 1 MiB of slack is in both.  Against memory-commit off (on demand)
 * the state commits the whole table and store from the first page.  The
 * zram tier's data is the kernel's memory, not the state's: only its map.
 * Counters are not kept (the budget window is a limit, not a count): the
 * allocators' own (store pages and bytes, slots and fill words used,
 * blocks in use) are recounted from the table at attach; the server's
 * published ones (pages per tier) can be, with zu_pt_stats, by the
 * recovery that will attach (not written yet).
 *
 * Invariants (a kill -9 stops every thread between two instructions; all
 * it stored before is in the region, nothing after):
 *   1. The header's magic is written last at create: a region without it
 *      was never finished and is refused.  An attach changes no byte of a
 *      region it refuses: it checks everything, reading only, first.
 *   2. The page table is the one source of truth.  An entry names a
 *      location only after the location's data is complete (store: copied
 *      before put returns; block tiers: the write completed before the
 *      entry is published), and a location is freed only after no entry
 *      names it (callers free the old location after zu_pt_unlock).
 *   3. An entry changes in one 64-bit store that also clears its LOCK bit.
 *      So a LOCK bit found at attach belongs to a dead thread, and the
 *      entry under it is the last value published: the rule is "keep the
 *      old value, clear the bit".  What the dead writer had allocated for
 *      its new value is named by no entry and becomes free (rule 4).
 *   4. Allocator metadata is rebuilt from the table at attach, never
 *      trusted: leaf refcounts and the page table's free list, store
 *      segment live bytes (segments with pages are sealed; the others
 *      free), fill-table refcounts, slot bitmaps.  So allocations a dead
 *      thread never published, and frees it never finished, cost nothing.
 *      (The zram tier's kernel device still holds what such slots held:
 *      the recovering server discards every slot the rebuilt bitmap left
 *      free before any queue runs, tier_zram.c.)
 *   5. Every entry must name something its tier holds: a store handle
 *      inside a segment whose header is ours and covers it, a table fill
 *      code whose word was set, a slot inside its tier and named once
 *      (a packed spill page's too: a known codec, raw iff 4096 bytes).
 *      Anything else is corruption: the attach refuses (-EUCLEAN) and
 *      names the page.  It never guesses: a swap page read back as zeros
 *      would corrupt a process silently.
 *      A page moving from the store to spill (demote.h) is named by
 *      one of its two copies at every instruction: the spill slot is
 *      written before the entry names it, the store copy freed after.
 *   6. An attach's own writes are all derived from the table, so it is
 *      idempotent: a kill during an attach leaves a state the next attach
 *      takes (tests/ublk/t_state_kill.c kills children at random, in their
 *      attach too).
 * Not covered: two entries naming overlapping store bytes (each is
 * checked against its segment, not against the others); a store handle
 * pointing at stale bytes in a live segment, or a slot number flipped to
 * another free slot, passes every check (no per-page checksum).
 *
 * Errors: negative errno and one line in *msg: -EBADMSG (not a state,
 * truncated, checksum), -EPROTO (another layout version), -ESTALE (a
 * state for another device, policy or page size), -EUCLEAN (entries and
 * allocators disagree), -ENOMEM, or a system call's errno.
 */
#ifndef ZU_STATE_H
#define ZU_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ublk/demote.h"
#include "ublk/fillvals.h"
#include "ublk/pagetable.h"
#include "ublk/slots.h"
#include "ublk/store.h"
#include "ublk/ztublk.h"

#define ZU_STATE_LAYOUT 3u           /* 2: the zram device in the header;
                                        3: entries with store ages and packed
                                        spill pages (demote.h), 19-bit tags */

enum zu_state_part { ZU_ST_PT, ZU_ST_FILLS, ZU_ST_STORE, ZU_ST_SPILL, ZU_ST_ZRAM,
		     ZU_ST_NPARTS };

/* What the region holds, from the resolved config (and the spill size,
 * known once its device is open). */
struct zu_state_geom {
	uint64_t dev_size;            /* bytes, a multiple of ZT_PAGE_SIZE      */
	uint64_t store_bytes;         /* arena (rounded down to segments); 0: none */
	uint64_t spill_slots;         /* 0: no spill tier                       */
	uint64_t zram_slots;          /* 0: no zram tier                        */
	uint32_t fill_capacity;
	uint64_t policy_id;           /* ztu_config_id                          */
	uint32_t zram_dev1;           /* the zram tier's device, N + 1 for
	                                 /dev/zramN (0: none); recorded at
	                                 create, not compared at attach       */
	bool on_demand;               /* the store's part committed as it
	                                 fills (no memory-commit: a file
	                                 system's), not in the header: the
	                                 config, whose identity is, says it   */
};

/* A mapped state: the parts, ready for use by one server. */
struct zu_state {
	struct zu_pt *pt;
	struct zu_fills *fills;
	struct zu_store *store;       /* NULL without a store                   */
	struct zu_slots *spill, *zram;/* NULL without that tier                 */
	void *base;
	size_t bytes;
	struct zu_budget_day *budget_day; /* demotion's window, in the header
	                                 page: a recovered server's demoter
	                                 continues the day (demote.h)        */
	uint64_t attaches;            /* attaches before this one (0: fresh)    */
	bool on_demand;               /* zu_state_geom's                        */
	int zram_dev;                 /* N of the zram tier's /dev/zramN, or -1 */
};

/* The geometry a server of cfg needs (fill capacity as given). */
void zu_state_geom_of(const struct ztu_config *cfg, uint64_t spill_slots,
		      uint32_t fill_capacity, struct zu_state_geom *g);
/* Bytes of the region for g; 0 if g is invalid. */
uint64_t zu_state_bytes(const struct zu_state_geom *g);

/* Make a new state in fd (whatever it held is discarded), committed and
 * mapped.  0 and *out, or -errno with *msg. */
int zu_state_create(int fd, const struct zu_state_geom *g, struct zu_state **out,
		    char *msg, size_t len);
/* Could a server of cfg (with spill_slots slots on its spill and
 * fill_capacity fill words) attach to the state in fd?  Its header only:
 * read, never mapped or changed, so a live server may be using the state
 * meanwhile.  0, or the -errno and *msg zu_state_attach would give for the
 * header. */
int zu_state_check(int fd, const struct ztu_config *cfg, uint64_t spill_slots,
		   uint32_t fill_capacity, char *msg, size_t len);
/* Attach to the state in fd if it was made for g: validated (see the
 * invariants), rebuilt, mapped.  0 and *out, or -errno with *msg and the
 * file unchanged. */
int zu_state_attach(int fd, const struct zu_state_geom *g, struct zu_state **out,
		    char *msg, size_t len);
/* Unmap (no thread may use the parts); the state stays in fd. */
void zu_state_detach(struct zu_state *s);

#endif
