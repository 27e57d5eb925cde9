/*
 * b_store.c — `make bench`: the compressed store's memory overhead and
 * speed from 16 MiB to 4 GiB stored (issue #11's fill / churn / discard
 * sequence, one step further than tests/ublk/t_store_compact.c), on demand with
 * the server's reserve cap (32 segments) and a compacting housekeeper run
 * in step with the puts.
 *
 * Pages: lengths log-normal around a 300 B median (mean ~480 B, 1% raw),
 * like the swap pages (~9:1).  The store's mover is a flat model
 * table (tests/ublk/store_model.h), so a pass walks 8 B per page.
 * Reported per step: data and memory used (committed segments), the
 * overhead, ns per put and per free, and what compaction cost: pages moved
 * per page written, ms per pass (one walk of the table and the copies).
 * First, what committing and releasing memory costs per KiB in 4 KiB and
 * in 64 KiB units (mmap MAP_FIXED|MAP_POPULATE, then PROT_NONE over it):
 * why the store gives memory back in whole segments, not pages.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
#include <time.h>

#include "tests/ublk/store_model.h"

#define MAX_PAGES (UINT64_C(1) << 20)     /* 4 GiB stored */

struct bench {
	struct zu_store *st;
	struct tmodel m;
	uint64_t seed, fails, hk_ns, passes, moved0;
};

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void housekeep(struct bench *b)
{
	uint64_t t0 = now_ns();

	zu_store_refill(b->st);
	while (zu_store_compact(b->st, false) > 0)
		b->passes++;
	zu_store_refill(b->st);
	b->hk_ns += now_ns() - t0;
}

static void put_page(struct bench *b, uint64_t pg)
{
	static unsigned char buf[ZT_PAGE_SIZE];
	size_t len = tm_len(&b->seed, 300);
	uint64_t h, old;
	int err, tries = 0;

	while ((err = len == ZT_PAGE_SIZE ? zu_store_put_raw(b->st, buf, &h)
					  : zu_store_put(b->st, buf, len, &h)) == -ENOSPC &&
	       tries++ < 3)
		housekeep(b);
	if (err) {
		b->fails++;
		return;
	}
	old = b->m.e[pg];
	b->m.e[pg] = h;
	if (old)
		zu_store_free(b->st, old);
}

static void row(struct bench *b, const char *what, uint64_t ops, uint64_t ns)
{
	struct zu_store_stats s;

	housekeep(b);
	zu_store_stats(b->st, &s);
	printf("%-20s %8.1f MB data %8.1f MB used %6.1f%%  %5.0f ns/op  moved %.2f/op  "
	       "%llu passes %.1f ms each\n", what, (double)s.data_bytes / 1e6,
	       (double)s.arena_bytes / 1e6, zu_store_overhead_pct(s.arena_bytes, s.data_bytes),
	       ops ? (double)ns / (double)ops : 0.0,
	       ops ? (double)(s.compact_pages - b->moved0) / (double)ops : 0.0,
	       (unsigned long long)b->passes,
	       b->passes ? (double)b->hk_ns / 1e6 / (double)b->passes : 0.0);
	b->passes = 0;
	b->hk_ns = 0;
	b->moved0 = s.compact_pages;
}

static void fill(struct bench *b)
{
	uint64_t i = 0, next = 4096, t0 = now_ns();

	for (; i < MAX_PAGES; i++) {
		put_page(b, i);
		if (i + 1 == next) {
			char what[32];
			uint64_t ns = now_ns() - t0;

			snprintf(what, sizeof(what), "%llu MiB stored", (unsigned long long)(next >> 8));
			row(b, what, i + 1, ns);
			next *= 4;
			t0 = now_ns();
		}
	}
}

static void churn(struct bench *b)
{
	uint64_t i, t0, ns;

	t0 = now_ns();
	for (i = 0; i < MAX_PAGES / 2; i++) {
		put_page(b, tm_rand(&b->seed) % MAX_PAGES);
		if (i % 4096 == 0)
			housekeep(b);
	}
	ns = now_ns() - t0 - b->hk_ns;   /* ns/op: the puts and frees alone */
	row(b, "overwrite half", i, ns);
	t0 = now_ns();
	for (i = 0; i < MAX_PAGES / 4; i++) {
		uint64_t pg = tm_rand(&b->seed) % MAX_PAGES;

		if (b->m.e[pg])
			zu_store_free(b->st, b->m.e[pg]);
		b->m.e[pg] = 0;
	}
	row(b, "discard a quarter", i, now_ns() - t0);
	for (i = 0; i < MAX_PAGES; i++)
		if (b->m.e[i])
			zu_store_free(b->st, b->m.e[i]);
	memset(b->m.e, 0, MAX_PAGES * sizeof(*b->m.e));
	row(b, "discard all", 0, 0);
}

/* ns per KiB to commit (and touch) then release 64 MiB in units of unit. */
static void commit_cost(size_t unit)
{
	size_t total = 64u << 20, off;
	unsigned char *base = mmap(NULL, total, PROT_NONE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uint64_t t0, t1, t2;

	if (base == MAP_FAILED)
		return;
	t0 = now_ns();
	for (off = 0; off < total; off += unit) {
		volatile unsigned char *p = mmap(base + off, unit, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE, -1, 0);

		for (size_t k = 0; p != MAP_FAILED && k < unit; k += ZT_PAGE_SIZE)
			p[k] = 1;
	}
	t1 = now_ns();
	for (off = 0; off < total; off += unit)
		mmap(base + off, unit, PROT_NONE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
	t2 = now_ns();
	printf("commit in %2zu KiB units: %5.0f ns/KiB, release %5.0f ns/KiB\n", unit >> 10,
	       (double)(t1 - t0) / (double)(total >> 10), (double)(t2 - t1) / (double)(total >> 10));
	munmap(base, total);
}

int main(void)
{
	struct bench b = { .st = zu_store_create(UINT64_C(1) << 30), .seed = 42 };
	struct zu_store_mover mv;

	tm_init(&b.m, MAX_PAGES);
	mv = tm_mover(&b.m);
	if (!b.st || !b.m.e || zu_store_set_mover(b.st, &mv) || zu_store_reserve(b.st, 32, 16)) {
		fprintf(stderr, "b_store: cannot set up the store\n");
		return 1;
	}
	commit_cost(ZT_PAGE_SIZE);
	commit_cost(ZU_STORE_CHUNK);
	printf("b_store: 64 KiB segments, on demand, reserve <= 32 segments\n");
	fill(&b);
	churn(&b);
	if (b.fails)
		printf("b_store: %llu puts failed\n", (unsigned long long)b.fails);
	zu_store_destroy(b.st);
	free(b.m.e);
	return b.fails ? 1 : 0;
}
