/*
 * t_discards.c — zram slots waiting for their discard (discards.h): runs of
 * consecutive slots coalesced across word boundaries and cut at max_run,
 * the wake-up signal, and the reuse invariant with the real allocator:
 * writers allocate, "write" and release slots while a discarder drains,
 * "discards" and frees them, and an ownership map catches any slot that is
 * handed out again before its discard returned, or discarded twice.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "tests/tap.h"
#include "ublk/discards.h"
#include "ublk/slots.h"

#define NRUNS 64

struct runs {
	uint64_t first[NRUNS], n[NRUNS];
	unsigned count;
};

static void note_run(void *ctx, uint64_t first, uint64_t n)
{
	struct runs *r = ctx;

	if (r->count < NRUNS) {
		r->first[r->count] = first;
		r->n[r->count] = n;
	}
	r->count++;
}

static void test_coalesce(void)
{
	struct zu_discards *d = zu_discards_create(300);
	struct runs r = { .count = 0 };

	ok(d != NULL, "create marks for 300 slots");
	is_int(zu_discards_drain(d, 0, note_run, &r), 0, "nothing marked: nothing drained");
	ok(zu_discards_mark(d, 62), "the first mark says: wake the discarder");
	ok(!zu_discards_mark(d, 65), "a second mark does not");
	zu_discards_mark(d, 63);
	zu_discards_mark(d, 64);           /* 62..65: across a word boundary */
	zu_discards_mark(d, 0);
	zu_discards_mark(d, 299);          /* the last slot, a partial word */
	is_int(zu_discards_pending(d), 6, "6 pending");
	is_int(zu_discards_drain(d, 0, note_run, &r), 6, "6 drained");
	is_int(r.count, 3, "as 3 runs");
	ok(r.first[0] == 0 && r.n[0] == 1, "run 0: slot 0");
	ok(r.first[1] == 62 && r.n[1] == 4, "run 1: slots 62..65, across words");
	ok(r.first[2] == 299 && r.n[2] == 1, "run 2: slot 299");
	is_int(zu_discards_pending(d), 0, "none pending after the drain");
	ok(zu_discards_mark(d, 7), "pending 0 again: the next mark wakes");
	zu_discards_drain(d, 0, note_run, &r);

	r.count = 0;
	for (uint64_t s = 10; s < 200; s++)
		zu_discards_mark(d, s);
	is_int(zu_discards_drain(d, 64, note_run, &r), 190, "190 consecutive slots drained");
	is_int(r.count, 3, "cut at max_run 64: 3 runs");
	ok(r.first[0] == 10 && r.n[0] == 64 && r.first[1] == 74 && r.n[1] == 64 &&
	   r.first[2] == 138 && r.n[2] == 62, "10+64, 74+64, 138+62");
	zu_discards_destroy(d);
	errno = 0;
	ok(zu_discards_create(0) == NULL && errno == EINVAL, "0 slots: EINVAL");
}

/* ---- the reuse invariant, threaded ------------------------------------------- */

#define NSLOTS   500u
#define NWRITERS 2
#define ITERS    20000

enum { FREE, OWNED, MARKED, DISCARDING };

struct world {
	struct zu_slots *sl;
	struct zu_discards *d;
	_Atomic int state[NSLOTS];
	_Atomic unsigned errors, discarded;
	atomic_bool stop;
};

/* state: FREE -> OWNED (alloc) -> MARKED (release) -> DISCARDING (the
 * drain took it) -> FREE (its discard returned), then zu_slots_free. */
static bool step(struct world *w, uint64_t s, int from, int to)
{
	int want = from;

	if (atomic_compare_exchange_strong(&w->state[s], &want, to))
		return true;
	atomic_fetch_add(&w->errors, 1);
	return false;
}

static void discard_and_free(void *ctx, uint64_t first, uint64_t n)
{
	struct world *w = ctx;

	for (uint64_t s = first; s < first + n; s++)
		step(w, s, MARKED, DISCARDING);
	for (uint64_t s = first; s < first + n; s++) {   /* the discard returned */
		step(w, s, DISCARDING, FREE);
		if (zu_slots_free(w->sl, s))
			atomic_fetch_add(&w->errors, 1);
	}
	atomic_fetch_add(&w->discarded, (unsigned)n);
}

static void *writer(void *arg)
{
	struct world *w = arg;
	uint64_t cursor = 0, s;

	for (int i = 0; i < ITERS;) {
		if (zu_slots_alloc(w->sl, &cursor, &s)) {
			sched_yield();             /* all waiting for discards */
			continue;
		}
		i++;
		if (step(w, s, FREE, OWNED))
			step(w, s, OWNED, MARKED);
		zu_discards_mark(w->d, s);
	}
	return NULL;
}

static void *discarder(void *arg)
{
	struct world *w = arg;

	while (!atomic_load(&w->stop))
		zu_discards_drain(w->d, 16, discard_and_free, w);
	zu_discards_drain(w->d, 16, discard_and_free, w);
	return NULL;
}

static void test_reuse(void)
{
	static struct world w;
	pthread_t wr[NWRITERS], dt;
	uint64_t s;

	w.sl = zu_slots_create(NSLOTS);
	w.d = zu_discards_create(NSLOTS);
	pthread_create(&dt, NULL, discarder, &w);
	for (int i = 0; i < NWRITERS; i++)
		pthread_create(&wr[i], NULL, writer, &w);
	for (int i = 0; i < NWRITERS; i++)
		pthread_join(wr[i], NULL);
	atomic_store(&w.stop, true);
	pthread_join(dt, NULL);
	is_int(w.errors, 0, "no slot reused before its discard returned, none discarded twice");
	is_int(w.discarded, NWRITERS * ITERS, "every release discarded once, slots reused "
	       "40 times each on average");
	is_int(zu_slots_used(w.sl), 0, "every slot free at the end");
	is_int(zu_discards_pending(w.d), 0, "nothing pending at the end");
	/* All slots allocated and released: none comes back until a drain. */
	for (unsigned i = 0; i < NSLOTS; i++)
		if (!zu_slots_alloc(w.sl, NULL, &s))
			zu_discards_mark(w.d, s);
	is_int(zu_slots_alloc(w.sl, NULL, &s), -ENOSPC, "released, not discarded: not reusable");
	for (unsigned i = 0; i < NSLOTS; i++)
		atomic_store(&w.state[i], MARKED);
	zu_discards_drain(w.d, 0, discard_and_free, &w);
	is_int(zu_slots_alloc(w.sl, NULL, &s), 0, "after the drain: reusable");
	zu_discards_destroy(w.d);
	zu_slots_destroy(w.sl);
}

int main(void)
{
	test_coalesce();
	test_reuse();
	return tap_done();
}
