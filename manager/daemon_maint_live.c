/*
 * daemon_maint_live.c — a reload's maintenance keys on a built zram swap,
 * and what status shows of its maintenance.
 *
 * Live: the ages (while the device has what they drive), writeback-pages,
 * writeback-budget (today's writeback_limit is set again: the new budget
 * less what was written since it was granted), recompress-threshold,
 * maintenance-interval, maintenance-backoff and pressure-trigger: the next
 * pass reads them.  Not live: writeback-device and recompress-algorithm
 * (the kernel takes backing_dev and recomp_algorithm only before disksize),
 * nor an age turning on writeback or recompression the device was built
 * without.  Those are said with their FILE:LINE and the old value stays in
 * force until the stack is rebuilt.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "manager/daemon.h"
#include "zramctl-glue/zramctl_glue.h"

static int key_line(const struct zd_zswap *z, const char *key)
{
	for (unsigned i = 0; zt_maint_keys[i] && i < ZD_MAINT_KEYS; i++)
		if (!strcmp(zt_maint_keys[i], key))
			return z->maint_key_line[i] ? z->maint_key_line[i] : z->line;
	return z->line;
}

static void not_live(const struct zd_stack *s, const struct zd_zswap *z, const char *file,
		     const char *key, const char *why)
{
	zd_log(ZD_WARN, "%s:%d: [zram-swap %s] %s: %s; ignored until 'ztierctl down %s; "
	       "ztierctl up %s'", file, key_line(z, key), s->name, key, why, s->name, s->name);
}

/* Today's budget granted again for the new amount (nothing granted yet
 * today: the next pass grants it). */
static void budget_live(struct zd_stack *s, uint64_t bytes)
{
	struct zg_dev dev = { .id = -1 };
	uint64_t pages = bytes / 4096;
	uint64_t left = pages > s->maint.wb_today ? pages - s->maint.wb_today : 0;
	char msg[512];
	int err;

	if (!s->maint.can_wb || !s->maint.day_ms)
		return;
	if ((err = zg_attach(&dev, s->zram_id)) == 0)
		err = bytes ? zg_set_writeback_limit(&dev, left) : zg_writeback_limit_off(&dev);
	if (err) {
		zd_log(ZD_ERR, "%s: writeback budget: %s", s->name,
		       zg_strerror(&dev.err, msg, sizeof(msg)));
		return;
	}
	s->maint.budget_left = bytes ? (int64_t)left : -1;
	s->maint.day_ms = bytes ? s->maint.day_ms : 0;
	if (bytes)
		zd_log(ZD_INFO, "%s: writeback budget %llu pages a day: %llu left today", s->name,
		       (unsigned long long)pages, (unsigned long long)left);
	else
		zd_log(ZD_INFO, "%s: writeback budget off: writeback unbounded", s->name);
}

/* The built-once parts of new (*n) put back to what is in force (*m). */
static void keep_built(const struct zd_stack *s, const struct zd_zswap *z, const char *file,
		       struct zt_maint *n)
{
	const struct zt_maint *m = &s->zswap.maint;

	if (strcmp(n->writeback_device, m->writeback_device))
		not_live(s, z, file, "writeback-device", "the kernel sets backing_dev only "
			 "on a new device");
	if (strcmp(n->recomp_algorithm, m->recomp_algorithm))
		not_live(s, z, file, "recompress-algorithm", "the kernel sets recomp_algorithm "
			 "only on a new device");
	snprintf(n->writeback_device, sizeof(n->writeback_device), "%s", m->writeback_device);
	snprintf(n->recomp_algorithm, sizeof(n->recomp_algorithm), "%s", m->recomp_algorithm);
	if (n->wb_idle_age && !m->wb_idle_age && !s->maint.wb_built) {
		not_live(s, z, file, "writeback-idle-age", "the device was built without writeback");
		n->wb_idle_age = 0;
	}
	if (n->recomp_idle_age && !m->recomp_idle_age && !s->maint.recomp_built) {
		not_live(s, z, file, "recompress-idle-age", "the device was built without "
			 "recompression");
		n->recomp_idle_age = 0;
	}
}

/* "writeback-budget, maintenance-interval": the keys that changed. */
static void changed(const struct zt_maint *a, const struct zt_maint *b, char *buf, size_t len)
{
#define DIFF(f, key) if (a->f != b->f) at += (size_t)snprintf(buf + at, at < len ? len - at : 0, \
							      "%s%s", at ? ", " : "", key)
	size_t at = 0;

	buf[0] = '\0';
	DIFF(wb_idle_age, "writeback-idle-age"); DIFF(wb_pages, "writeback-pages");
	DIFF(wb_budget, "writeback-budget"); DIFF(recomp_idle_age, "recompress-idle-age");
	DIFF(recomp_threshold, "recompress-threshold"); DIFF(interval, "maintenance-interval");
	DIFF(backoff, "maintenance-backoff"); DIFF(pressure, "pressure-trigger");
#undef DIFF
}

void zd_maint_reload(struct zd_stack *s, const struct zd_zswap *z, const char *file)
{
	struct zt_maint n = z->maint;
	char keys[256];

	if (s->zram_id < 0)
		return;                       /* not built: taken as it is */
	keep_built(s, z, file, &n);
	changed(&s->zswap.maint, &n, keys, sizeof(keys));
	if (!keys[0])
		return;
	if (n.wb_budget != s->zswap.maint.wb_budget)
		budget_live(s, n.wb_budget);
	s->zswap.maint = n;
	zd_log(ZD_INFO, "%s: maintenance applied live: %s", s->name, keys);
}
