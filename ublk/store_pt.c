/*
 * store_pt.c — the store's mover on the page table (design in store_pt.h).
 */
#include "ublk/store_pt.h"

struct walk {
	struct zu_store *st;
	zu_store_visit_fn visit;
};

static int walk_entry(void *ctx, uint64_t idx, uint64_t e)
{
	struct walk *w = ctx;

	if (zu_pte_tier(e) == ZT_TIER_STORE)
		w->visit(w->st, idx, zu_pte_store_handle(e));
	return 0;
}

static void pt_walk(void *ctx, struct zu_store *st, zu_store_visit_fn visit)
{
	struct walk w = { st, visit };

	zu_pt_foreach(ctx, walk_entry, &w);
}

/* The entry keeps its tier and codec; only the handle changes.  A page
 * rewritten, discarded or moved to another tier since the walk saw it is
 * left alone (the store then drops its copy). */
static bool pt_relocate(void *ctx, uint64_t pgno, uint64_t old, uint64_t new_handle)
{
	struct zu_pt *pt = ctx;
	uint64_t cur;
	bool same;

	if (zu_pt_lock(pt, pgno, ZU_PT_NOCREATE, &cur))
		return false;
	same = zu_pte_tier(cur) == ZT_TIER_STORE && zu_pte_store_handle(cur) == old;
	zu_pt_unlock(pt, pgno, same ? (cur & ~ZU_PTE_HANDLE_MASK) | new_handle : cur);
	return same;
}

struct zu_store_mover zu_store_pt_mover(struct zu_pt *pt)
{
	return (struct zu_store_mover){ pt_walk, pt_relocate, pt };
}
