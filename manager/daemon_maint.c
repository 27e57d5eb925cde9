/*
 * daemon_maint.c — keeping plain zram swap healthy over time.
 *
 * zram writes back and recompresses only when told, and nothing in a normal
 * install tells it.  For each [zram-swap NAME] with a writeback-device or a
 * recompress-algorithm, a maintenance job (daemon_job.c: on the job thread,
 * one job at a time; status is still answered by the loop) runs a pass every
 * maintenance-interval, or after maintenance-backoff when PSI memory
 * pressure (some avg10) reaches pressure-trigger:
 *
 *   idle ages   a kernel with TRACK_ENTRY_ACTIME marks by age ("idle SECS");
 *               without it, a pass marks every slot idle and acts at the
 *               first pass the age later (a slot read meanwhile is no longer
 *               idle): mark-all epochs measured on CLOCK_MONOTONIC.
 *   suspend     the kernel's ages run on CLOCK_BOOTTIME, so a suspended
 *               night makes every page look idle; the age given to the
 *               kernel is lengthened by the time suspended since (samples of
 *               BOOTTIME - MONOTONIC at each pass); the epochs use MONOTONIC.
 *   writeback   writeback-pages in order, within writeback-budget a day
 *               (writeback_limit, granted again every 24 h of BOOTTIME).
 *   recompress  type=idle above recompress-threshold with the secondary
 *               algorithm set at creation.
 *
 * What the kernel lacks is found at the first pass (zg_features), logged
 * once and kept as the stack's status note; the rest still runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "build/paths.h"
#include "manager/daemon.h"
#include "policy/common/common.h"
#include "ublk/ztublk.h"
#include "zramctl-glue/zramctl_glue.h"

#define DAY_MS (86400 * 1000LL)

static long long clock_ms(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

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

void zd_maint_sample(struct zd_maint *m, long long mono, long long susp)
{
	if (m->nsusp == ZD_SUSP_SAMPLES) {
		memmove(m->susp_mono, m->susp_mono + 1, sizeof(m->susp_mono[0]) * (ZD_SUSP_SAMPLES - 1));
		memmove(m->susp_ms, m->susp_ms + 1, sizeof(m->susp_ms[0]) * (ZD_SUSP_SAMPLES - 1));
		m->nsusp--;
	}
	m->susp_mono[m->nsusp] = mono;
	m->susp_ms[m->nsusp++] = susp;
}

long long zd_maint_discount(const struct zd_maint *m, long long mono, long long susp,
			    long long age_ms)
{
	long long base = m->nsusp ? m->susp_ms[0] : susp;

	/* the latest sample at least age_ms old; else the oldest we have */
	for (unsigned i = 0; i < m->nsusp; i++)
		if (m->susp_mono[i] <= mono - age_ms)
			base = m->susp_ms[i];
	return susp > base ? susp - base : 0;
}

/* Say once what this kernel cannot do for s: the whole message in the log,
 * its short form (what) in the status note. */
static void lacks(struct zd_stack *s, const char *what, const char *why)
{
	size_t n = strlen(s->maint.note);

	zd_log(ZD_WARN, "%s: maintenance: %s%s%s", s->name, what, why ? ": " : "", why ? why : "");
	snprintf(s->maint.note + n, sizeof(s->maint.note) - n, "%s%s", n ? "; " : "", what);
}

/* The optional part zg_create failed on (a backing device or secondary
 * algorithm the kernel refuses): dropped from spec and said; false when the
 * failure was something else. */
static bool drop_refused(struct zd_stack *s, struct zg_spec *spec, const struct zg_dev *dev)
{
	bool wb = !strcmp(dev->err.attr, "backing_dev");
	char why[512];

	if (!wb && strcmp(dev->err.attr, "recomp_algorithm"))
		return false;
	lacks(s, wb ? "no writeback" : "no recompression",
	      zg_strerror(&dev->err, why, sizeof(why)));
	(wb ? spec->backing_dev : spec->recomp_algorithm)[0] = '\0';
	return true;
}

/* The backing device is used through dm-crypt with a key of this setup,
 * like a spill (issue #13): written-back pages are process memory too.
 * A mapping that cannot be made leaves the swap without writeback. */
static void crypt_backing(struct zd_stack *s, struct zg_spec *spec)
{
	char msg[256], mapped[96];
	int fd = open(spec->backing_dev, O_RDWR | O_CLOEXEC), err;

	if (fd < 0) {
		lacks(s, "no writeback", strerror(errno));
		spec->backing_dev[0] = '\0';
		return;
	}
	s->maint.crypt_id = ztu_crypt_id_of(fd);
	err = ztu_crypt_setup(fd, false, mapped, sizeof(mapped), msg, sizeof(msg));
	close(fd);
	if (err) {
		lacks(s, "no writeback (no dm-crypt mapping for its device)", msg);
		spec->backing_dev[0] = '\0';
		s->maint.crypt_id = 0;
		return;
	}
	snprintf(spec->backing_dev, sizeof(spec->backing_dev), "%s", mapped);
}

/* The backing device's mapping, once the zram device no longer holds it. */
void zd_maint_destroyed(struct zd_stack *s)
{
	char msg[256];

	if (s->maint.crypt_id && ztu_crypt_remove(s->maint.crypt_id, msg, sizeof(msg)))
		zd_log(ZD_WARN, "%s: %s", s->name, msg);
	s->maint.crypt_id = 0;
}

/* Create the device (zram_build); what maintenance needs from the kernel
 * but cannot have leaves the swap without that maintenance, not without
 * swap. */
int zd_maint_create(struct zd_stack *s, struct zg_spec *spec, struct zg_dev *dev)
{
	const struct zt_maint *m = &s->zswap.maint;
	int err;

	memset(&s->maint, 0, sizeof(s->maint));
	snprintf(spec->backing_dev, sizeof(spec->backing_dev), "%.255s",
		 m->wb_idle_age ? m->writeback_device : "");
	snprintf(spec->recomp_algorithm, sizeof(spec->recomp_algorithm), "%s",
		 m->recomp_idle_age ? m->recomp_algorithm : "");
	if (spec->backing_dev[0])
		crypt_backing(s, spec);
	for (int tries = 0; tries < 3; tries++)
		if (!(err = zg_create(dev, spec)) || !drop_refused(s, spec, dev))
			break;
	if (err || !spec->backing_dev[0])
		zd_maint_destroyed(s);        /* no zram device holds the mapping */
	s->maint.can_wb = !err && spec->backing_dev[0];
	s->maint.can_recomp = !err && spec->recomp_algorithm[0];
	s->maint.last_ms = clock_ms(CLOCK_MONOTONIC);
	return err;
}

/* The first pass: what the kernel has for what is configured. */
static void probe(struct zd_stack *s, struct zg_dev *dev)
{
	unsigned f = 0;

	s->maint.probed = true;
	zg_features(dev, &f);
	if (s->maint.can_wb && !(f & ZG_F_WRITEBACK_LIMIT) && s->zswap.maint.wb_budget) {
		lacks(s, "no writeback", "no writeback_limit: writeback-budget cannot be kept");
		s->maint.can_wb = false;
	}
	/* the aged form is probed by using it: no attribute tells */
	s->maint.aged_idle = zg_mark_idle_age(dev, 24 * 3600) == 0;
	if (!s->maint.aged_idle && (s->maint.can_wb || s->maint.can_recomp))
		lacks(s, "no idle ages (CONFIG_ZRAM_TRACK_ENTRY_ACTIME)",
		      "marks all idle, acts one age later");
}

/* writeback_limit granted again once a day (BOOTTIME: a day of the
 * machine's life, suspended or not, as the budget is about the disk). */
static int grant_budget(struct zd_stack *s, struct zg_dev *dev)
{
	uint64_t pages = s->zswap.maint.wb_budget / 4096;
	long long boot = clock_ms(CLOCK_BOOTTIME);
	char msg[512];

	if (!s->zswap.maint.wb_budget || (s->maint.day_ms && boot - s->maint.day_ms < DAY_MS))
		return 0;
	if (zg_set_writeback_limit(dev, pages)) {
		zd_log(ZD_ERR, "%s: writeback budget: %s", s->name,
		       zg_strerror(&dev->err, msg, sizeof(msg)));
		return -1;
	}
	s->maint.day_ms = boot;
	zd_log(ZD_INFO, "%s: writeback budget %llu pages for the next 24 h", s->name,
	       (unsigned long long)pages);
	return 0;
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
		if (!(s->zswap.maint.wb_pages & bit))
			continue;
		err = zg_writeback(dev, zt_wb_kind_name(bit));
		if (err == -EIO && s->zswap.maint.wb_budget)
			zd_log(ZD_INFO, "%s: writeback %s: today's budget is used up", s->name,
			       zt_wb_kind_name(bit));
		else if (err)
			zd_log(ZD_ERR, "%s: writeback %s: %s", s->name, zt_wb_kind_name(bit),
			       zg_strerror(&dev->err, msg, sizeof(msg)));
	}
	if (zg_read_stats(dev, &b) || !b.bd.present)
		return;
	s->maint.wb_pages += b.bd.bd_writes - a.bd.bd_writes;
	zd_log(ZD_INFO, "%s: wrote back %llu pages (bd_stat: %llu on the backing device, "
	       "%llu written since built)", s->name,
	       (unsigned long long)(b.bd.bd_writes - a.bd.bd_writes),
	       (unsigned long long)b.bd.bd_count, (unsigned long long)s->maint.wb_pages);
}

static void recompress(struct zd_stack *s, struct zg_dev *dev)
{
	struct zg_stats a, b;
	char msg[512];

	if (zg_read_stats(dev, &a))
		return;
	if (zg_recompress_pages(dev, "idle", s->zswap.maint.recomp_threshold, 0)) {
		zd_log(ZD_ERR, "%s: recompress: %s", s->name,
		       zg_strerror(&dev->err, msg, sizeof(msg)));
		return;
	}
	s->maint.recompressions++;
	if (zg_read_stats(dev, &b) == 0)
		zd_log(ZD_INFO, "%s: recompressed idle pages with %s: compressed data %llu -> "
		       "%llu bytes", s->name, s->zswap.maint.recomp_algorithm,
		       (unsigned long long)a.mm.compr_data_size,
		       (unsigned long long)b.mm.compr_data_size);
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
	const struct zt_maint *m = &s->zswap.maint;

	if (s->maint.can_wb && !mark_aged(s, dev, m->wb_idle_age, mono, susp))
		writeback(s, dev);
	if (s->maint.can_recomp && !mark_aged(s, dev, m->recomp_idle_age, mono, susp))
		recompress(s, dev);
}

static void mark_all(struct zd_stack *s, struct zg_dev *dev, long long mono)
{
	char msg[512];

	if (zg_mark_idle(dev, "all")) {
		zd_log(ZD_ERR, "%s: idle marking: %s", s->name, zg_strerror(&dev->err, msg, sizeof(msg)));
		return;
	}
	s->maint.mark_ms = mono;
	s->maint.recompressed = false;
	zd_log(ZD_INFO, "%s: marked every page idle; pages not read meanwhile are acted on "
	       "after their idle age", s->name);
}

/* Without ages: act on what stayed idle since the epoch's mark.  A
 * recompressed page loses its idle mark, so it waits for the next epoch's
 * writeback (it is smaller now: the cheaper one to keep). */
static void pass_epoch(struct zd_stack *s, struct zg_dev *dev, long long mono)
{
	const struct zt_maint *m = &s->zswap.maint;
	long long age = s->maint.mark_ms ? (mono - s->maint.mark_ms) / 1000 : -1;
	bool wb_due = s->maint.can_wb && age >= m->wb_idle_age;

	if (age < 0)
		return mark_all(s, dev, mono);
	if (s->maint.can_recomp && !s->maint.recompressed && age >= m->recomp_idle_age) {
		recompress(s, dev);
		s->maint.recompressed = true;
	}
	if (wb_due)
		writeback(s, dev);
	if (wb_due || (!s->maint.can_wb && s->maint.recompressed))
		mark_all(s, dev, mono);
}

static bool maintained(const struct zd_stack *s)
{
	return s->kind == ZD_KIND_ZRAM && s->state == ZD_ST_UP && s->zram_id >= 0 &&
	       (s->maint.can_wb || s->maint.can_recomp || !s->maint.probed);
}

/* Is s due: by its interval, or by pressure after the backoff? */
static bool due(const struct zd_stack *s, long long mono, double psi)
{
	const struct zt_maint *m = &s->zswap.maint;
	long long since = mono - s->maint.last_ms;

	return since >= m->interval * 1000LL ||
	       (m->pressure && psi >= m->pressure && since >= m->backoff * 1000LL);
}

static void pass(struct zd_stack *s, long long mono, double psi)
{
	long long susp = clock_ms(CLOCK_BOOTTIME) - mono;
	struct zg_dev dev;
	char msg[512];

	if (zg_attach(&dev, s->zram_id)) {
		zd_log(ZD_ERR, "%s: maintenance: %s", s->name, zg_strerror(&dev.err, msg, sizeof(msg)));
		return;
	}
	if (!s->maint.probed)
		probe(s, &dev);
	if (!s->maint.can_wb && !s->maint.can_recomp)
		return;                       /* said at probe / creation */
	if (s->zswap.maint.pressure && psi >= s->zswap.maint.pressure)
		zd_log(ZD_INFO, "%s: maintenance early: memory pressure %.1f%%", s->name, psi);
	if (s->maint.aged_idle)
		pass_aged(s, &dev, mono, susp);
	else
		pass_epoch(s, &dev, mono);
	zd_maint_sample(&s->maint, mono, susp);
	s->maint.last_ms = mono;
}

void zd_maint_run(struct zd_daemon *d)
{
	long long mono = clock_ms(CLOCK_MONOTONIC);
	double psi = psi_now();

	for (unsigned i = 0; i < d->nstacks; i++)
		if (maintained(&d->stacks[i]) && due(&d->stacks[i], mono, psi))
			pass(&d->stacks[i], mono, psi);
}

void zd_maint_schedule(struct zd_daemon *d)
{
	long long next = 0;

	for (unsigned i = 0; i < d->nstacks; i++) {
		const struct zd_stack *s = &d->stacks[i];
		const struct zt_maint *m = &s->zswap.maint;
		if (!maintained(s))
			continue;
		/* with a pressure trigger, look at PSI every backoff */
		long long at = s->maint.last_ms + 1000LL * (m->pressure ? m->backoff : m->interval);
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
	left = d->maint_due - clock_ms(CLOCK_MONOTONIC);
	return left <= 0 ? 0 : left > 3600000 ? 3600000 : (int)left;
}
