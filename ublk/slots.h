/*
 * slots.h — a slot allocator for the spill and zram tiers: N fixed 4 KiB
 * slots on a device or file, slot s at byte offset s * ZT_PAGE_SIZE.
 *
 * One bit per slot in an array of 64-bit atomic words (N/8 bytes: 128 MiB
 * of 4 KiB slots per 4 KiB of bitmap), no lock at all:
 *   - alloc first reserves a slot by incrementing an atomic "used" count
 *     (over N: undo and -ENOSPC), so a free bit is known to exist; then it
 *     scans from the caller's cursor for a word with a clear bit and sets it
 *     with a CAS.  A cursor per queue keeps queues in different words (no
 *     cache-line ping-pong) and makes one queue's consecutive writes land on
 *     consecutive slots (sequential I/O on the backing device).
 *   - free clears the bit with an atomic AND and decrements "used".
 * Slot numbers only: nothing here depends on addresses.
 */
#ifndef ZU_SLOTS_H
#define ZU_SLOTS_H

#include <stdbool.h>
#include <stdint.h>

struct zu_slots;

/* An allocator of nslots slots (1..2^40, the page-table slot field).  NULL with errno set on failure. */
struct zu_slots *zu_slots_create(uint64_t nslots);
void zu_slots_destroy(struct zu_slots *sl);

/* Allocate one slot into *slot.  cursor: the caller's own position (one per
 * queue thread, start it at anything, e.g. qid * nslots / nqueues); NULL
 * uses a shared cursor.  0 or -ENOSPC. */
int zu_slots_alloc(struct zu_slots *sl, uint64_t *cursor, uint64_t *slot);
/* Free a slot.  0, -ERANGE (out of range), -EINVAL (it was not in use). */
int zu_slots_free(struct zu_slots *sl, uint64_t slot);
/* Mark a known slot in use (rebuilding state on re-attach).  0, -ERANGE,
 * -EEXIST (already in use), -ENOSPC. */
int zu_slots_claim(struct zu_slots *sl, uint64_t slot);

/* The bitmap in a caller's region (a shared-memory state, state.h) of
 * zu_slots_region_bytes(nslots); counters stay in the process.  Nothing is
 * written to it until zu_slots_adopt_commit, which must come before any
 * alloc: at once on a fresh region, after zu_slots_adopt of every slot the
 * page table names on an attach.  adopt: 0, or -EUCLEAN (outside the
 * tier, or a slot named twice). */
uint64_t zu_slots_region_bytes(uint64_t nslots);
struct zu_slots *zu_slots_create_in(void *area, uint64_t nslots);
int zu_slots_adopt(struct zu_slots *sl, uint64_t slot);
void zu_slots_adopt_commit(struct zu_slots *sl);

bool zu_slots_in_use(const struct zu_slots *sl, uint64_t slot);
uint64_t zu_slots_total(const struct zu_slots *sl);
uint64_t zu_slots_used(const struct zu_slots *sl);
uint64_t zu_slots_free_count(const struct zu_slots *sl);
uint64_t zu_slots_bytes(const struct zu_slots *sl);   /* bitmap bytes */

#endif
