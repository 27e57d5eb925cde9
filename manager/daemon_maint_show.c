/*
 * daemon_maint_show.c — what `ztierctl status` and the metrics get of the
 * maintenance of a zram swap, or of a ztier device's zram tier (on the
 * ublk device's row): nine tab-separated fields after the stack's
 * eight (cli_rows.c reads them; an older ztierctl stops at eight):
 *
 *   last-pass next-pass idle-marked wb-pages wb-today budget-left
 *   recompress-passes recompress-saved lacks
 *
 * Times are wall-clock seconds (the loop shows them as they were when the
 * snapshot was published); pages are 4 KiB; "-" is what was not measured.
 * A stack with neither writeback nor recompression configured gets none.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "manager/daemon.h"

static bool configured(const struct zt_maint *m)
{
	return (m->writeback_device[0] && m->wb_idle_age) ||
	       (m->recomp_algorithm[0] && m->recomp_idle_age);
}

/* n as text, or "-" when negative (not measured). */
static const char *num(int64_t n, char *buf, size_t len)
{
	if (n < 0)
		return "-";
	snprintf(buf, len, "%" PRId64, n);
	return buf;
}

/* When s's next pass comes by its interval, as wall-clock seconds. */
static int64_t next_wall(const struct zd_stack *s)
{
	long long mono = zd_maint_clock(CLOCK_MONOTONIC);

	if (!zd_maint_active(s))
		return -1;
	return (int64_t)time(NULL) + (zd_maint_next(s, false) - mono) / 1000;
}

void zd_maint_status(const struct zd_stack *s, char *buf, size_t len)
{
	const struct zd_maint *m = &s->maint;
	char a[24], b[24], c[24], e[24], f[24], g[24], h[24], i[24];
	bool up = zd_maint_up(s);

	buf[0] = '\0';
	if (!zd_maint_keys(s) || !configured(zd_maint_keys(s)) ||
	    (s->kind == ZD_KIND_ZTIER && !zd_maint_tier_wanted(s)))
		return;
	snprintf(buf, len, "\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s",
		 num(m->last_wall ? (int64_t)m->last_wall : -1, a, sizeof(a)),
		 num(up ? next_wall(s) : -1, b, sizeof(b)),
		 num(up ? m->idle_marked : -1, c, sizeof(c)),
		 num(up && m->wb_built ? (int64_t)m->wb_pages : -1, e, sizeof(e)),
		 num(up && m->day_ms ? (int64_t)m->wb_today : -1, f, sizeof(f)),
		 num(up ? m->budget_left : -1, g, sizeof(g)),
		 num(up && m->recomp_built ? (int64_t)m->recompressions : -1, h, sizeof(h)),
		 num(up && m->recomp_built ? (int64_t)m->recomp_saved : -1, i, sizeof(i)),
		 m->note[0] ? m->note : "-");
}
