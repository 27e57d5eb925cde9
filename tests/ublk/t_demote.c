/*
 * t_demote.c — demotion (ublk/demote.h) against a reference model: the
 * entry encodings, the daily budget, the pass period, and the move on a
 * real page table, store and slot map with a regular file as the spill:
 * pages read within the age stay, the others move with their stored bytes
 * and read back bit-exact, a promotion puts them back in the store, and a
 * full spill or a spent budget stops the moves, not the ages; a budget
 * window kept in a state carries over to the server that attaches it next
 * (a recovery), and a torn or odd window never spends more.  Then four
 * threads rewrite and read pages while passes run: every read decodes a
 * whole write of its page, and the last write of every page survives.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include "tests/tap.h"
#include "tests/ublk/demote_model.h"
#include "ublk/state.h"

#define NPAGES 600u
#define HOUR   (UINT64_C(3600) * 1000)

static void test_entries(void)
{
	uint64_t e = zu_pte_packed((UINT64_C(1) << 40) - 1, ZT_CODEC_ZSTD, 1234, 0x3f);
	uint64_t s = zu_pte_store(UINT64_C(0xabcdef123456), ZT_CODEC_LZ4);

	ok(zu_pte_is_packed(e) && zu_pte_tier(e) == ZT_TIER_SPILL, "packed: a spill entry");
	is_int(zu_pte_slot_nr(e), (UINT64_C(1) << 40) - 1, "packed: 40-bit slot");
	is_int(zu_pte_packed_codec(e), ZT_CODEC_ZSTD, "packed: codec");
	is_int(zu_pte_packed_len(e), 1234, "packed: length");
	is_int(zu_pte_packed_len(zu_pte_packed(1, ZT_CODEC_RAW, 4096, 0)), 4096,
	       "packed: a raw page's 4096 bytes");
	ok(zu_pte_untagged(e) == zu_pte_packed((UINT64_C(1) << 40) - 1, ZT_CODEC_ZSTD, 1234, 0),
	   "untagged: only the 5-bit tag goes");
	ok(!zu_pte_is_packed(zu_pte_slot_tagged(ZT_TIER_SPILL, 9, 0xfffff)),
	   "a queue's tag never sets the packed bit");
	is_int(zu_pte_untagged(zu_pte_slot_tagged(ZT_TIER_SPILL, 9, 0x7ffff)),
	       zu_pte_slot(ZT_TIER_SPILL, 9), "untagged: the 19-bit tag goes");
	is_int(zu_pte_store_age(s), 0, "a new store entry has age 0");
	s = zu_pte_store_aged(s, 3);
	ok(zu_pte_store_age(s) == 3 && zu_pte_store_handle(s) == UINT64_C(0xabcdef123456) &&
	   zu_pte_store_codec(s) == ZT_CODEC_LZ4, "age 3: handle and codec kept");
	is_int(zu_pte_store_aged(s, 0), zu_pte_store(UINT64_C(0xabcdef123456), ZT_CODEC_LZ4),
	       "age back to 0: the entry as written");
}

/* A window found in a state is whatever a dead server left, or corrupt
 * bytes: none lets a day spend more than its budget (demote.h). */
static void test_window(void)
{
	struct zu_budget_day w = { 0 };
	struct zu_budget b = { 10 * ZT_PAGE_SIZE, &w };

	zu_budget_take(&b, 5 * HOUR, 7 * ZT_PAGE_SIZE);
	atomic_store(&w.start_ms, 30 * HOUR);   /* torn roll: the new start, the old total */
	is_int(zu_budget_left(&b, 30 * HOUR), 3 * ZT_PAGE_SIZE,
	       "a torn new window keeps the old total: spends less, never more");
	atomic_store(&w.start_ms, 90 * HOUR);
	is_int(zu_budget_left(&b, 40 * HOUR), 3 * ZT_PAGE_SIZE,
	       "a start ahead of the clock: the spent bytes still count");
	ok(zu_budget_take(&b, 40 * HOUR, ZT_PAGE_SIZE) && atomic_load(&w.start_ms) == 40 * HOUR,
	   "... and the window restarts at now");
	is_int(zu_budget_left(&b, 40 * HOUR + ZU_DEMOTE_DAY_MS), 10 * ZT_PAGE_SIZE,
	       "a day after that: a whole budget");
	atomic_store(&w.used, UINT64_MAX);
	ok(zu_budget_left(&b, 41 * HOUR) == 0 && !zu_budget_take(&b, 41 * HOUR, 1),
	   "more taken than a day's budget: nothing left, no overflow");
}

static void test_budget(void)
{
	struct zu_budget_day w = { 0 };
	struct zu_budget b = { 3 * ZT_PAGE_SIZE, &w };
	struct zu_budget none = { 0 };
	unsigned n = 0;

	while (n < 10 && zu_budget_take(&b, 5 * HOUR, ZT_PAGE_SIZE))
		n++;
	is_int(n, 3, "a budget of 3 pages a day takes 3");
	is_int(zu_budget_left(&b, 28 * HOUR), 0, "none left 23 h later");
	ok(zu_budget_take(&b, 29 * HOUR, ZT_PAGE_SIZE), "24 h after the first take: granted again");
	is_int(zu_budget_left(&b, 29 * HOUR), 2 * ZT_PAGE_SIZE, "2 pages left in the new day");
	ok(zu_budget_take(&none, 1, UINT64_C(1) << 50) &&
	   zu_budget_left(&none, 1) == UINT64_MAX, "budget 0: no limit");
	is_int(zu_demote_period_ms(0), 0, "age 0: no passes");
	is_int(zu_demote_period_ms(1), ZU_DEMOTE_MIN_PERIOD_MS, "a tiny age: passes 1 s apart");
	is_int(zu_demote_period_ms(20 * 3600), 20 * HOUR / 3, "20 h: a pass every 6 h 40 m");
}

struct rig {
	struct zu_pt *pt;
	struct zu_store *st;
	struct zu_slots *sl;
	struct zu_codec_ctx *cx;
	struct zu_demoter *d;
	int fd;
	uint64_t ver[NPAGES];
};

static void rig_init(struct rig *r, uint64_t slots, uint64_t budget)
{
	struct zu_demote_cfg dc;

	r->pt = zu_pt_create(NPAGES, 0);
	r->st = zu_store_create(UINT64_C(16) << 20);
	r->sl = zu_slots_create(slots);
	r->cx = zu_codec_ctx_create(3);
	r->fd = dm_spill_file(slots);
	dc = (struct zu_demote_cfg){ r->pt, r->st, r->sl, r->fd, 3, budget, NULL };
	r->d = zu_demoter_create(&dc, 0);
}

static void rig_free(struct rig *r)
{
	zu_demoter_destroy(r->d);
	zu_store_destroy(r->st);
	zu_slots_destroy(r->sl);
	zu_pt_destroy(r->pt);
	zu_codec_ctx_destroy(r->cx);
	close(r->fd);
}

/* Write (idx, ver) and free what the entry named before. */
static int rig_write(struct rig *r, uint64_t idx, uint64_t ver)
{
	uint64_t e, old;
	int ret = dm_store(r->st, r->cx, idx, ver, &e);

	if (ret || (ret = zu_pt_lock(r->pt, idx, 0, &old)))
		return ret;
	zu_pt_unlock(r->pt, idx, e);
	if (zu_pte_tier(old) == ZT_TIER_STORE)
		zu_store_free(r->st, zu_pte_store_handle(old));
	else if (zu_pte_tier(old) == ZT_TIER_SPILL)
		zu_slots_free(r->sl, zu_pte_slot_nr(old));
	r->ver[idx] = ver;
	return 0;
}

/* Read page idx as the target does: decode under the lock, the age back
 * to 0, a packed page promoted when promote.  True if it is the last
 * write. */
static bool rig_read(struct rig *r, uint64_t idx, bool promote)
{
	unsigned char page[ZT_PAGE_SIZE], slot[ZT_PAGE_SIZE];
	uint64_t e, ne, ver = ~0ull;
	bool good;

	if (zu_pt_lock(r->pt, idx, ZU_PT_NOCREATE, &e))
		return false;
	good = !dm_load(r->st, r->cx, r->fd, e, page) && dm_check(page, idx, &ver) &&
	       ver == r->ver[idx];
	ne = zu_pte_tier(e) == ZT_TIER_STORE ? zu_pte_store_aged(e, 0) : e;
	if (promote && zu_pte_is_packed(e) &&
	    pread(r->fd, slot, ZT_PAGE_SIZE, (off_t)(zu_pte_slot_nr(e) * ZT_PAGE_SIZE)) > 0 &&
	    !zu_packed_promote(r->st, e, slot, &ne)) {
		zu_pt_unlock(r->pt, idx, ne);
		zu_slots_free(r->sl, zu_pte_slot_nr(e));
		return good;
	}
	zu_pt_unlock(r->pt, idx, ne);
	return good;
}

static unsigned count_tier(struct rig *r, enum zt_tier t)
{
	struct zu_pt_stats ps;

	zu_pt_stats(r->pt, &ps);
	return (unsigned)ps.pages[t];
}

static unsigned all_good(struct rig *r, bool promote)
{
	unsigned good = 0;

	for (uint64_t i = 0; i < NPAGES; i++)
		good += rig_read(r, i, promote);
	return good;
}

static void test_move(void)
{
	struct rig r;
	struct zu_store_stats ss;
	int n[4], err = 0;

	rig_init(&r, 1024, 0);
	for (uint64_t i = 0; i < NPAGES; i++)
		err |= rig_write(&r, i, i % 10);
	ok(!err, "%u pages in the store (lz4, zstd, raw)", NPAGES);
	for (int p = 0; p < 3; p++) {
		n[p] = zu_demote_pass(r.d, 1000 * (uint64_t)(p + 1));
		for (uint64_t i = 0; i < NPAGES; i += 3)
			if (p == 2)
				rig_read(&r, i, false);      /* read just before pass 4 */
	}
	ok(!n[0] && !n[1] && !n[2], "three passes only age the pages");
	n[3] = zu_demote_pass(r.d, 4000);
	is_int(n[3], NPAGES - NPAGES / 3, "the fourth moves every page not read since pass 1");
	is_int(count_tier(&r, ZT_TIER_STORE), NPAGES / 3, "the pages read stay in the store");
	is_int(zu_slots_used(r.sl), NPAGES - NPAGES / 3, "one spill slot per page moved");
	zu_store_stats(r.st, &ss);
	is_int(ss.pages, NPAGES / 3, "their store copies are freed");
	is_int(all_good(&r, false), NPAGES, "every page reads back bit-exact (store or spill)");
	is_int(all_good(&r, true), NPAGES, "... and after its promotion");
	is_int(count_tier(&r, ZT_TIER_STORE), NPAGES, "every page promoted back to the store");
	is_int(zu_slots_used(r.sl), 0, "their slots freed");
	for (int p = 0; p < 4; p++)
		zu_demote_pass(r.d, 5000 + 1000 * (uint64_t)p);
	is_int(count_tier(&r, ZT_TIER_SPILL), NPAGES, "promoted pages idle again move again");
	is_int(all_good(&r, false), NPAGES, "still bit-exact");
	rig_free(&r);
}

static void test_limits(void)
{
	struct rig r;
	int n;

	rig_init(&r, 50, 40 * ZT_PAGE_SIZE);
	for (uint64_t i = 0; i < NPAGES; i++)
		rig_write(&r, i, i % 10);
	for (int p = 0; p < 3; p++)
		zu_demote_pass(r.d, 1000);
	n = zu_demote_pass(r.d, 2000);
	is_int(n, 40, "a budget of 40 pages a day moves 40");
	is_int(zu_demote_pass(r.d, 3000), 0, "none more the same day");
	n = zu_demote_pass(r.d, 2000 + 24 * HOUR);
	is_int(n, 10, "a day later: 10 more, the spill (50 slots) is full");
	is_int(count_tier(&r, ZT_TIER_SPILL), 50, "50 pages in spill");
	is_int(all_good(&r, false), NPAGES, "every page bit-exact");
	rig_free(&r);
}

/* ---- the budget across a recovery ---------------------------------------------- */

static const struct zu_state_geom rgeom = {
	UINT64_C(4) << 20, UINT64_C(8) << 20, 1024, 0, 16, 7, 0, false
};

/* The rig on a state's table, store and spill slots, its demoter's budget
 * window the state's: a server that made or attached the state. */
static void rig_on_state(struct rig *r, struct zu_state *s, uint64_t budget, uint64_t now)
{
	struct zu_demote_cfg dc = { s->pt, s->store, s->spill, r->fd, 3, budget, s->budget_day };

	r->pt = s->pt;
	r->st = s->store;
	r->sl = s->spill;
	r->d = zu_demoter_create(&dc, now);
}

/* Half the pages idle, the other half written after three passes: the
 * fourth moves the idle half within a 400-page budget. */
static int spend_part(struct rig *r, uint64_t t0)
{
	for (uint64_t i = 0; i < NPAGES / 2; i++)
		rig_write(r, i, i % 10);
	for (uint64_t p = 1; p <= 3; p++)
		zu_demote_pass(r->d, t0 + 1000 * p);
	for (uint64_t i = NPAGES / 2; i < NPAGES; i++)
		rig_write(r, i, i % 10);
	return zu_demote_pass(r->d, t0 + 4000);
}

static void test_recovered_budget(void)
{
	static struct rig r;
	struct zu_demote_stats a, b;
	struct zu_state *s;
	char msg[ZTU_MSG_MAX] = "";
	int fd = memfd_create("t_demote", MFD_CLOEXEC);
	const uint64_t t0 = 5 * HOUR, budget = 400 * ZT_PAGE_SIZE;

	r = (struct rig){ .cx = zu_codec_ctx_create(3), .fd = dm_spill_file(1024) };
	if (!ok(fd >= 0 && r.fd >= 0 && !zu_state_create(fd, &rgeom, &s, msg, sizeof(msg)),
		"a state with a store and a spill tier"))
		return;
	rig_on_state(&r, s, budget, t0);
	is_int(spend_part(&r, t0), NPAGES / 2, "a server moves its 300 idle pages");
	zu_demote_stats(r.d, &a);
	is_int(a.budget_left, budget - NPAGES / 2 * ZT_PAGE_SIZE, "100 pages of its budget left");
	zu_demoter_destroy(r.d);
	zu_state_detach(s);
	if (!ok(!zu_state_attach(fd, &rgeom, &s, msg, sizeof(msg)), "attached again (a recovery)")) {
		tap_diag("  %s", msg);
		return;
	}
	rig_on_state(&r, s, budget, t0 + 10000);
	zu_demote_stats(r.d, &b);
	is_int(b.budget_left, a.budget_left, "the new server's budget left is the old one's");
	zu_demote_pass(r.d, t0 + 11000);
	zu_demote_pass(r.d, t0 + 12000);
	is_int(zu_demote_pass(r.d, t0 + 13000), 100,
	       "it moves 100 of 300 idle pages: the same day goes on");
	is_int(zu_demote_pass(r.d, t0 + 4000 + ZU_DEMOTE_DAY_MS), NPAGES / 2 - 100,
	       "a day after the window opened: the rest");
	is_int(all_good(&r, false), NPAGES, "every page bit-exact");
	zu_demoter_destroy(r.d);
	zu_state_detach(s);
	zu_codec_ctx_destroy(r.cx);
	close(r.fd);
	close(fd);
}

/* ---- concurrent writers and readers ------------------------------------------ */

#define NTHREADS 4
#define ITERS    6000

struct worker {
	struct rig mine;              /* the shared rig, its own codec and model */
	unsigned id, bad;
};

static atomic_bool stop;

/* Thread id owns pages id, id + NTHREADS, ...: its model is exact. */
static void *work(void *arg)
{
	struct worker *w = arg;
	unsigned seed = w->id + 1;

	for (unsigned k = 0; k < ITERS; k++) {
		uint64_t idx = (rand_r(&seed) % (NPAGES / NTHREADS)) * NTHREADS + w->id;

		if (rand_r(&seed) % 4 == 0)
			w->bad += rig_write(&w->mine, idx, w->mine.ver[idx] + 1) != 0;
		else
			w->bad += !rig_read(&w->mine, idx, rand_r(&seed) % 2);
	}
	return NULL;
}

static void *demoter(void *arg)
{
	struct rig *r = arg;
	uint64_t now = 0;

	while (!atomic_load(&stop))
		zu_demote_pass(r->d, now += 1000);
	return NULL;
}

static void test_threads(void)
{
	static struct worker w[NTHREADS];
	pthread_t t[NTHREADS], dt;
	struct zu_demote_stats ds;
	struct rig r;
	unsigned bad = 0;

	rig_init(&r, 2048, 0);
	for (uint64_t i = 0; i < NPAGES; i++)
		rig_write(&r, i, i % 10);
	pthread_create(&dt, NULL, demoter, &r);
	for (unsigned i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){ .mine = r, .id = i };
		w[i].mine.cx = zu_codec_ctx_create(3);
		pthread_create(&t[i], NULL, work, &w[i]);
	}
	for (unsigned i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		bad += w[i].bad;
		zu_codec_ctx_destroy(w[i].mine.cx);
		for (uint64_t p = i; p < NPAGES; p += NTHREADS)
			r.ver[p] = w[i].mine.ver[p];
	}
	atomic_store(&stop, true);
	pthread_join(dt, NULL);
	zu_demote_stats(r.d, &ds);
	ok(ds.pages > 0, "passes moved pages meanwhile (%llu moved, %llu raced, %llu passes)",
	   (unsigned long long)ds.pages, (unsigned long long)ds.raced,
	   (unsigned long long)ds.passes);
	is_int(bad, 0, "every read under load got the last write of its page");
	is_int(all_good(&r, false), NPAGES, "every page's last write survives");
	is_int(zu_slots_used(r.sl), count_tier(&r, ZT_TIER_SPILL),
	       "slots in use = pages in spill (no leak)");
	rig_free(&r);
}

int main(void)
{
	test_entries();
	test_budget();
	test_window();
	test_move();
	test_limits();
	test_recovered_budget();
	test_threads();
	return tap_done();
}
