/*
 * discards.h — zram slots waiting for their discard (zram_discard.c).
 *
 * A zram slot that no entry names any more still holds its compressed copy
 * in the kernel until it is discarded.  The queue thread that lets it go
 * must not wait for that discard, so it marks the slot here; a discarder
 * takes the marks in batches, discards each run of consecutive slots with
 * one request, and only then frees the slots in the allocator (slots.h).
 *
 * The invariant, "a slot is reused only after its discard completed":
 * a marked slot stays allocated in slots.h from the moment its entry
 * stopped naming it until the discard that covers it has returned, so
 * zu_slots_alloc cannot hand it out and no write can meet its discard.
 * (The other way round, a discard dropped because the slot was rewritten
 * first, cannot happen: nothing rewrites a slot that is not free.)  The
 * caller owns the slot alone when it marks it (its entry is gone), so a
 * slot is marked at most once per allocation.
 *
 * Recovery (state.h) keeps working as it did: marks are this process's
 * memory, never the state's.  An attaching server rebuilds the slot map
 * from the entries, so a slot that was marked when its server died comes
 * back free, and the recovering server discards every free slot before any
 * queue runs (ztu_zram_discard_free).
 *
 * No lock: mark is an atomic add and an atomic OR (any thread, never
 * blocks); drain takes whole words with an atomic exchange, so two drainers
 * never take the same slot.  One bit per slot, like slots.h.
 */
#ifndef ZU_DISCARDS_H
#define ZU_DISCARDS_H

#include <stdbool.h>
#include <stdint.h>

struct zu_discards;

/* Marks for nslots slots (>= 1).  NULL with errno set on failure. */
struct zu_discards *zu_discards_create(uint64_t nslots);
void zu_discards_destroy(struct zu_discards *d);

/* Mark slot (< nslots; the caller checked it).  True when nothing was
 * pending before: the caller wakes the discarder. */
bool zu_discards_mark(struct zu_discards *d, uint64_t slot);

/* Slots marked and not yet taken by a drain (an upper bound while a mark
 * is half done: counted before its bit is set). */
uint64_t zu_discards_pending(const struct zu_discards *d);

/* Take every marked slot and hand it to fn as runs of consecutive slots,
 * in ascending order, each as long as possible but at most max_run slots
 * (0: no limit).  Returns the slots taken. */
typedef void zu_discard_fn(void *ctx, uint64_t first, uint64_t n);
uint64_t zu_discards_drain(struct zu_discards *d, uint64_t max_run, zu_discard_fn *fn,
			   void *ctx);

#endif
