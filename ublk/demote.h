/*
 * demote.h — age-based demotion: store pages not read for the idle age
 * move to the spill tier, kept compressed (issue #15, part 3).
 *
 * Age.  Each STORE entry carries a 2-bit age (pagetable.h: bits 58..59 of
 * the entry, no memory of its own).  A read sets it to 0 (the reader holds
 * the entry lock anyway), a write makes a new entry (age 0), and every
 * demotion pass adds one up to 3.  Passes run every age / 3 seconds
 * (at least ZU_DEMOTE_MIN_PERIOD_MS apart), and a pass that finds age 3
 * demotes: the page saw three passes since its last read, the first of them
 * after that read, so it was idle at least 3 periods = the idle age, at
 * most 4/3 of it.  Time is CLOCK_MONOTONIC: suspended time does not count.
 *
 * A move (the housekeeper thread, never a queue thread):
 *   1. under the entry lock, the page's stored bytes (compressed, or raw)
 *      are copied into a 4 KiB buffer (zero-padded); unlock;
 *   2. a spill slot is taken and the buffer written to it (pwrite);
 *   3. under the entry lock again, if the entry is exactly what step 1 saw,
 *      it is published as a PACKED spill entry (slot, codec, length, tag);
 *      else (read, rewritten, discarded, compacted) nothing changes and the
 *      slot is freed;
 *   4. only then the store copy is freed.
 * So a kill -9 anywhere leaves the entry naming one complete copy: before
 * step 3's store the old one (the slot, named by no entry, is free again
 * once the state's slot bitmap is rebuilt at attach), after it the new one
 * (the store bytes no entry names are free once the store is rebuilt).
 *
 * Read back.  A packed page is read like any spill page (one 4 KiB read of
 * its slot), then decoded (zu_packed_decode).  The reader may promote it:
 * the same bytes put back into the store (zu_packed_promote: no
 * recompression), when the store takes them without committing memory
 * (put, not put_last: the reserve or the upfront spares; -ENOSPC: it stays
 * where it is).  The page's age starts again at 0.
 *
 * Budget.  At most budget bytes a day written to the spill by demotion
 * (4 KiB per page: what the device sees; 0: no limit), granted again 24 h
 * after the window opened (the policy's writeback-budget, the one budget
 * of a device's maintenance).  The window (its start and the bytes taken)
 * is kept in the state when the device has one (state.h, the header
 * page): a server recovered after kill -9 continues the same day, so a
 * crash loop cannot spend the budget many times a day.  The clock is the
 * passes' CLOCK_MONOTONIC, the same for every process until a reboot,
 * which the state (RAM) does not survive.  Only the housekeeper writes the
 * window, each field in one 64-bit store: a take stores the new total
 * before the page moves, and a new window stores its start before the
 * zero total, so a kill between them leaves the new start with the old
 * (larger) total.  A torn or stale window errs on spending less, and any
 * value at all is harmless: a start in the future (not this clock's) is
 * taken as now, keeping what was spent; more spent than a day's budget
 * leaves nothing until the window ends.
 *
 * One slot per page: a page of ~1.3 KiB compressed still takes a 4 KiB
 * slot (the spill is disk, not RAM; packing several pages in a slot would
 * need per-slot reference counts in the state).
 */
#ifndef ZU_DEMOTE_H
#define ZU_DEMOTE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ublk/codec.h"
#include "ublk/pagetable.h"
#include "ublk/slots.h"
#include "ublk/store.h"

#define ZU_DEMOTE_MIN_PERIOD_MS 1000u
#define ZU_DEMOTE_DAY_MS        (UINT64_C(86400) * 1000)

/* A daily budget's window: in process memory, or in a state's header
 * page (state.h), where it outlives the server. */
struct zu_budget_day {
	_Atomic uint64_t start_ms;    /* when the window opened (0: none yet) */
	_Atomic uint64_t used;        /* bytes taken in it                    */
};

/* A daily budget of bytes. */
struct zu_budget {
	uint64_t per_day;             /* 0: no limit (day may be NULL)        */
	struct zu_budget_day *day;    /* the current window                   */
};
/* Take n bytes at now_ms: true if they fit (then counted). */
bool zu_budget_take(struct zu_budget *b, uint64_t now_ms, uint64_t n);
/* Bytes left in the window at now_ms (UINT64_MAX: no limit). */
uint64_t zu_budget_left(const struct zu_budget *b, uint64_t now_ms);

/* Time between passes for an idle age in seconds (0: demotion off). */
uint64_t zu_demote_period_ms(unsigned age_s);

struct zu_demoter;

struct zu_demote_cfg {
	struct zu_pt *pt;
	struct zu_store *store;
	struct zu_slots *slots;       /* the spill's                          */
	int fd;                       /* the spill: slot s at s * 4096        */
	unsigned age_s;               /* idle age, seconds (> 0)              */
	uint64_t budget;              /* bytes a day, 0: no limit             */
	struct zu_budget_day *day;    /* the budget's window: a state's
	                                 (zu_state.budget_day) outlives the
	                                 server; NULL: the demoter's own      */
};

/* NULL with errno (EINVAL: no age, store or spill; ENOMEM). */
struct zu_demoter *zu_demoter_create(const struct zu_demote_cfg *cfg, uint64_t now_ms);
void zu_demoter_destroy(struct zu_demoter *d);
/* The housekeeper's hook: a pass if one is due at now_ms.  Pages demoted. */
int zu_demote_tick(struct zu_demoter *d, uint64_t now_ms);
/* One pass now (tests; the tick calls it): every store page aged, those at
 * the top age demoted within the budget.  Pages demoted, or a negative
 * errno of the spill (the pass stops demoting; the ages still advance). */
int zu_demote_pass(struct zu_demoter *d, uint64_t now_ms);

struct zu_demote_stats {
	uint64_t passes, pages, bytes;  /* bytes: stored (compressed) bytes     */
	uint64_t raced;                 /* moves dropped: the page changed      */
	uint64_t budget_left;           /* after the last pass; UINT64_MAX: no
	                                   limit                                */
	int last_err;                   /* the last spill error, 0 if none      */
};
/* A snapshot, from any thread. */
void zu_demote_stats(struct zu_demoter *d, struct zu_demote_stats *out);

/* A packed entry's page from its slot's bytes. 0, or -EIO (corrupt). */
int zu_packed_decode(struct zu_codec_ctx *cx, uint64_t e, const void *slot, void *page);
/* Put a packed entry's bytes back into the store (never commits memory):
 * 0 and *store_entry (age 0), or -ENOSPC / -E2BIG (it stays in spill). */
int zu_packed_promote(struct zu_store *st, uint64_t e, const void *slot,
		      uint64_t *store_entry);

#endif
