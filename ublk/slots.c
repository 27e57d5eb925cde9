/*
 * slots.c — lock-free bitmap slot allocator (design in slots.h).
 *
 * "used" is a reservation counter: a thread that got a reservation is owed
 * one clear bit, so its scan always ends (other threads may take the bit it
 * was looking at, but never more bits than there are reservations).  Bits
 * past nslots in the last word are set at create so they are never handed
 * out.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "ublk/slots.h"

struct zu_slots {
	uint64_t nslots;
	uint64_t nwords;
	_Atomic uint64_t used;
	_Atomic uint64_t cursor;         /* shared cursor for callers without one */
	_Atomic uint64_t *words;
	bool external;                   /* words are a caller's region       */
	uint64_t *adopt;                 /* attach: the slots the table names */
};

/* A handle with its geometry and no bitmap yet; NULL with errno set. */
static struct zu_slots *slots_alloc(uint64_t nslots)
{
	struct zu_slots *sl;

	if (nslots == 0 || nslots > (UINT64_C(1) << 40)) {
		errno = EINVAL;
		return NULL;
	}
	sl = calloc(1, sizeof(*sl));
	if (!sl)
		return NULL;
	sl->nslots = nslots;
	sl->nwords = (nslots + 63) / 64;
	return sl;
}

struct zu_slots *zu_slots_create(uint64_t nslots)
{
	struct zu_slots *sl = slots_alloc(nslots);

	if (!sl)
		return NULL;
	sl->words = calloc(sl->nwords, sizeof(*sl->words));
	if (!sl->words) {
		free(sl);
		return NULL;
	}
	if (nslots % 64)
		atomic_init(&sl->words[sl->nwords - 1], ~UINT64_C(0) << (nslots % 64));
	return sl;
}

void zu_slots_destroy(struct zu_slots *sl)
{
	if (!sl)
		return;
	if (!sl->external)
		free(sl->words);
	free(sl->adopt);
	free(sl);
}

static bool reserve(struct zu_slots *sl)
{
	uint64_t u = atomic_fetch_add_explicit(&sl->used, 1, memory_order_relaxed);

	if (u < sl->nslots)
		return true;
	atomic_fetch_sub_explicit(&sl->used, 1, memory_order_relaxed);
	return false;
}

/* Try to set one clear bit of word w; its slot number, or UINT64_MAX. */
static uint64_t take_bit(struct zu_slots *sl, uint64_t w)
{
	uint64_t v = atomic_load_explicit(&sl->words[w], memory_order_relaxed);

	while (~v) {
		uint64_t bit = (uint64_t)__builtin_ctzll(~v);

		if (atomic_compare_exchange_weak_explicit(&sl->words[w], &v,
							  v | (UINT64_C(1) << bit),
							  memory_order_acquire,
							  memory_order_relaxed))
			return w * 64 + bit;
	}
	return UINT64_MAX;
}

int zu_slots_alloc(struct zu_slots *sl, uint64_t *cursor, uint64_t *slot)
{
	uint64_t start, w, s;

	if (!reserve(sl))
		return -ENOSPC;
	start = cursor ? *cursor : atomic_load_explicit(&sl->cursor, memory_order_relaxed);
	w = (start / 64) % sl->nwords;
	for (;;) {
		s = take_bit(sl, w);
		if (s != UINT64_MAX)
			break;
		if (++w == sl->nwords)
			w = 0;
	}
	if (cursor)
		*cursor = s + 1;
	else
		atomic_store_explicit(&sl->cursor, s + 1, memory_order_relaxed);
	*slot = s;
	return 0;
}

int zu_slots_free(struct zu_slots *sl, uint64_t slot)
{
	uint64_t mask, old;

	if (slot >= sl->nslots)
		return -ERANGE;
	mask = UINT64_C(1) << (slot % 64);
	old = atomic_fetch_and_explicit(&sl->words[slot / 64], ~mask, memory_order_release);
	if (!(old & mask))
		return -EINVAL;
	atomic_fetch_sub_explicit(&sl->used, 1, memory_order_relaxed);
	return 0;
}

int zu_slots_claim(struct zu_slots *sl, uint64_t slot)
{
	uint64_t mask, old;

	if (slot >= sl->nslots)
		return -ERANGE;
	if (!reserve(sl))
		return -ENOSPC;
	mask = UINT64_C(1) << (slot % 64);
	old = atomic_fetch_or_explicit(&sl->words[slot / 64], mask, memory_order_acquire);
	if (old & mask) {
		atomic_fetch_sub_explicit(&sl->used, 1, memory_order_relaxed);
		return -EEXIST;
	}
	return 0;
}

bool zu_slots_in_use(const struct zu_slots *sl, uint64_t slot)
{
	struct zu_slots *m = (struct zu_slots *)sl;

	if (slot >= sl->nslots)
		return false;
	return atomic_load_explicit(&m->words[slot / 64], memory_order_relaxed) &
	       (UINT64_C(1) << (slot % 64));
}

uint64_t zu_slots_total(const struct zu_slots *sl)
{
	return sl->nslots;
}

uint64_t zu_slots_used(const struct zu_slots *sl)
{
	return atomic_load_explicit(&((struct zu_slots *)sl)->used, memory_order_relaxed);
}

uint64_t zu_slots_free_count(const struct zu_slots *sl)
{
	return sl->nslots - zu_slots_used(sl);
}

uint64_t zu_slots_bytes(const struct zu_slots *sl)
{
	return sizeof(*sl) + sl->nwords * sizeof(uint64_t);
}

/* ---- in a caller's region (state.h) ------------------------------------- */

uint64_t zu_slots_region_bytes(uint64_t nslots)
{
	return (nslots + 63) / 64 * sizeof(uint64_t);
}

struct zu_slots *zu_slots_create_in(void *area, uint64_t nslots)
{
	struct zu_slots *sl = area ? slots_alloc(nslots) : NULL;

	if (!area)
		errno = EINVAL;
	if (!sl)
		return NULL;
	sl->words = area;
	sl->external = true;
	sl->adopt = calloc(sl->nwords, sizeof(uint64_t));
	if (!sl->adopt) {
		free(sl);
		return NULL;
	}
	return sl;
}

int zu_slots_adopt(struct zu_slots *sl, uint64_t slot)
{
	uint64_t mask = UINT64_C(1) << (slot % 64);

	if (!sl->adopt || slot >= sl->nslots || (sl->adopt[slot / 64] & mask))
		return -EUCLEAN;      /* outside the tier, or named twice */
	sl->adopt[slot / 64] |= mask;
	return 0;
}

/* The bitmap becomes exactly the adopted slots (what a dead thread
 * allocated and never published is free again), tail bits set. */
void zu_slots_adopt_commit(struct zu_slots *sl)
{
	uint64_t used = 0;

	if (!sl->adopt)
		return;
	if (sl->nslots % 64)
		sl->adopt[sl->nwords - 1] |= ~UINT64_C(0) << (sl->nslots % 64);
	for (uint64_t w = 0; w < sl->nwords; w++) {
		atomic_store_explicit(&sl->words[w], sl->adopt[w], memory_order_relaxed);
		used += (uint64_t)__builtin_popcountll(sl->adopt[w]);
	}
	if (sl->nslots % 64)
		used -= 64 - sl->nslots % 64;
	atomic_store(&sl->used, used);
	free(sl->adopt);
	sl->adopt = NULL;
}
