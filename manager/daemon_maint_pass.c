/*
 * daemon_maint_pass.c — one maintenance pass over a zram device ztierd
 * keeps: a plain zram swap, or a ztier device's zram tier (the schedule
 * and the order of things: daemon_maint.c's header).
 *
 * Each pass keeps what it measured for `ztierctl status` and the metrics
 * (struct zd_maint's counters): the time it ran, what bd_stat counted as
 * written back (since built and since today's budget was granted), what
 * writeback_limit says is left, the recompression passes and how much the
 * compressed data shrank across them, and the pages a mark-all marked.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "manager/daemon.h"
#include "policy/common/common.h"
#include "zramctl-glue/zramctl_glue.h"

#define DAY_MS (86400 * 1000LL)

/* PSI memory "some avg10" in %, or -1 (no PSI: CONFIG_PSI off). */
static double psi_now(void)
{
	char line[128] = "";
	FILE *f = fopen("/proc/pressure/memory", "re");

	if (!f)
		return -1;
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	return zt_psi_some_avg10(line);
}

/* What the device was made with, as the kernel has it: a ztier tier's
 * server may have made it without a part the kernel refused (its own
 * message says why). */
static void held_parts(struct zd_stack *s, struct zg_dev *dev, unsigned f)
{
	char bd[ZT_PATH_MAX] = "", why[512];
	int err = s->maint.can_wb ? zg_backing_dev(dev, bd, sizeof(bd)) : 0;

	if (s->maint.can_wb && (err || !bd[0])) {
		zd_maint_lacks(s, "no writeback", err ? zg_strerror(&dev->err, why, sizeof(why))
			       : "the zram device was made without its backing device");
		s->maint.can_wb = false;
	}
	if (s->maint.can_recomp && !(f & ZG_F_RECOMPRESS)) {
		zd_maint_lacks(s, "no recompression", "no recompress (CONFIG_ZRAM_MULTI_COMP)");
		s->maint.can_recomp = false;
	}
}

/* The first pass: what the kernel has for what is configured. */
static void probe(struct zd_stack *s, struct zg_dev *dev)
{
	unsigned f = 0;

	s->maint.probed = true;
	zg_features(dev, &f);
	held_parts(s, dev, f);
	if (s->maint.can_wb && !(f & ZG_F_WRITEBACK_LIMIT) && zd_maint_keys(s)->wb_budget) {
		zd_maint_lacks(s, "no writeback", "no writeback_limit: writeback-budget cannot be kept");
		s->maint.can_wb = false;
	}
	/* the aged form is probed by using it: no attribute tells */
	s->maint.aged_idle = zg_mark_idle_age(dev, 24 * 3600) == 0;
	if (!s->maint.aged_idle && (s->maint.can_wb || s->maint.can_recomp))
		zd_maint_lacks(s, "no idle ages (CONFIG_ZRAM_TRACK_ENTRY_ACTIME)",
			       "marks all idle, acts one age later");
}

/* writeback_limit granted again once a day (BOOTTIME: a day of the
 * machine's life, suspended or not, as the budget is about the disk). */
static int grant_budget(struct zd_stack *s, struct zg_dev *dev)
{
	uint64_t pages = zd_maint_keys(s)->wb_budget / 4096;
	long long boot = zd_maint_clock(CLOCK_BOOTTIME);
	char msg[512];

	if (!zd_maint_keys(s)->wb_budget || (s->maint.day_ms && boot - s->maint.day_ms < DAY_MS))
		return 0;
	if (zg_set_writeback_limit(dev, pages)) {
		zd_log(ZD_ERR, "%s: writeback budget: %s", s->name,
		       zg_strerror(&dev->err, msg, sizeof(msg)));
		return -1;
	}
	s->maint.day_ms = boot;
	s->maint.wb_today = 0;
	zd_log(ZD_INFO, "%s: writeback budget %llu pages for the next 24 h", s->name,
	       (unsigned long long)pages);
	return 0;
}

/* What writeback_limit says is left of today's budget (-1: not enforced). */
static void read_budget(struct zd_stack *s, struct zg_dev *dev)
{
	uint64_t left;
	bool on;

	s->maint.budget_left = zg_writeback_limit(dev, &left, &on) == 0 && on ? (int64_t)left : -1;
}

static void count_written(struct zd_stack *s, const struct zg_stats *a, const struct zg_stats *b)
{
	uint64_t n = b->bd.bd_writes - a->bd.bd_writes;

	s->maint.wb_pages += n;
	s->maint.wb_today += n;
	zd_log(ZD_INFO, "%s: wrote back %llu pages (bd_stat: %llu on the backing device, "
	       "%llu written since built)", s->name, (unsigned long long)n,
	       (unsigned long long)b->bd.bd_count, (unsigned long long)s->maint.wb_pages);
}

/* Write back each configured kind of page; the pages bd_stat counted. */
static void writeback(struct zd_stack *s, struct zg_dev *dev)
{
	struct zg_stats a, b;
	char msg[512];
	int err = 0;

	if (grant_budget(s, dev) || zg_read_stats(dev, &a))
		return;
	for (unsigned bit = 1; bit < 1u << ZT_WB_KINDS && !err; bit <<= 1) {
		if (!(zd_maint_keys(s)->wb_pages & bit))
			continue;
		err = zg_writeback(dev, zt_wb_kind_name(bit));
		if (err == -EIO && zd_maint_keys(s)->wb_budget)
			zd_log(ZD_INFO, "%s: writeback %s: today's budget is used up", s->name,
			       zt_wb_kind_name(bit));
		else if (err)
			zd_log(ZD_ERR, "%s: writeback %s: %s", s->name, zt_wb_kind_name(bit),
			       zg_strerror(&dev->err, msg, sizeof(msg)));
	}
	read_budget(s, dev);
	if (zg_read_stats(dev, &b) == 0 && b.bd.present)
		count_written(s, &a, &b);
}

static void recompress(struct zd_stack *s, struct zg_dev *dev)
{
	struct zg_stats a, b;
	char msg[512];

	if (zg_read_stats(dev, &a))
		return;
	if (zg_recompress_pages(dev, "idle", zd_maint_keys(s)->recomp_threshold, 0)) {
		zd_log(ZD_ERR, "%s: recompress: %s", s->name,
		       zg_strerror(&dev->err, msg, sizeof(msg)));
		return;
	}
	s->maint.recompressions++;
	if (zg_read_stats(dev, &b))
		return;
	/* swap-outs meanwhile can hide a shrink: counted only when it shows */
	if (b.mm.compr_data_size < a.mm.compr_data_size)
		s->maint.recomp_saved += a.mm.compr_data_size - b.mm.compr_data_size;
	zd_log(ZD_INFO, "%s: recompressed idle pages with %s: compressed data %llu -> "
	       "%llu bytes", s->name, zd_maint_keys(s)->recomp_algorithm,
	       (unsigned long long)a.mm.compr_data_size, (unsigned long long)b.mm.compr_data_size);
}

/* Mark by age, lengthened by the time suspended within it. */
static int mark_aged(struct zd_stack *s, struct zg_dev *dev, unsigned age,
		     long long mono, long long susp)
{
	long long extra = zd_maint_discount(&s->maint, mono, susp, age * 1000LL) / 1000;
	char msg[512];

	if (zg_mark_idle_age(dev, age + (unsigned)extra) == 0)
		return 0;
	zd_log(ZD_ERR, "%s: idle marking: %s", s->name, zg_strerror(&dev->err, msg, sizeof(msg)));
	return -1;
}

static void pass_aged(struct zd_stack *s, struct zg_dev *dev, long long mono, long long susp)
{
	const struct zt_maint *m = zd_maint_keys(s);

	if (zd_maint_wb_on(s) && !mark_aged(s, dev, m->wb_idle_age, mono, susp))
		writeback(s, dev);
	if (zd_maint_recomp_on(s) && !mark_aged(s, dev, m->recomp_idle_age, mono, susp))
		recompress(s, dev);
}

/* mark_idle "all" marks every slot held in zram but those kept as a fill
 * value (same_pages) and those written back (no longer in pages stored). */
static void mark_all(struct zd_stack *s, struct zg_dev *dev, long long mono)
{
	struct zg_stats st;
	char msg[512];
	bool counted = zg_read_stats(dev, &st) == 0 && st.mm.present &&
		       st.mm.same_pages != ZG_ABSENT;

	if (zg_mark_idle(dev, "all")) {
		zd_log(ZD_ERR, "%s: idle marking: %s", s->name, zg_strerror(&dev->err, msg, sizeof(msg)));
		return;
	}
	s->maint.mark_ms = mono;
	s->maint.recompressed = false;
	s->maint.idle_marked = counted ? (int64_t)(st.mm.orig_data_size / 4096 - st.mm.same_pages)
				       : -1;
	zd_log(ZD_INFO, "%s: marked every page idle; pages not read meanwhile are acted on "
	       "after their idle age", s->name);
}

/* Without ages: act on what stayed idle since the epoch's mark.  A
 * recompressed page loses its idle mark, so it waits for the next epoch's
 * writeback (it is smaller now: the cheaper one to keep). */
static void pass_epoch(struct zd_stack *s, struct zg_dev *dev, long long mono)
{
	const struct zt_maint *m = zd_maint_keys(s);
	long long age = s->maint.mark_ms ? (mono - s->maint.mark_ms) / 1000 : -1;
	bool wb_due = zd_maint_wb_on(s) && age >= m->wb_idle_age;
	bool recomp_on = zd_maint_recomp_on(s);

	if (age < 0)
		return mark_all(s, dev, mono);
	if (recomp_on && !s->maint.recompressed && age >= m->recomp_idle_age) {
		recompress(s, dev);
		s->maint.recompressed = true;
	}
	if (wb_due)
		writeback(s, dev);
	if (wb_due || (!zd_maint_wb_on(s) && recomp_on && s->maint.recompressed))
		mark_all(s, dev, mono);
}

bool zd_maint_wb_on(const struct zd_stack *s)
{
	return s->maint.can_wb && zd_maint_keys(s)->wb_idle_age && zd_maint_keys(s)->wb_pages;
}

bool zd_maint_recomp_on(const struct zd_stack *s)
{
	return s->maint.can_recomp && zd_maint_keys(s)->recomp_idle_age;
}

bool zd_maint_active(const struct zd_stack *s)
{
	return s->state == ZD_ST_UP && zd_maint_up(s) &&
	       (zd_maint_wb_on(s) || zd_maint_recomp_on(s) ||
		(!s->maint.probed && (s->maint.can_wb || s->maint.can_recomp)));
}

/* Is s due: by its interval, or by pressure after the backoff? */
static bool due(const struct zd_stack *s, long long mono, double psi)
{
	const struct zt_maint *m = zd_maint_keys(s);
	long long since = mono - s->maint.last_ms;

	return since >= m->interval * 1000LL ||
	       (m->pressure && psi >= m->pressure && since >= m->backoff * 1000LL);
}

static void pass(struct zd_stack *s, long long mono, double psi)
{
	long long susp = zd_maint_clock(CLOCK_BOOTTIME) - mono;
	int id = zd_maint_zram(s);
	struct zg_dev dev;
	char msg[512];

	if (id < 0) {                     /* a tier's server between lives */
		zd_log(ZD_DEBUG, "%s: maintenance: its zram tier is not published", s->name);
		return;
	}
	if (zg_attach(&dev, id)) {
		zd_log(ZD_ERR, "%s: maintenance: %s", s->name, zg_strerror(&dev.err, msg, sizeof(msg)));
		return;
	}
	if (!s->maint.probed)
		probe(s, &dev);
	if (!zd_maint_wb_on(s) && !zd_maint_recomp_on(s))
		return;                       /* said at probe / creation */
	if (zd_maint_keys(s)->pressure && psi >= zd_maint_keys(s)->pressure)
		zd_log(ZD_INFO, "%s: maintenance early: memory pressure %.1f%%", s->name, psi);
	if (s->maint.aged_idle)
		pass_aged(s, &dev, mono, susp);
	else
		pass_epoch(s, &dev, mono);
	zd_maint_sample(&s->maint, mono, susp);
	s->maint.last_ms = mono;
	s->maint.last_wall = time(NULL);
}

void zd_maint_run(struct zd_daemon *d)
{
	long long mono = zd_maint_clock(CLOCK_MONOTONIC);
	double psi = psi_now();

	for (unsigned i = 0; i < d->nstacks; i++)
		if (zd_maint_active(&d->stacks[i]) && due(&d->stacks[i], mono, psi))
			pass(&d->stacks[i], mono, psi);
}

/* The pass s's interval brings (monotonic ms); with a pressure trigger
 * PSI is looked at every backoff, so the job comes that often. */
long long zd_maint_next(const struct zd_stack *s, bool by_pressure)
{
	const struct zt_maint *m = zd_maint_keys(s);

	return s->maint.last_ms + 1000LL * (by_pressure && m->pressure ? m->backoff : m->interval);
}

void zd_maint_schedule(struct zd_daemon *d)
{
	long long next = 0;

	for (unsigned i = 0; i < d->nstacks; i++) {
		if (!zd_maint_active(&d->stacks[i]))
			continue;
		long long at = zd_maint_next(&d->stacks[i], true);
		if (!next || at < next)
			next = at;
	}
	d->maint_due = next;
}

int zd_maint_wait_ms(const struct zd_daemon *d)
{
	long long left;

	if (!d->maint_due)
		return -1;
	left = d->maint_due - zd_maint_clock(CLOCK_MONOTONIC);
	return left <= 0 ? 0 : left > 3600000 ? 3600000 : (int)left;
}
