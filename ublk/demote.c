/*
 * demote.c — age-based demotion of store pages to the spill tier (design
 * in demote.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ublk/demote.h"

/* ---- budget and schedule --------------------------------------------------- */

/* Whether the window that opened at start_ms is still the current one at
 * now_ms: opened, and less than a day ago (or, a start ahead of now, a
 * window of another clock: kept, see budget_roll). */
static bool window_open(uint64_t start_ms, uint64_t now_ms)
{
	return start_ms && (now_ms < start_ms || now_ms - start_ms < ZU_DEMOTE_DAY_MS);
}

/* The window at now_ms, opened anew once a day has passed.  The start is
 * stored before the total (demote.h: a kill between them errs on spending
 * less); a start ahead of now is moved to now, keeping what was spent. */
static void budget_roll(struct zu_budget_day *w, uint64_t now_ms)
{
	uint64_t start = atomic_load_explicit(&w->start_ms, memory_order_relaxed);

	if (!now_ms)
		now_ms = 1;
	if (window_open(start, now_ms)) {
		if (now_ms < start)
			atomic_store_explicit(&w->start_ms, now_ms, memory_order_relaxed);
		return;
	}
	atomic_store_explicit(&w->start_ms, now_ms, memory_order_relaxed);
	atomic_store_explicit(&w->used, 0, memory_order_release);
}

/* What a window that took used bytes has left (any value: at most 0). */
static uint64_t budget_rest(uint64_t per_day, uint64_t used)
{
	return used < per_day ? per_day - used : 0;
}

bool zu_budget_take(struct zu_budget *b, uint64_t now_ms, uint64_t n)
{
	uint64_t used;

	if (!b->per_day)
		return true;
	budget_roll(b->day, now_ms);
	used = atomic_load_explicit(&b->day->used, memory_order_relaxed);
	if (n > budget_rest(b->per_day, used))
		return false;
	atomic_store_explicit(&b->day->used, used + n, memory_order_release);
	return true;
}

uint64_t zu_budget_left(const struct zu_budget *b, uint64_t now_ms)
{
	if (!b->per_day)
		return UINT64_MAX;
	if (!window_open(atomic_load_explicit(&b->day->start_ms, memory_order_relaxed),
			 now_ms ? now_ms : 1))
		return b->per_day;
	return budget_rest(b->per_day, atomic_load_explicit(&b->day->used, memory_order_relaxed));
}

uint64_t zu_demote_period_ms(unsigned age_s)
{
	uint64_t p = (uint64_t)age_s * 1000 / ZU_PTE_AGE_MAX;

	if (!age_s)
		return 0;
	return p < ZU_DEMOTE_MIN_PERIOD_MS ? ZU_DEMOTE_MIN_PERIOD_MS : p;
}

/* ---- the demoter ------------------------------------------------------------- */

struct zu_demoter {
	struct zu_demote_cfg cfg;
	struct zu_budget budget;
	struct zu_budget_day own;     /* the window, without a state's        */
	uint64_t period_ms, last_ms, now_ms;
	uint64_t cursor;              /* slot allocation cursor              */
	uint32_t tag;                 /* packed entries' tags                 */
	void *buf;                    /* one 4 KiB aligned page (O_DIRECT)    */
	int err;                      /* this pass: stop demoting             */
	_Atomic uint64_t passes, pages, bytes, raced;
	_Atomic uint64_t left;        /* budget left after the last pass      */
	_Atomic int last_err;
};

struct zu_demoter *zu_demoter_create(const struct zu_demote_cfg *cfg, uint64_t now_ms)
{
	struct zu_demoter *d;

	if (!cfg->age_s || !cfg->pt || !cfg->store || !cfg->slots || cfg->fd < 0) {
		errno = EINVAL;
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (!d || posix_memalign(&d->buf, ZT_PAGE_SIZE, ZT_PAGE_SIZE)) {
		free(d);
		errno = ENOMEM;
		return NULL;
	}
	d->cfg = *cfg;
	d->budget.per_day = cfg->budget;
	d->budget.day = cfg->day ? cfg->day : &d->own;
	d->period_ms = zu_demote_period_ms(cfg->age_s);
	d->last_ms = now_ms;          /* the first pass one period from now */
	atomic_init(&d->left, zu_budget_left(&d->budget, now_ms));
	return d;
}

void zu_demoter_destroy(struct zu_demoter *d)
{
	if (!d)
		return;
	free(d->buf);
	free(d);
}

/* Steps 2-4 of a move (demote.h): d->buf holds the bytes of entry was. */
static int move_out(struct zu_demoter *d, uint64_t idx, uint64_t was)
{
	size_t len = zu_store_handle_len(zu_pte_store_handle(was));
	uint64_t slot, cur;
	ssize_t n;
	int ret = zu_slots_alloc(d->cfg.slots, &d->cursor, &slot);

	if (ret)
		return ret;
	n = pwrite(d->cfg.fd, d->buf, ZT_PAGE_SIZE, (off_t)(slot * ZT_PAGE_SIZE));
	if (n != ZT_PAGE_SIZE) {
		ret = n < 0 ? -errno : -EIO;
		zu_slots_free(d->cfg.slots, slot);
		return ret;
	}
	if (zu_pt_lock(d->cfg.pt, idx, ZU_PT_NOCREATE, &cur) == 0) {
		if (cur == was) {
			d->tag++;
			zu_pt_unlock(d->cfg.pt, idx, zu_pte_packed(slot, zu_pte_store_codec(was),
								   len, d->tag));
			zu_store_free(d->cfg.store, zu_pte_store_handle(was));
			atomic_fetch_add_explicit(&d->pages, 1, memory_order_relaxed);
			atomic_fetch_add_explicit(&d->bytes, len, memory_order_relaxed);
			return 1;
		}
		zu_pt_unlock(d->cfg.pt, idx, cur);
	}
	zu_slots_free(d->cfg.slots, slot);
	atomic_fetch_add_explicit(&d->raced, 1, memory_order_relaxed);
	return 0;
}

/* Step 1 under the lock: cur is a page at the top age; copy its bytes if
 * the budget takes it.  False: leave it (budget spent). */
static bool copy_in(struct zu_demoter *d, uint64_t cur)
{
	size_t len;
	const void *src = zu_store_data(d->cfg.store, zu_pte_store_handle(cur), &len);

	if (!zu_budget_take(&d->budget, d->now_ms, ZT_PAGE_SIZE))
		return false;
	memcpy(d->buf, src, len);
	memset((char *)d->buf + len, 0, ZT_PAGE_SIZE - len);
	return true;
}

/* The walk's visitor: age one store page, or demote it. */
static int visit(void *ctx, uint64_t idx, uint64_t snap)
{
	struct zu_demoter *d = ctx;
	unsigned age;
	uint64_t cur;
	bool move;
	int ret;

	if (zu_pte_tier(snap) != ZT_TIER_STORE ||
	    zu_pt_lock(d->cfg.pt, idx, ZU_PT_NOCREATE, &cur))
		return 0;
	age = zu_pte_store_age(cur);
	if (zu_pte_tier(cur) != ZT_TIER_STORE || age < ZU_PTE_AGE_MAX) {
		zu_pt_unlock(d->cfg.pt, idx, zu_pte_tier(cur) == ZT_TIER_STORE ?
						     zu_pte_store_aged(cur, age + 1) : cur);
		return 0;
	}
	move = !d->err && copy_in(d, cur);
	zu_pt_unlock(d->cfg.pt, idx, cur);
	if (!move)
		return 0;
	ret = move_out(d, idx, cur);
	if (ret < 0) {
		d->err = ret;
		atomic_store_explicit(&d->last_err, ret, memory_order_relaxed);
	}
	return 0;
}

int zu_demote_pass(struct zu_demoter *d, uint64_t now_ms)
{
	uint64_t before = atomic_load_explicit(&d->pages, memory_order_relaxed);

	d->now_ms = now_ms;
	d->last_ms = now_ms;
	d->err = 0;
	zu_pt_foreach(d->cfg.pt, visit, d);
	atomic_fetch_add_explicit(&d->passes, 1, memory_order_relaxed);
	atomic_store_explicit(&d->left, zu_budget_left(&d->budget, now_ms), memory_order_relaxed);
	if (d->err && d->err != -ENOSPC)
		return d->err;
	return (int)(atomic_load_explicit(&d->pages, memory_order_relaxed) - before);
}

int zu_demote_tick(struct zu_demoter *d, uint64_t now_ms)
{
	if (now_ms - d->last_ms < d->period_ms)
		return 0;
	return zu_demote_pass(d, now_ms);
}

void zu_demote_stats(struct zu_demoter *d, struct zu_demote_stats *out)
{
	out->passes = atomic_load_explicit(&d->passes, memory_order_relaxed);
	out->pages = atomic_load_explicit(&d->pages, memory_order_relaxed);
	out->bytes = atomic_load_explicit(&d->bytes, memory_order_relaxed);
	out->raced = atomic_load_explicit(&d->raced, memory_order_relaxed);
	out->last_err = atomic_load_explicit(&d->last_err, memory_order_relaxed);
	out->budget_left = atomic_load_explicit(&d->left, memory_order_relaxed);
}

/* ---- reading a packed page back ------------------------------------------------ */

int zu_packed_decode(struct zu_codec_ctx *cx, uint64_t e, const void *slot, void *page)
{
	int ret = zu_codec_decompress(cx, zu_pte_packed_codec(e), slot, zu_pte_packed_len(e),
				      page);

	return ret < 0 ? -EIO : 0;
}

int zu_packed_promote(struct zu_store *st, uint64_t e, const void *slot,
		      uint64_t *store_entry)
{
	enum zt_codec_kind k = zu_pte_packed_codec(e);
	size_t len = zu_pte_packed_len(e);
	uint64_t h;
	int ret;

	if (!st)
		return -ENOSPC;
	if (k == ZT_CODEC_RAW)
		ret = len == ZT_PAGE_SIZE ? zu_store_put_raw(st, slot, &h) : -EIO;
	else
		ret = zu_store_put(st, slot, len, &h);
	if (ret)
		return ret;
	*store_entry = zu_pte_store(h, k);
	return 0;
}
