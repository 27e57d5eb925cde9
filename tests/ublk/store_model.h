/*
 * store_model.h — test helpers for the compressed store: a tiny page
 * table (one atomic word per page, bit 63 its lock, as in pagetable.h)
 * that implements the store's mover, and page lengths like a real swap
 * device's (tests/ublk/t_store*.c, tests/bench/b_store.c).
 */
#ifndef ZT_TESTS_STORE_MODEL_H
#define ZT_TESTS_STORE_MODEL_H

#include <math.h>
#include <stdio.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ublk/store.h"

#define TM_LOCK (UINT64_C(1) << 63)
/* Pages of len bytes that fit in one segment (after its 32-byte header). */
#define TM_SEG_PAGES(len) ((ZU_STORE_CHUNK - 32) / (len))

struct tmodel {
	_Atomic uint64_t *e;          /* handle, 0: empty; TM_LOCK: locked */
	uint64_t n;
	_Atomic uint64_t relocated;
};

static inline void tm_init(struct tmodel *m, uint64_t n)
{
	m->e = calloc(n, sizeof(*m->e));
	m->n = n;
	atomic_init(&m->relocated, 0);
}

static inline uint64_t tm_lock(struct tmodel *m, uint64_t i)
{
	uint64_t v = atomic_load(&m->e[i]) & ~TM_LOCK;

	while (!atomic_compare_exchange_weak(&m->e[i], &v, v | TM_LOCK)) {
		v &= ~TM_LOCK;
		sched_yield();
	}
	return v;
}

static inline void tm_unlock(struct tmodel *m, uint64_t i, uint64_t v)
{
	atomic_store(&m->e[i], v);
}

static inline void tm_walk(void *ctx, struct zu_store *st, zu_store_visit_fn visit)
{
	struct tmodel *m = ctx;

	for (uint64_t i = 0; i < m->n; i++) {
		uint64_t v = atomic_load(&m->e[i]) & ~TM_LOCK;

		if (v)
			visit(st, i, v);
	}
}

static inline bool tm_relocate(void *ctx, uint64_t pgno, uint64_t old, uint64_t nh)
{
	struct tmodel *m = ctx;
	uint64_t cur = tm_lock(m, pgno);
	bool same = cur == old;

	tm_unlock(m, pgno, same ? nh : cur);
	if (same)
		atomic_fetch_add(&m->relocated, 1);
	return same;
}

static inline struct zu_store_mover tm_mover(struct tmodel *m)
{
	return (struct zu_store_mover){ tm_walk, tm_relocate, m };
}

static inline uint64_t tm_rand(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return *s >> 33;
}

/* A compressed length as a swap device sees them: log-normal around
 * median bytes (sigma 0.9: mean = 1.5 x median), 1% raw pages, the rest
 * clamped to 16..3072. */
static inline size_t tm_len(uint64_t *s, double median)
{
	double u1 = ((double)tm_rand(s) + 1) / 2147483649.0;
	double u2 = (double)tm_rand(s) / 2147483648.0;
	double z = sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
	double l = median * exp(0.9 * z);

	if (tm_rand(s) % 100 == 0)
		return ZT_PAGE_SIZE;
	return l < 16 ? 16 : l > ZU_STORE_MAX_COMPRESSED ? ZU_STORE_MAX_COMPRESSED : (size_t)l;
}

static inline void tm_pattern(unsigned char *buf, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)((seed * 2654435761u + i * 131) >> 7);
}

/* Does handle h hold len bytes of seed's pattern? */
static inline bool tm_holds(struct zu_store *st, uint64_t h, size_t len, uint64_t seed)
{
	unsigned char want[ZT_PAGE_SIZE];
	size_t got;
	const void *p = zu_store_data(st, h, &got);

	tm_pattern(want, len, seed);
	return got == len && memcmp(p, want, len) == 0;
}

/* This process's resident bytes (/proc/self/statm), 0 if unreadable. */
static inline uint64_t tm_rss_bytes(void)
{
	unsigned long size = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%lu %lu", &size, &res) != 2)
			res = 0;
		fclose(f);
	}
	return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

#endif
