/*
 * store_pt.h — the store's compactor (store.h) on the tiered target's page
 * table (pagetable.h): the walk visits every STORE entry, and relocate
 * re-points an entry under its lock (bit 63), the lock a reader holds while
 * it copies a page out of the store, only if it still names the old copy.
 * Kept apart so that neither the store nor the table knows the other.
 */
#ifndef ZU_STORE_PT_H
#define ZU_STORE_PT_H

#include "ublk/pagetable.h"
#include "ublk/store.h"

/* A mover for zu_store_set_mover; pt must outlive the store's use of it. */
struct zu_store_mover zu_store_pt_mover(struct zu_pt *pt);

#endif
