/*
 * t_slots.c — the spill/zram slot allocator: exhaustion, double free,
 * a slot count that is not a multiple of 64, claim, and four threads
 * allocating and freeing at once with an ownership map that catches any
 * slot handed out twice.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

#include "tests/tap.h"
#include "ublk/slots.h"

#define NSLOTS   1000u
#define NTHREADS 4
#define ITERS    200000

static void test_exhaust(void)
{
	struct zu_slots *sl = zu_slots_create(NSLOTS);
	static unsigned char seen[NSLOTS];
	uint64_t s, cursor = 0;
	unsigned i, bad = 0;
	int err = 0;

	ok(sl != NULL, "create %u slots", NSLOTS);
	for (i = 0; i < NSLOTS && !err; i++) {
		err = zu_slots_alloc(sl, i % 2 ? &cursor : NULL, &s);
		if (!err && (s >= NSLOTS || seen[s]++))
			bad++;
	}
	ok(!err && !bad, "all %u slots allocated once each, none out of range", NSLOTS);
	is_int(zu_slots_used(sl), NSLOTS, "used == total");
	is_int(zu_slots_free_count(sl), 0, "free == 0");
	is_int(zu_slots_alloc(sl, NULL, &s), -ENOSPC, "full: -ENOSPC");
	is_int(zu_slots_free(sl, 500), 0, "free slot 500");
	is_int(zu_slots_free(sl, 500), -EINVAL, "double free: -EINVAL");
	is_int(zu_slots_free(sl, NSLOTS), -ERANGE, "free out of range: -ERANGE");
	ok(!zu_slots_in_use(sl, 500), "slot 500 not in use");
	is_int(zu_slots_alloc(sl, &cursor, &s), 0, "allocate again after free");
	is_int(s, 500, "the freed slot is the one handed out");
	is_int(zu_slots_claim(sl, 3), -ENOSPC, "claim when full: -ENOSPC");
	zu_slots_free(sl, 3);
	is_int(zu_slots_claim(sl, 3), 0, "claim a free slot");
	zu_slots_free(sl, 4);
	is_int(zu_slots_claim(sl, 3), -EEXIST, "claim a used slot: -EEXIST");
	tap_diag("bitmap bytes for %u slots: %llu", NSLOTS,
		 (unsigned long long)zu_slots_bytes(sl));
	zu_slots_destroy(sl);
	errno = 0;
	ok(zu_slots_create(0) == NULL && errno == EINVAL, "0 slots: EINVAL");
}

struct hammer {
	struct zu_slots *sl;
	_Atomic unsigned char *owner;
	unsigned id;
	unsigned errors;
	unsigned enospc;
};

static void *hammer_thread(void *arg)
{
	struct hammer *h = arg;
	uint64_t held[64], cursor = h->id * (NSLOTS / NTHREADS);
	unsigned nheld = 0, i, seed = h->id + 1;

	for (i = 0; i < ITERS; i++) {
		seed = seed * 1103515245u + 12345u;
		if (nheld < 64 && ((seed >> 16) & 1)) {
			uint64_t s;
			unsigned char zero = 0;

			if (zu_slots_alloc(h->sl, &cursor, &s)) {
				h->enospc++;
				continue;
			}
			if (s >= NSLOTS ||
			    !atomic_compare_exchange_strong(&h->owner[s], &zero,
							    (unsigned char)(h->id + 1)))
				h->errors++;
			held[nheld++] = s;
		} else if (nheld) {
			uint64_t s = held[--nheld];

			if (atomic_exchange(&h->owner[s], 0) != h->id + 1)
				h->errors++;
			if (zu_slots_free(h->sl, s))
				h->errors++;
		}
	}
	while (nheld) {
		uint64_t s = held[--nheld];

		atomic_store(&h->owner[s], 0);
		zu_slots_free(h->sl, s);
	}
	return NULL;
}

static void test_threads(void)
{
	static _Atomic unsigned char owner[NSLOTS];
	struct zu_slots *sl = zu_slots_create(200);   /* 4 x 64 > 200: ENOSPC */
	struct hammer h[NTHREADS];
	pthread_t t[NTHREADS];
	unsigned i, errors = 0, enospc = 0;

	for (i = 0; i < NTHREADS; i++) {
		h[i] = (struct hammer){ .sl = sl, .owner = owner, .id = i };
		pthread_create(&t[i], NULL, hammer_thread, &h[i]);
	}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		errors += h[i].errors;
		enospc += h[i].enospc;
	}
	is_int(errors, 0, "4 threads: no slot handed out twice, no bad free");
	is_int(zu_slots_used(sl), 0, "4 threads: all slots back");
	tap_diag("4 threads x %d ops on 200 slots: %u ENOSPC (they may hold 256)",
		 ITERS, enospc);
	zu_slots_destroy(sl);
}

int main(void)
{
	test_exhaust();
	test_threads();
	return tap_done();
}
