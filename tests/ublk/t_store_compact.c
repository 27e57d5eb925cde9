/*
 * t_store_compact.c — compaction: random put/free/compact sequences
 * against a reference model (every page read back equal), the same with
 * threads rewriting pages while the housekeeper moves them, and the
 * overhead of issue #11's fill / churn / discard sequence.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "tests/tap.h"
#include "ublk/codec.h"
#include "ublk/store.h"
#include "tests/ublk/store_model.h"

#define MIB (UINT64_C(1) << 20)

/* ---- compaction against a reference model ----------------------------------- */

#define M_PAGES 2048

/* Random put / overwrite / free / compact steps on a tight store; every
 * page is checked against the model (its length and seed) at the end and
 * after every compaction. */
static unsigned model_check(struct zu_store *st, struct tmodel *m, const uint64_t *seed)
{
	unsigned bad = 0;

	for (unsigned i = 0; i < M_PAGES; i++) {
		uint64_t v = m->e[i];

		bad += (v != 0) != (seed[i] != 0) ||
		       (v && !tm_holds(st, v, zu_store_handle_len(v), seed[i]));
	}
	return bad;
}

static void model_step(struct zu_store *st, struct tmodel *m, uint64_t *seed, uint64_t *r,
		       unsigned *bad)
{
	unsigned char buf[ZT_PAGE_SIZE];
	uint64_t pg = tm_rand(r) % M_PAGES, h, k = tm_rand(r) % 16;

	if (k < 10) {
		size_t len = tm_len(r, 400);
		uint64_t sd = tm_rand(r) | 1;

		tm_pattern(buf, len, sd);
		if ((len == ZT_PAGE_SIZE ? zu_store_put_raw(st, buf, &h)
					 : zu_store_put(st, buf, len, &h)) != 0)
			return;
		if (m->e[pg])
			zu_store_free(st, m->e[pg]);
		m->e[pg] = h;
		seed[pg] = sd;
	} else if (k < 15) {
		if (m->e[pg])
			zu_store_free(st, m->e[pg]);
		m->e[pg] = 0;
		seed[pg] = 0;
	} else if (zu_store_compact(st, tm_rand(r) % 2) > 0) {
		*bad += model_check(st, m, seed);
	}
}

/* A mover that checks, at the moment of publishing, what a kill there
 * would leave: the entry still names the old copy, which must be intact,
 * and the new copy must already be whole.  Every 7th move is "killed"
 * before it publishes (the store must then drop its copy). */
struct crash_mover {
	struct tmodel *m;
	struct zu_store *st;
	unsigned calls, torn;
};

static bool crash_relocate(void *ctx, uint64_t pgno, uint64_t old, uint64_t nh)
{
	struct crash_mover *c = ctx;
	size_t len = zu_store_handle_len(old);

	c->torn += len != zu_store_handle_len(nh) ||
		   memcmp(zu_store_data(c->st, old, NULL), zu_store_data(c->st, nh, NULL), len);
	if (++c->calls % 7 == 0)
		return false;
	return tm_relocate(c->m, pgno, old, nh);
}

static void crash_walk(void *ctx, struct zu_store *st, zu_store_visit_fn visit)
{
	tm_walk(((struct crash_mover *)ctx)->m, st, visit);
}

static void test_model(void)
{
	struct zu_store *st = zu_store_create(MIB);
	static uint64_t seed[M_PAGES];
	struct zu_store_mover mv;
	struct zu_store_stats s;
	struct tmodel m;
	uint64_t r = 7;
	unsigned bad = 0, i;

	struct crash_mover cm = { &m, st, 0, 0 };

	tm_init(&m, M_PAGES);
	mv = (struct zu_store_mover){ crash_walk, crash_relocate, &cm };
	zu_store_set_mover(st, &mv);
	for (i = 0; i < 200000; i++)
		model_step(st, &m, seed, &r, &bad);
	bad += model_check(st, &m, seed);
	zu_store_stats(st, &s);
	is_int(bad, 0, "200000 random put/free/compact steps: every page equals the model");
	is_int(cm.torn, 0, "at every publish both copies were whole (a kill loses nothing)");
	ok(s.compact_raced >= cm.calls / 7, "moves not published were dropped (%llu)",
	   (unsigned long long)s.compact_raced);
	tap_diag("model: %llu passes moved %llu pages; %llu puts refused; %llu pages left",
		 (unsigned long long)s.compactions, (unsigned long long)s.compact_pages,
		 (unsigned long long)s.enospc, (unsigned long long)s.pages);
	ok(s.compact_pages > 1000, "compaction moved pages");
	for (i = 0; i < M_PAGES; i++)
		if (m.e[i])
			zu_store_free(st, m.e[i]);
	zu_store_stats(st, &s);
	ok(s.pages == 0 && s.data_bytes == 0 && s.in_use_bytes == 0, "all freed: nothing in use");
	zu_store_destroy(st);
	free(m.e);
}

/* Threads rewrite, read and discard their pages under the entry lock while
 * the housekeeper moves them: a reader never sees a half-moved page and a
 * page rewritten meanwhile is never moved back. */
#define C_THREADS 3
#define C_PAGES   1024       /* per thread */

struct cworker {
	struct zu_store *st;
	struct tmodel *m;
	unsigned id, bad, ops;
	uint64_t seed[C_PAGES];
	_Atomic bool *stop;
};

static void cw_write(struct cworker *w, uint64_t pg, unsigned k, uint64_t *r)
{
	unsigned char buf[ZT_PAGE_SIZE];
	size_t len = tm_len(r, 400);
	uint64_t sd = tm_rand(r) | 1, h, old;
	unsigned i = (unsigned)(pg - (uint64_t)w->id * C_PAGES);

	tm_pattern(buf, len, sd);
	if ((len == ZT_PAGE_SIZE ? zu_store_put_raw(w->st, buf, &h)
				 : zu_store_put(w->st, buf, len, &h)) != 0)
		return;
	old = tm_lock(w->m, pg);
	w->seed[i] = k ? sd : 0;
	tm_unlock(w->m, pg, k ? h : 0);
	if (old)
		zu_store_free(w->st, old);
	if (!k)
		zu_store_free(w->st, h);
}

static void *cworker_run(void *arg)
{
	struct cworker *w = arg;
	uint64_t r = w->id * 31 + 5;

	while (!atomic_load(w->stop)) {
		uint64_t pg = (uint64_t)w->id * C_PAGES + tm_rand(&r) % C_PAGES, v;
		unsigned k = (unsigned)(tm_rand(&r) % 8), i = (unsigned)(pg % C_PAGES);

		if (k < 4) {
			v = tm_lock(w->m, pg);
			w->bad += v ? !tm_holds(w->st, v, zu_store_handle_len(v), w->seed[i])
				    : w->seed[i] != 0;
			tm_unlock(w->m, pg, v);
		} else {
			cw_write(w, pg, k - 4, &r);
		}
		w->ops++;
	}
	return NULL;
}

static void test_compact_threads(void)
{
	struct zu_store *st = zu_store_create(16 * MIB);
	struct cworker *w = calloc(C_THREADS, sizeof(*w));
	pthread_t t[C_THREADS];
	_Atomic bool stop = false;
	struct zu_store_mover mv;
	struct zu_store_stats s;
	struct tmodel m;
	unsigned i, bad = 0, ops = 0;

	tm_init(&m, C_THREADS * C_PAGES);
	mv = tm_mover(&m);
	zu_store_set_mover(st, &mv);
	zu_store_commit_all(st);
	is_int(zu_store_housekeeper_start(st), 0, "upfront with a mover: a compacting housekeeper");
	for (i = 0; i < C_THREADS; i++) {
		w[i] = (struct cworker){ .st = st, .m = &m, .id = i, .stop = &stop };
		pthread_create(&t[i], NULL, cworker_run, &w[i]);
	}
	for (i = 0; i < 40; i++) {   /* 2 s, with extra forced passes */
		usleep(50000);
		zu_store_compact(st, true);
	}
	atomic_store(&stop, true);
	for (i = 0; i < C_THREADS; i++) {
		pthread_join(t[i], NULL);
		bad += w[i].bad;
		ops += w[i].ops;
	}
	zu_store_stats(st, &s);
	is_int(bad, 0, "3 threads + compaction: every read saw its page whole");
	tap_diag("%u ops; %llu pages moved, %llu moves dropped (page rewritten meanwhile)",
		 ops, (unsigned long long)s.compact_pages, (unsigned long long)s.compact_raced);
	ok(s.compact_pages > 0, "pages were moved under the threads");
	/* Empty each entry under its lock before freeing its copy, as an owner
	 * must: the housekeeper may be walking the table right now (a free
	 * wakes it), and an entry left naming a freed copy would be moved. */
	for (i = 0; i < C_THREADS * C_PAGES; i++) {
		uint64_t v = tm_lock(&m, i);

		tm_unlock(&m, i, 0);
		if (v)
			zu_store_free(st, v);
	}
	/* The housekeeper may be in the middle of a pass (a copy made, not yet
	 * dropped): give it up to 2 s to finish before counting. */
	for (i = 0; i < 200; i++) {
		zu_store_stats(st, &s);
		if (s.pages == 0 && s.in_use_bytes == 0)
			break;
		usleep(10000);
	}
	ok(s.pages == 0 && s.in_use_bytes == 0, "all freed: nothing in use (pages %llu, in use %llu)",
	   (unsigned long long)s.pages, (unsigned long long)s.in_use_bytes);
	zu_store_destroy(st);
	free(m.e);
	free(w);
}

/* ---- issue #11: overhead at every fill, after churn, after discards ---------- */

struct fill {
	struct zu_store *st;
	struct tmodel m;
	uint64_t seed;
	bool upfront;
	unsigned fails;
};

/* What the housekeeper does, done here in step with the test. */
static void housekeep(struct fill *f)
{
	zu_store_refill(f->st);
	while (zu_store_compact(f->st, false) > 0)
		;
	zu_store_refill(f->st);
}

/* Put (or overwrite) page pgno with a new length; an empty reserve makes
 * the test run the housekeeper's round, as the thread would. */
static void fill_put(struct fill *f, uint64_t pgno)
{
	static unsigned char buf[ZT_PAGE_SIZE];
	size_t len = tm_len(&f->seed, 300);
	uint64_t h, old;
	int err, tries = 0;

	while ((err = len == ZT_PAGE_SIZE ? zu_store_put_raw(f->st, buf, &h)
					  : zu_store_put(f->st, buf, len, &h)) == -ENOSPC &&
	       tries++ < 3)
		housekeep(f);
	if (err) {
		f->fails++;
		return;
	}
	old = f->m.e[pgno];
	f->m.e[pgno] = h;
	if (old)
		zu_store_free(f->st, old);
}

static void fill_drop(struct fill *f, uint64_t pgno)
{
	uint64_t old = f->m.e[pgno];

	f->m.e[pgno] = 0;
	if (old)
		zu_store_free(f->st, old);
}

/* One row of the table; the overhead in percent. */
static double fill_row(struct fill *f, const char *what)
{
	struct zu_store_stats s;
	uint64_t used;
	double pct;

	housekeep(f);
	zu_store_stats(f->st, &s);
	used = f->upfront ? s.in_use_bytes : s.arena_bytes;
	pct = zu_store_overhead_pct(used, s.data_bytes);
	tap_diag("%-8s %-22s %7.1f MB data, %7.1f MB %s (%5.1f%%), %llu pages, "
		 "%llu moved, %llu raced",
		 f->upfront ? "upfront" : "demand", what, (double)s.data_bytes / 1e6,
		 (double)used / 1e6, f->upfront ? "in use" : "used", pct,
		 (unsigned long long)s.pages, (unsigned long long)s.compact_pages,
		 (unsigned long long)s.compact_raced);
	return pct;
}

#define FILL_PAGES (UINT64_C(1) << 18)   /* 1 GiB stored */

static void fill_churn(bool upfront)
{
	struct fill f = { .st = zu_store_create(upfront ? 256 * MIB : 1024 * MIB),
			  .seed = 42, .upfront = upfront };
	struct zu_store_mover mv;
	struct zu_store_stats s;
	uint64_t i, next = 4096;
	double worst = 0, pct;

	tm_init(&f.m, FILL_PAGES);
	mv = tm_mover(&f.m);
	zu_store_set_mover(f.st, &mv);
	if (upfront)
		zu_store_commit_all(f.st);
	else
		zu_store_reserve(f.st, 32, 16);
	for (i = 0; i < FILL_PAGES; i++) {
		fill_put(&f, i);
		if (i + 1 == next) {
			char what[32];

			snprintf(what, sizeof(what), "%llu MiB stored",
				 (unsigned long long)(next >> 8));
			pct = fill_row(&f, what);
			worst = pct > worst ? pct : worst;
			next *= 4;
		}
	}
	ok(worst <= 10.0, "%s: overhead <= 10%% at 16 MiB..1 GiB stored (worst %.1f%%)",
	   upfront ? "upfront" : "on demand", worst);
	for (i = 0; i < FILL_PAGES / 2; i++) {
		fill_put(&f, tm_rand(&f.seed) % FILL_PAGES);
		if (i % 4096 == 0)
			housekeep(&f);
	}
	pct = fill_row(&f, "overwrite half");
	ok(pct <= 15.0, "after overwriting half at random: %.1f%% <= 15%%", pct);
	for (i = 0; i < FILL_PAGES / 4; i++)
		fill_drop(&f, tm_rand(&f.seed) % FILL_PAGES);
	pct = fill_row(&f, "discard a quarter");
	ok(pct <= 15.0, "after discarding a quarter at random: %.1f%% <= 15%%", pct);
	for (i = 0; i < FILL_PAGES; i++)
		fill_drop(&f, i);
	fill_row(&f, "discard all");
	zu_store_trim(f.st);
	zu_store_stats(f.st, &s);
	ok(s.pages == 0 && s.in_use_bytes == 0 && s.arena_bytes == s.spare_bytes &&
	   s.spare_bytes <= (upfront ? 256 * MIB : s.reserve_target_bytes),
	   "discard all: back to the reserve (%llu KiB)", (unsigned long long)s.arena_bytes >> 10);
	is_int(f.fails, 0, "no put failed for lack of room");
	zu_store_destroy(f.st);
	free(f.m.e);
}

static void test_fill_churn(void)
{
	fill_churn(false);
	fill_churn(true);
}

int main(void)
{
	test_model();
	test_compact_threads();
	test_fill_churn();
	return tap_done();
}
