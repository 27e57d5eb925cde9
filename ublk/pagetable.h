/*
 * pagetable.h — the tiered device's page table: page index -> 64-bit entry.
 *
 * Shape: a three-level radix, sparse so metadata grows with pages stored,
 * not with device size.
 *
 *   root   one array of 32-bit mid ids, ceil(npages / 2^18) of them, made
 *          at create time: 4 bytes per GiB of device (1 TiB -> 4 KiB).
 *   mid    4 KiB block of 512 "slot words", one per leaf.  Made on first
 *          store into its 1 GiB range, kept until destroy (4 KiB per GiB of
 *          device space ever written).
 *   leaf   4 KiB block of 512 entries (8 B each) = 2 MiB of device.  Made on
 *          first store, returned to the pool when its last entry empties.
 *
 * Dense cost: 8 B/page (the entry) + one 4 KiB mid per 2^18 pages (it
 * holds the leaves' slot words) = 8.016 B/page, plus the fixed root and
 * chunk table (12 B per GiB of device).  The 8 B entry is the floor.
 * Measured (tests/ublk/t_pagetable.c): dense 1 GiB 8.016 B/page; a 1 TiB
 * device holding one 1 GiB run 8.09 B/page; 1 GiB in 64 clusters of 16 MiB
 * 10.05 B/page (a partial leaf per cluster end, a mid per cluster).  A
 * random scatter costs up to a 4 KiB leaf per stored page: radix trees pay
 * for sparseness at leaf granularity (swap allocates in clusters).
 *
 * Entry (64 bits):  bit 63 LOCK | bits 60..62 tier | bits 0..59 payload
 *   tier is enum zt_tier; ZT_TIER_NONE with payload 0 is the empty page, so
 *   an all-zero entry (and an all-zero leaf) means "never written / trimmed".
 *   META   payload = fill code from fillvals.h (zero fill = code 0)
 *   STORE  payload = age (bits 58..59) | codec kind (bits 56..57) |
 *          store handle (bits 0..55).  The age is the page's idle time in
 *          demotion passes (demote.h): a read sets it to 0, each pass adds
 *          one up to 3; it costs no memory (2 spare bits of the entry).
 *   ZRAM   payload = 0 (bit 59) | tag (bits 40..58) | slot number
 *   SPILL  payload = 0 (bit 59) | tag (bits 40..58) | slot number, or, for a
 *          page demoted from the store (kept compressed, demote.h):
 *          PACKED (bit 59) | codec (57..58) | length - 1 (45..56) |
 *          tag (40..44) | slot number: the slot holds the stored bytes.
 *          The tag is optional (0 by default): see zu_pte_slot_tagged.
 *
 * Concurrency (no global lock on the I/O path):
 *   - Entries are C11 atomics.  Bit 63 is a per-entry spin lock:
 *     zu_pt_lock() sets it (CAS) and returns the entry, zu_pt_unlock()
 *     stores the new entry and clears it in one release store.  A queue
 *     thread holds it across a tier move of one page, across the copy out
 *     of the store on reads (so a slot is never freed under a reader) and
 *     across the last-resort read-modify-write of a sub-page write.  Hold it briefly, never
 *     across an io_uring round trip: a queue thread that waits for its own
 *     CQE while holding an entry would spin forever on its next lock of
 *     that page.  Async tiers validate instead (zu_pte_slot_tagged).
 *   - A mid slot word packs (leaf id : 32 | refs : 32).  refs counts the
 *     leaf's non-empty entries plus the threads currently inside it (pins).
 *     Pinning is a CAS on that word; a leaf is created by CAS-installing a
 *     pool block into a slot word that has no leaf (losers return theirs);
 *     the thread whose unpin makes refs 0 detaches the leaf with a CAS of
 *     the whole word to 0 and gives the block back.  So nobody can be
 *     inside a leaf that is being freed, with no epochs or RCU.
 *   - Mids are installed with a CAS into the root and never freed.
 *
 * Memory: leaves and mids are 4 KiB blocks from a pool of 2 MiB chunks
 * (mmap MAP_POPULATE; under the server's mlockall they are locked), never
 * malloc.  Free blocks sit on a lock-free stack (tagged 32-bit ids, no ABA).
 * The pool grows a chunk at a time under a mutex, only when the stack is
 * empty: one mmap per 512 new leaves (1 GiB of device).  prealloc_bytes at
 * create (and zu_pt_reserve) lets the server map what it expects up front so
 * the I/O path does not even do that.  Blocks and mid/root links are 32-bit
 * ids (chunk * 512 + block + 1), not pointers, so the table can live in a
 * shared-memory region that outlives the server (zu_pt_create_in: root and
 * every block at fixed offsets, no growth; zu_pt_attach_in re-attaches,
 * state.h).
 *
 * Errors: negative errno.  Index >= npages is -ERANGE; no block -> -ENOMEM.
 */
#ifndef ZU_PAGETABLE_H
#define ZU_PAGETABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"

/* ---- entries --------------------------------------------------------------- */

#define ZU_PTE_LOCK          (UINT64_C(1) << 63)
#define ZU_PTE_TIER_SHIFT    60
#define ZU_PTE_TIER_MASK     (UINT64_C(7) << ZU_PTE_TIER_SHIFT)
#define ZU_PTE_PAYLOAD_BITS  60
#define ZU_PTE_PAYLOAD_MASK  ((UINT64_C(1) << ZU_PTE_PAYLOAD_BITS) - 1)
#define ZU_PTE_EMPTY         UINT64_C(0)

/* Store-tier payload: codec kind above a 56-bit store handle. */
#define ZU_PTE_CODEC_SHIFT   56
#define ZU_PTE_HANDLE_MASK   ((UINT64_C(1) << ZU_PTE_CODEC_SHIFT) - 1)

static inline uint64_t zu_pte_make(enum zt_tier tier, uint64_t payload)
{
	return ((uint64_t)tier << ZU_PTE_TIER_SHIFT) | (payload & ZU_PTE_PAYLOAD_MASK);
}

static inline enum zt_tier zu_pte_tier(uint64_t e)
{
	return (enum zt_tier)((e & ZU_PTE_TIER_MASK) >> ZU_PTE_TIER_SHIFT);
}

static inline uint64_t zu_pte_payload(uint64_t e)
{
	return e & ZU_PTE_PAYLOAD_MASK;
}

static inline bool zu_pte_is_empty(uint64_t e)
{
	return (e & ~ZU_PTE_LOCK) == ZU_PTE_EMPTY;
}

/* META entry from a fill code (fillvals.h; zero fill is code 0). */
static inline uint64_t zu_pte_meta(uint64_t fill_code)
{
	return zu_pte_make(ZT_TIER_META, fill_code);
}

/* STORE entry from a store handle (< 2^56) and the codec that made it. */
static inline uint64_t zu_pte_store(uint64_t handle, enum zt_codec_kind codec)
{
	return zu_pte_make(ZT_TIER_STORE, ((uint64_t)codec << ZU_PTE_CODEC_SHIFT) |
					  (handle & ZU_PTE_HANDLE_MASK));
}

static inline uint64_t zu_pte_store_handle(uint64_t e)
{
	return e & ZU_PTE_HANDLE_MASK;
}

static inline enum zt_codec_kind zu_pte_store_codec(uint64_t e)
{
	return (enum zt_codec_kind)((e >> ZU_PTE_CODEC_SHIFT) & 3);
}

/* A store page's age in demotion passes (0..ZU_PTE_AGE_MAX). */
#define ZU_PTE_AGE_SHIFT 58
#define ZU_PTE_AGE_MAX   3u

static inline unsigned zu_pte_store_age(uint64_t e)
{
	return (unsigned)(e >> ZU_PTE_AGE_SHIFT) & ZU_PTE_AGE_MAX;
}

static inline uint64_t zu_pte_store_aged(uint64_t e, unsigned age)
{
	return (e & ~((uint64_t)ZU_PTE_AGE_MAX << ZU_PTE_AGE_SHIFT)) |
	       (uint64_t)(age & ZU_PTE_AGE_MAX) << ZU_PTE_AGE_SHIFT;
}

/* ZRAM / SPILL entries: a slot number (< 2^40: 4 PiB of 4 KiB slots) and
 * a 19-bit tag (5 bits in a packed entry).  Async tiers: a reader locks the entry, notes it, unlocks,
 * reads the slot through io_uring, then locks again and keeps the data only
 * if the entry is unchanged (else it re-reads from the new location): the
 * slot may have been freed and reused meanwhile.  Bumping the tag on every
 * write (e.g. a per-queue counter) makes "unchanged" exact even if the same
 * slot comes back to the same page during the read (ABA). */
#define ZU_PTE_SLOT_BITS 40
#define ZU_PTE_SLOT_MASK ((UINT64_C(1) << ZU_PTE_SLOT_BITS) - 1)
#define ZU_PTE_TAG_MASK  UINT32_C(0x7ffff)
#define ZU_PTE_PACKED    (UINT64_C(1) << 59)
#define ZU_PTE_PTAG_MASK UINT32_C(0x1f)

static inline uint64_t zu_pte_slot_tagged(enum zt_tier tier, uint64_t slot, uint32_t tag)
{
	return zu_pte_make(tier, (uint64_t)(tag & ZU_PTE_TAG_MASK) << ZU_PTE_SLOT_BITS |
				 (slot & ZU_PTE_SLOT_MASK));
}

/* A spill entry for a page kept compressed: len (1..4096) bytes that codec
 * made, at the start of slot. */
static inline uint64_t zu_pte_packed(uint64_t slot, enum zt_codec_kind codec, size_t len,
				     uint32_t tag)
{
	return zu_pte_make(ZT_TIER_SPILL, ZU_PTE_PACKED | (uint64_t)(codec & 3) << 57 |
				 (uint64_t)((len - 1) & 0xfff) << 45 |
				 (uint64_t)(tag & ZU_PTE_PTAG_MASK) << ZU_PTE_SLOT_BITS |
				 (slot & ZU_PTE_SLOT_MASK));
}

static inline bool zu_pte_is_packed(uint64_t e)
{
	return zu_pte_tier(e) == ZT_TIER_SPILL && (e & ZU_PTE_PACKED);
}

static inline enum zt_codec_kind zu_pte_packed_codec(uint64_t e)
{
	return (enum zt_codec_kind)((e >> 57) & 3);
}

static inline size_t zu_pte_packed_len(uint64_t e)
{
	return (size_t)((e >> 45) & 0xfff) + 1;
}

/* A block-tier entry without its tag (what the tiers are given); other
 * entries as they are. */
static inline uint64_t zu_pte_untagged(uint64_t e)
{
	enum zt_tier t = zu_pte_tier(e);
	uint64_t tag = zu_pte_is_packed(e) ? ZU_PTE_PTAG_MASK : ZU_PTE_TAG_MASK;

	if (t != ZT_TIER_SPILL && t != ZT_TIER_ZRAM)
		return e;
	return e & ~(tag << ZU_PTE_SLOT_BITS);
}

static inline uint64_t zu_pte_slot(enum zt_tier tier, uint64_t slot)
{
	return zu_pte_slot_tagged(tier, slot, 0);
}

static inline uint64_t zu_pte_slot_nr(uint64_t e)
{
	return e & ZU_PTE_SLOT_MASK;
}

/* ---- the table ------------------------------------------------------------- */

struct zu_pt;

typedef int (*zu_pt_visit_fn)(void *ctx, uint64_t idx, uint64_t entry);

/* A table for a device of npages pages.  prealloc_bytes of leaf/mid blocks
 * are mapped now (rounded up to whole 2 MiB chunks; 0: none).  NULL on
 * ENOMEM or npages == 0 / too large (errno is set). */
struct zu_pt *zu_pt_create(uint64_t npages, size_t prealloc_bytes);
/* The table in a caller's region (a shared-memory state, state.h) of at
 * least zu_pt_region_bytes(npages) bytes: the root and every block the
 * table can use, laid out at fixed offsets (ids, not pointers), so the pool
 * never grows.  create_in formats the region (zeroes it); 0 bytes: npages
 * out of range. */
size_t zu_pt_region_bytes(uint64_t npages);
struct zu_pt *zu_pt_create_in(void *area, size_t len, uint64_t npages);
/* Attach to a region a dead server left: first check, reading only:
 * every mid and leaf id inside the pool and named once, every entry of a
 * valid tier inside the device, and check(ctx, idx, entry) == 0 for every
 * stored entry (entry as last published: a LOCK bit left by a dead thread
 * is ignored: zu_pt_unlock publishes and unlocks in one store, so a locked
 * entry still holds its old value).  Only if all of that passes, fix: LOCK
 * bits cleared, leaf refs recounted (dead pins dropped, empty leaves
 * freed), the free stack rebuilt from the blocks nobody names.  0 and
 * *out; -EUCLEAN (inconsistent) or check's error with the region
 * untouched and *where the page index found bad; -EINVAL, -ENOMEM. */
int zu_pt_attach_in(void *area, size_t len, uint64_t npages, zu_pt_visit_fn check,
		    void *ctx, struct zu_pt **out, uint64_t *where);
/* Frees everything (a region stays as it is).  No thread may be using the table. */
void zu_pt_destroy(struct zu_pt *pt);
uint64_t zu_pt_npages(const struct zu_pt *pt);

/* Map more pool chunks now so at least nblocks blocks are free.  A
 * housekeeping thread can keep the I/O path free of mmap with
 * "if (zu_pt_free_blocks(pt) < low) zu_pt_reserve(pt, high);". */
int zu_pt_reserve(struct zu_pt *pt, size_t nblocks);
/* Pool blocks mapped and free right now (cheap: no walk). */
size_t zu_pt_free_blocks(struct zu_pt *pt);

/* zu_pt_lock flags */
#define ZU_PT_NOCREATE 1u   /* no leaf yet: return -ENOENT, lock nothing */

/* Lock the entry of page idx and return its value (LOCK bit clear) in *cur.
 * Creates the leaf if needed (-ENOMEM when the pool cannot grow) unless
 * ZU_PT_NOCREATE: then a page in a leaf that does not exist is reported as
 * -ENOENT (it is empty; nothing is locked).  Spins (then yields) while
 * another thread holds the entry.  Every 0 return must be paired with
 * zu_pt_unlock().  It is not recursive: a thread holding page i that locks
 * page i again spins forever; a thread that holds several entries must
 * take them in increasing index order. */
int zu_pt_lock(struct zu_pt *pt, uint64_t idx, unsigned flags, uint64_t *cur);

/* Store new_entry (LOCK bit ignored) and unlock.  Storing ZU_PTE_EMPTY may
 * free the leaf.  The caller frees the old location itself. */
void zu_pt_unlock(struct zu_pt *pt, uint64_t idx, uint64_t new_entry);

/* A racy snapshot of one entry (LOCK bit clear), for stats and tests; the
 * location it names may be freed at any moment.  Empty if out of range. */
uint64_t zu_pt_peek(struct zu_pt *pt, uint64_t idx);

/* Call fn for every non-empty entry (a racy snapshot, in index order) until
 * fn returns non-zero, which is returned. */
int zu_pt_foreach(struct zu_pt *pt, zu_pt_visit_fn fn, void *ctx);

struct zu_pt_stats {
	uint64_t pages[ZT_TIER_COUNT]; /* entries per tier ([NONE] unused)      */
	uint64_t stored;               /* non-empty entries                     */
	uint64_t leaves, mids;         /* blocks in use                         */
	uint64_t free_blocks;          /* pool blocks mapped but unused         */
	uint64_t meta_bytes;           /* root + mids + leaves + fixed struct   */
	uint64_t pool_bytes;           /* all pool chunks mapped (>= the above) */
};
/* Walks the leaves (O(stored)); a snapshot, not atomic as a whole. */
void zu_pt_stats(struct zu_pt *pt, struct zu_pt_stats *out);
/* meta_bytes of zu_pt_stats without the walk (for frequent publishing). */
uint64_t zu_pt_meta_bytes(const struct zu_pt *pt);

#endif
