/*
 * store_compact.c — the compactor and the housekeeper thread (design in
 * store.h: victims, moves through the page table's owner, publication
 * under the entry lock).
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <linux/prctl.h>
#include <sys/prctl.h>
#include <time.h>

#include "ublk/store_int.h"

/* ---- compaction ---------------------------------------------------------------------- */

struct scan {
	uint64_t cnt[BUCKETS], holes[BUCKETS], total_holes;
};

static uint32_t bucket_of(uint64_t live)
{
	uint64_t b = live * BUCKETS / SEG_DATA;

	return b < BUCKETS ? (uint32_t)b : BUCKETS - 1;
}

/* A sealed segment with pages that is not a victim yet. */
static bool candidate(uint64_t v)
{
	return (v & (SEALED | VICTIM)) == SEALED && (v & LIVE_MASK);
}

/* Next in-use segment at or after s, or max_segs (seg_lock held). */
static uint32_t next_inuse(const struct zu_store *st, uint32_t s)
{
	for (uint32_t w = s / 64; w < (st->max_segs + 63) / 64; w++) {
		uint64_t bits = st->inuse[w] & (w == s / 64 ? ~UINT64_C(0) << (s % 64) : ~UINT64_C(0));

		if (bits)
			return w * 64 + (uint32_t)__builtin_ctzll(bits);
	}
	return st->max_segs;
}

/* Holes per utilization sixteenth over the sealed segments (seg_lock held:
 * in-use segments stay mapped while it is). */
static void scan_locked(struct zu_store *st, struct scan *sc)
{
	for (uint32_t s = next_inuse(st, 0); s < st->max_segs; s = next_inuse(st, s + 1)) {
		uint64_t v = atomic_load_explicit(&hdr(st, s)->lw, memory_order_relaxed);
		uint64_t live = v & LIVE_MASK;

		if (!candidate(v))
			continue;
		sc->cnt[bucket_of(live)]++;
		sc->holes[bucket_of(live)] += SEG_DATA - live;
		sc->total_holes += SEG_DATA - live;
	}
}

/* Evacuate the sixteenths below the returned one, emptiest first: enough
 * to take back the holes beyond 1/20 of the data (all if forced), once
 * they pass 1/10 of it plus a segment.  Never the fullest sixteenth: its
 * segments give back less than 1/16 each.  0: nothing worth a walk.  The
 * gap between 1/10 and 1/20 is what keeps copying cheap: tighter figures
 * moved 10 pages per page overwritten in the churn test, these move ~2. */
static uint32_t cut_of(const struct scan *sc, uint64_t live, bool force)
{
	uint64_t want, got = 0;
	uint32_t b;

	if (force)
		want = sc->total_holes;
	else if (sc->total_holes <= live / COMPACT_START + SEG)
		return 0;
	else
		want = sc->total_holes - live / COMPACT_GOAL;
	for (b = 0; b < BUCKETS - 1 && got < want; b++)
		got += sc->holes[b];
	return got >= SEG_DATA ? b : 0;
}

/* Flag s as a victim if it still qualifies and its pages fit in budget:
 * nobody releases it until the pass is done with it, so its bytes stay
 * readable and are never reused meanwhile.  Its live bytes, or 0. */
static uint64_t mark_victim(struct zu_store *st, uint32_t s, uint32_t cut, uint64_t budget)
{
	_Atomic uint64_t *lw = &hdr(st, s)->lw;
	uint64_t v = atomic_load(lw);

	while (candidate(v) && bucket_of(v & LIVE_MASK) < cut && (v & LIVE_MASK) <= budget)
		if (atomic_compare_exchange_weak(lw, &v, v | VICTIM))
			return v & LIVE_MASK;
	return 0;
}

/* Room the moves may use: the move lane's open segment and every segment
 * that can still be had (the pass frees victims only after their pages
 * moved). */
static uint64_t move_budget(struct zu_store *st)
{
	struct lane *ln = &st->lane[LANE_MOVE];
	uint64_t room = 0;

	pthread_mutex_lock(&ln->lock);
	if (ln->seg != NO_SEG)
		room = SEG - hdr(st, ln->seg)->top;
	pthread_mutex_unlock(&ln->lock);
	pthread_mutex_lock(&st->seg_lock);
	room += zus_free_segs_locked(st) * (SEG_DATA - ZT_PAGE_SIZE);
	pthread_mutex_unlock(&st->seg_lock);
	return room;
}

static uint32_t pick_victims(struct zu_store *st, bool force)
{
	struct scan sc = { { 0 }, { 0 }, 0 };
	uint64_t live = atomic_load(&st->live), budget = move_budget(st), got;
	uint32_t cut, s;

	st->nvictims = 0;
	pthread_mutex_lock(&st->seg_lock);
	scan_locked(st, &sc);
	cut = cut_of(&sc, live, force);
	for (s = next_inuse(st, 0); cut && s < st->max_segs && st->nvictims < MAX_VICTIMS;
	     s = next_inuse(st, s + 1))
		if ((got = mark_victim(st, s, cut, budget))) {
			st->victims[st->nvictims++] = s;
			bit_set(st->victim, s);
			budget -= got;
		}
	pthread_mutex_unlock(&st->seg_lock);
	return st->nvictims;
}

/* A victim whose pages all moved goes back now, so the moves can use it
 * (it leaves the victim bitmap first: stale handles into it are ignored). */
static void victim_done(struct zu_store *st, uint32_t s)
{
	bit_clear(st->victim, s);
	if ((atomic_fetch_and(&hdr(st, s)->lw, ~VICTIM) & ~VICTIM) == SEALED) {
		zus_release_seg(st, s);
		atomic_fetch_add_explicit(&st->freed_segs, 1, memory_order_relaxed);
		zus_trim_excess(st);
	}
}

/* Copy one page out of a victim, then let the table's owner publish the
 * copy; the copy is freed instead if the page changed meanwhile.  The
 * move lane may commit: this is the housekeeper, never a queue thread. */
static void move_one(struct zu_store *st, uint64_t pgno, uint64_t h)
{
	size_t len = zu_store_handle_len(h);
	struct lane *ln = &st->lane[LANE_MOVE];
	int64_t off;
	uint64_t nh;

	/* The walk read the entry that published h (a release store by the
	 * writer): see the bytes the writer copied in before it. */
	atomic_thread_fence(memory_order_acquire);
	pthread_mutex_lock(&ln->lock);
	off = zus_lane_alloc(st, LANE_MOVE, len, GS_COMMIT | GS_CLEANER);
	pthread_mutex_unlock(&ln->lock);
	if (off < 0) {
		st->pass_err = -ENOSPC;
		return;
	}
	memcpy(st->base + off, st->base + handle_off(h), len);
	count_page(st, len, 1);
	nh = make_handle((uint64_t)off, len);
	if (st->mover.relocate(st->mover.ctx, pgno, h, nh)) {
		uint32_t s = (uint32_t)(handle_off(h) / SEG);

		zu_store_free(st, h);
		if ((atomic_load(&hdr(st, s)->lw) & LIVE_MASK) == 0)
			victim_done(st, s);
		st->pass_moved++;
		atomic_fetch_add_explicit(&st->moved_bytes, len, memory_order_relaxed);
	} else {
		zu_store_free(st, nh);
		atomic_fetch_add_explicit(&st->raced, 1, memory_order_relaxed);
	}
}

/* The walk's visitor: only handles inside this pass's victims move (a
 * stale handle elsewhere may name a segment already unmapped). */
static void visit(struct zu_store *st, uint64_t pgno, uint64_t handle)
{
	uint64_t off = handle_off(handle);

	if (st->pass_err || off >= (uint64_t)st->max_segs * SEG ||
	    !bit_test(st->victim, (uint32_t)(off / SEG)))
		return;
	move_one(st, pgno, handle);
}

/* End of a pass: victims that were emptied go back. */
static void unmark_victims(struct zu_store *st)
{
	for (uint32_t i = 0; i < st->nvictims; i++)
		if (bit_test(st->victim, st->victims[i]))
			victim_done(st, st->victims[i]);
	st->nvictims = 0;
}

int zu_store_compact(struct zu_store *st, bool force)
{
	int ret = 0;

	if (!st->has_mover)
		return -EINVAL;
	pthread_mutex_lock(&st->compact_lock);
	if (pick_victims(st, force)) {
		st->pass_moved = 0;
		st->pass_err = 0;
		st->mover.walk(st->mover.ctx, st, visit);
		unmark_victims(st);
		atomic_fetch_add_explicit(&st->moved_pages, st->pass_moved, memory_order_relaxed);
		if (st->pass_moved)
			atomic_fetch_add_explicit(&st->compactions, 1, memory_order_relaxed);
		ret = st->pass_moved ? (int)st->pass_moved : st->pass_err;
	}
	pthread_mutex_unlock(&st->compact_lock);
	return ret;
}

int zu_store_set_mover(struct zu_store *st, const struct zu_store_mover *m)
{
	if (!m || !m->walk || !m->relocate || st->hk_running)
		return -EINVAL;
	pthread_mutex_lock(&st->compact_lock);
	st->mover = *m;
	st->has_mover = true;
	pthread_mutex_unlock(&st->compact_lock);
	return 0;
}

/* Worth a pass (seg_lock held; a cheap guess, the pass checks exactly):
 * 1 when the free room in the segments in use passes 1/10 of the data plus
 * the open segments; 2 (any hole) when the store is nearly full and holes
 * are all the room left. */
int zus_compact_due_locked(struct zu_store *st)
{
	uint64_t live = atomic_load_explicit(&st->live, memory_order_relaxed);
	uint64_t room = atomic_load_explicit(&st->nused, memory_order_relaxed) * SEG_DATA;

	if (!st->has_mover || room <= live + 3 * SEG)
		return 0;
	if (room - live > live / COMPACT_START + 3 * SEG)
		return 1;
	return zus_free_segs_locked(st) < 2 ? 2 : 0;
}

/* A free took a sealed segment below 15/16 full (once per segment and
 * fill): if that makes a pass due, the housekeeper runs it now, not at its
 * next timeout (up to HK_WAIT_S after a discard that left holes but freed
 * no segment).  A queue thread calls it: seg_lock and a few loads, once
 * per segment, never a pass. */
void zus_compact_nudge(struct zu_store *st)
{
	pthread_mutex_lock(&st->seg_lock);
	if (st->hk_running && !st->hk_kick && zus_compact_due_locked(st))
		zus_hk_kick_locked(st);
	pthread_mutex_unlock(&st->seg_lock);
}

/* ---- the housekeeper ---------------------------------------------------------------------- */

/* Sleep until kicked or HK_WAIT_S passed; not at all if a kick came
 * while the last round ran. */
static void hk_wait_locked(struct zu_store *st)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += HK_WAIT_S;
	while (!st->hk_kick && !st->hk_stop)
		if (pthread_cond_timedwait(&st->hk_cond, &st->seg_lock, &t))
			break;
	st->hk_kick = false;
}

/* One round: refill or trim the reserve, then one compaction pass if due.
 * True if it did something (the next round follows without waiting). */
static bool hk_round(struct zu_store *st, int due)
{
	int n = zu_store_refill(st), m = 0;

	if (due)
		m = zu_store_compact(st, due == 2);
	return n > 0 || m > 0;
}

/* The housekeeper: sleeps on hk_cond (at most HK_WAIT_S) until put/free
 * signal that the reserve fell below its low mark (or spares piled up),
 * then runs the owner's tick, refills, trims and compacts with seg_lock
 * dropped: it may wait in
 * reclaim while faulting a segment in, and the queue threads never wait
 * for it. */
static void *housekeeper(void *arg)
{
	struct zu_store *st = arg;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	/* Its faults must never reclaim by writing to this very device: a
	 * refill that swapped out to us would wait for a server that waits for
	 * the refill (the deadlock of a swap store without upfront commit). */
	prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0);
	pthread_mutex_lock(&st->seg_lock);
	while (!st->hk_stop) {
		int due;
		bool progress;

		if (st->tick) {
			pthread_mutex_unlock(&st->seg_lock);
			st->tick(st->tick_ctx);
			pthread_mutex_lock(&st->seg_lock);
		}
		due = zus_compact_due_locked(st);
		if (!zus_hk_has_work_locked(st) && !due) {
			hk_wait_locked(st);
			continue;
		}
		st->hk_kick = false;
		pthread_mutex_unlock(&st->seg_lock);
		progress = hk_round(st, due);
		pthread_mutex_lock(&st->seg_lock);
		if (!progress && !st->hk_stop)
			hk_wait_locked(st);   /* no progress: do not spin */
	}
	pthread_mutex_unlock(&st->seg_lock);
	return NULL;
}

int zu_store_set_tick(struct zu_store *st, void (*fn)(void *ctx), void *ctx)
{
	if (st->hk_running)
		return -EINVAL;
	st->tick = fn;
	st->tick_ctx = ctx;
	return 0;
}

int zu_store_housekeeper_start(struct zu_store *st)
{
	pthread_attr_t attr;
	int ret;

	if (!st->reserve_mode || st->hk_running || (st->upfront && !st->has_mover))
		return -EINVAL;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, HK_STACK);
	ret = -pthread_create(&st->hk, &attr, housekeeper, st);
	pthread_attr_destroy(&attr);
	if (ret)
		return ret;
	pthread_setname_np(st->hk, "ztier-store");
	pthread_mutex_lock(&st->seg_lock);
	st->hk_running = true;
	pthread_mutex_unlock(&st->seg_lock);
	return 0;
}
