/*
 * state_free.h — free the location a page's entry named, in a state's own
 * allocators: how the state tests and fz_state drop a page (the server's
 * own way goes through its tiers, tier.h).
 */
#ifndef ZT_TESTS_STATE_FREE_H
#define ZT_TESTS_STATE_FREE_H

#include "ublk/state.h"
#include "ublk/store_pt.h"

static inline void state_free_loc(struct zu_state *s, uint64_t e)
{
	switch (zu_pte_tier(e)) {
	case ZT_TIER_META:  zu_fill_put(s->fills, zu_pte_payload(e)); break;
	case ZT_TIER_STORE: zu_store_free(s->store, zu_pte_store_handle(e)); break;
	case ZT_TIER_SPILL: zu_slots_free(s->spill, zu_pte_slot_nr(e)); break;
	case ZT_TIER_ZRAM:  zu_slots_free(s->zram, zu_pte_slot_nr(e)); break;
	default: break;
	}
}

/* Publish e as idx's entry as a writer does, then free what it replaced
 * (or e itself when the entry cannot be locked). */
static inline void state_publish(struct zu_state *s, uint64_t idx, uint64_t e)
{
	uint64_t old;

	if (zu_pt_lock(s->pt, idx, 0, &old)) {
		state_free_loc(s, e);
		return;
	}
	zu_pt_unlock(s->pt, idx, e);
	state_free_loc(s, old);
}

/* Drop the n pages of idx as the server does: the entry emptied under its
 * lock first, then its location freed. */
static inline void state_drop_pages(struct zu_state *s, const uint64_t *idx, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint64_t old;

		if (zu_pt_lock(s->pt, idx[i], ZU_PT_NOCREATE, &old))
			continue;
		zu_pt_unlock(s->pt, idx[i], ZU_PTE_EMPTY);
		state_free_loc(s, old);
	}
}

#endif
