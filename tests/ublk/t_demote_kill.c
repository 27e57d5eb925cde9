/*
 * t_demote_kill.c — kill -9 in the middle of demotion (ublk/demote.h): a
 * child attaches to a state, runs demotion passes back to back while two
 * threads rewrite pages in the store and one reads pages and promotes the
 * demoted ones, and the parent kills it after a random few milliseconds.
 * Each round the attach must succeed and every page must decode to a whole
 * write of that page, from the store or from its packed spill slot (a
 * regular file); at the end freeing every page empties every allocator.
 * The children demote within one budget window kept in the state (each
 * starts its clock anew, all within a day): what the window says was
 * taken only grows from kill to kill and never passes the day's budget.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include "tests/tap.h"
#include "tests/ublk/demote_model.h"
#include "tests/ublk/state_free.h"
#include "tests/ublk/state_kill.h"
#include "ublk/state.h"
#include "ublk/store_pt.h"

#define ROUNDS  12
#define RANGE   1200u
#define STRIDE  331u
#define SLOTS   4096u
#define BUDGET  (UINT64_C(10000) * ZT_PAGE_SIZE)   /* a day, all the rounds' */

static const struct zu_state_geom geom = {
	UINT64_C(1) << 30, UINT64_C(8) << 20, SLOTS, 0, 64, 43, 0, false
};
static char msg[ZTU_MSG_MAX];
static int spill_fd;

struct actor {
	struct zu_state *s;
	unsigned seed;
};

static void *writer(void *arg)
{
	struct actor *a = arg;
	struct zu_codec_ctx *cx = zu_codec_ctx_create(3);

	for (uint64_t ver = a->seed;; ver += 2) {
		uint64_t idx = (uint64_t)(rand_r(&a->seed) % RANGE) * STRIDE, e;

		if (!dm_store(a->s->store, cx, idx, ver, &e))
			state_publish(a->s, idx, e);
	}
	return NULL;
}

/* Reads a page as the target does: a packed one goes back to the store. */
static void *promoter(void *arg)
{
	struct actor *a = arg;
	static unsigned char slot[ZT_PAGE_SIZE];

	for (;;) {
		uint64_t idx = (uint64_t)(rand_r(&a->seed) % RANGE) * STRIDE, e, ne;

		if (zu_pt_lock(a->s->pt, idx, ZU_PT_NOCREATE, &e))
			continue;
		ne = zu_pte_tier(e) == ZT_TIER_STORE ? zu_pte_store_aged(e, 0) : e;
		if (zu_pte_is_packed(e) &&
		    pread(spill_fd, slot, ZT_PAGE_SIZE,
			  (off_t)(zu_pte_slot_nr(e) * ZT_PAGE_SIZE)) == ZT_PAGE_SIZE &&
		    !zu_packed_promote(a->s->store, e, slot, &ne)) {
			zu_pt_unlock(a->s->pt, idx, ne);
			zu_slots_free(a->s->spill, zu_pte_slot_nr(e));
			continue;
		}
		zu_pt_unlock(a->s->pt, idx, ne);
	}
	return NULL;
}

static void child(int fd)
{
	struct actor a[3];
	struct zu_demote_cfg dc;
	struct zu_demoter *d;
	struct zu_state *s;
	uint64_t now = 0;
	pthread_t t;

	if (zu_state_attach(fd, &geom, &s, msg, sizeof(msg)))
		_exit(2);
	dc = (struct zu_demote_cfg){ s->pt, s->store, s->spill, spill_fd, 3, BUDGET,
				     s->budget_day };
	if (!(d = zu_demoter_create(&dc, 0)))
		_exit(3);
	for (unsigned i = 0; i < 3; i++) {
		a[i] = (struct actor){ s, i + 1 + (unsigned)getpid() * 4 };
		pthread_create(&t, NULL, i < 2 ? writer : promoter, &a[i]);
	}
	for (;;)
		zu_demote_pass(d, now += 1000);
}

struct check {
	struct zu_state *s;
	struct zu_codec_ctx *cx;
	unsigned pages, packed, bad;
	uint64_t idx[RANGE];
};

static int check_page(void *ctx, uint64_t idx, uint64_t e)
{
	struct check *c = ctx;
	unsigned char page[ZT_PAGE_SIZE];
	uint64_t ver;

	if (c->pages < RANGE)
		c->idx[c->pages] = idx;
	c->pages++;
	c->packed += zu_pte_is_packed(e);
	c->bad += dm_load(c->s->store, c->cx, spill_fd, e, page) || !dm_check(page, idx, &ver);
	return 0;
}

static bool drain(struct zu_state *s, struct check *c)
{
	struct zu_store_stats ss;

	state_drop_pages(s, c->idx, c->pages < RANGE ? c->pages : RANGE);
	zu_store_stats(s->store, &ss);
	return !ss.pages && !ss.data_bytes && !zu_slots_used(s->spill);
}

int main(void)
{
	static struct check c;
	unsigned killed = 0, pages = 0, packed = 0, bad = 0, r;
	uint64_t taken = 0, now_taken;
	bool kept = true;             /* the window only grew, within the budget */
	int fd = memfd_create("t_demote_kill", MFD_CLOEXEC);
	struct zu_codec_ctx *cx = zu_codec_ctx_create(3);
	struct zu_state *s;

	srand(11);
	spill_fd = dm_spill_file(SLOTS);
	if (!ok(spill_fd >= 0 && zu_state_create(fd, &geom, &s, msg, sizeof(msg)) == 0,
		"a state and a spill file"))
		return tap_done();
	zu_state_detach(s);
	for (r = 0; r < ROUNDS; r++) {
		killed += state_kill_round(fd, child);
		if (zu_state_attach(fd, &geom, &s, msg, sizeof(msg)))
			break;
		c = (struct check){ .s = s, .cx = cx };
		zu_pt_foreach(s->pt, check_page, &c);
		pages += c.pages;
		packed += c.packed;
		bad += c.bad;
		now_taken = atomic_load(&s->budget_day->used);
		kept &= now_taken >= taken && now_taken <= BUDGET;
		taken = now_taken;
		if (r + 1 < ROUNDS)
			zu_state_detach(s);
	}
	is_int(killed, ROUNDS, "a demoting child killed with SIGKILL every round");
	if (!ok(r == ROUNDS, "attach after every kill"))
		return tap_diag("  %s", msg), tap_done();
	ok(packed > 0, "kills found pages in spill (%u of %u checked)", packed, pages);
	ok(!bad && pages, "every page decodes to a whole write of it (%u bad)", bad);
	ok(kept && taken, "the budget taken only grew across kills, within a day's "
	   "(%llu of %llu pages)", (unsigned long long)(taken / ZT_PAGE_SIZE),
	   (unsigned long long)(BUDGET / ZT_PAGE_SIZE));
	ok(drain(s, &c), "freeing every page empties the store and the spill slots exactly");
	zu_state_detach(s);
	zu_codec_ctx_destroy(cx);
	close(fd);
	close(spill_fd);
	return tap_done();
}
