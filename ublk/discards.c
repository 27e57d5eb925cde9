/*
 * discards.c — zram slots waiting for their discard (discards.h).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "ublk/discards.h"

struct zu_discards {
	uint64_t nslots, nwords;
	_Atomic uint64_t pending;     /* >= the bits set: counted first       */
	_Atomic uint64_t bits[];
};

struct zu_discards *zu_discards_create(uint64_t nslots)
{
	uint64_t nwords = (nslots + 63) / 64;
	struct zu_discards *d;

	if (!nslots || nwords > (SIZE_MAX - sizeof(*d)) / sizeof(d->bits[0])) {
		errno = EINVAL;
		return NULL;
	}
	d = calloc(1, sizeof(*d) + nwords * sizeof(d->bits[0]));
	if (!d)
		return NULL;
	d->nslots = nslots;
	d->nwords = nwords;
	return d;
}

void zu_discards_destroy(struct zu_discards *d)
{
	free(d);
}

bool zu_discards_mark(struct zu_discards *d, uint64_t slot)
{
	uint64_t was = atomic_fetch_add_explicit(&d->pending, 1, memory_order_acq_rel);

	atomic_fetch_or_explicit(&d->bits[slot / 64], UINT64_C(1) << (slot % 64),
				 memory_order_release);
	return was == 0;
}

uint64_t zu_discards_pending(const struct zu_discards *d)
{
	return atomic_load_explicit(&d->pending, memory_order_acquire);
}

/* The run being built: slots first .. first + n - 1. */
struct run {
	uint64_t first, n, max;
	zu_discard_fn *fn;
	void *ctx;
};

static void run_add(struct run *r, uint64_t slot)
{
	if (r->n && slot == r->first + r->n && (!r->max || r->n < r->max)) {
		r->n++;
		return;
	}
	if (r->n)
		r->fn(r->ctx, r->first, r->n);
	r->first = slot;
	r->n = 1;
}

uint64_t zu_discards_drain(struct zu_discards *d, uint64_t max_run, zu_discard_fn *fn,
			   void *ctx)
{
	struct run r = { .max = max_run, .fn = fn, .ctx = ctx };
	uint64_t taken = 0;

	if (!zu_discards_pending(d))
		return 0;
	for (uint64_t w = 0; w < d->nwords; w++) {
		uint64_t bits = atomic_load_explicit(&d->bits[w], memory_order_relaxed);

		if (bits)
			bits = atomic_exchange_explicit(&d->bits[w], 0, memory_order_acq_rel);
		for (; bits; bits &= bits - 1, taken++)
			run_add(&r, w * 64 + (uint64_t)__builtin_ctzll(bits));
	}
	if (r.n)
		fn(ctx, r.first, r.n);
	atomic_fetch_sub_explicit(&d->pending, taken, memory_order_acq_rel);
	return taken;
}
