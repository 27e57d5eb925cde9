/*
 * t_maint.c — the maintenance schedule's pure parts (daemon_maint.c): the
 * time suspended within an idle age, from the passes' samples; the
 * maintenance fields of a status line (daemon_maint_show.c).
 */
#include "tests/tap.h"
#include "manager/daemon_log.c"
#include "manager/daemon_maint.c"
#include "manager/daemon_maint_pass.c"
#include "manager/daemon_maint_show.c"
#include "manager/daemon_maint_tier.c"

static void status_fields(void)
{
	static struct zd_stack s = { .kind = ZD_KIND_ZRAM, .state = ZD_ST_UP, .zram_id = -1 };
	char buf[512];

	zt_maint_default(&s.zswap.maint);
	zd_maint_status(&s, buf, sizeof(buf));
	is_str(buf, "", "no writeback device nor second algorithm: no fields");
	strcpy(s.zswap.maint.writeback_device, "/dev/loop0");
	zd_maint_status(&s, buf, sizeof(buf));
	is_str(buf, "\t-\t-\t-\t-\t-\t-\t-\t-\t-", "configured, not built: nine fields, all unknown");
	s.zram_id = 3;
	s.maint = (struct zd_maint){ .probed = true, .can_wb = true, .wb_built = true,
				     .last_wall = 1700000000, .last_ms = zd_maint_clock(CLOCK_MONOTONIC),
				     .idle_marked = -1, .wb_pages = 300, .wb_today = 100,
				     .day_ms = 1, .budget_left = 924 };
	strcpy(s.maint.note, "no idle ages (CONFIG_ZRAM_TRACK_ENTRY_ACTIME)");
	zd_maint_status(&s, buf, sizeof(buf));
	long long next = 0;
	char tail[256];
	ok(sscanf(buf, "\t1700000000\t%lld\t%255[^\n]", &next, tail) == 2, "last pass as given");
	long long want = time(NULL) + s.zswap.maint.interval;
	ok(next >= want - 1 && next <= want, "next pass one interval on (wall clock)");
	is_str(tail, "-\t300\t100\t924\t-\t-\tno idle ages (CONFIG_ZRAM_TRACK_ENTRY_ACTIME)",
	       "idle by age not counted; written back, today, left; no recompression; the note");
}

int main(void)
{
	struct zd_maint m = { 0 };

	ok(zd_maint_discount(&m, 1000, 500, 100) == 0, "no samples: nothing known, no discount");
	/* passes every 10 s (monotonic ms); a 60 s suspend between 30 s and 40 s */
	for (long long t = 0; t <= 100000; t += 10000)
		zd_maint_sample(&m, t, t >= 40000 ? 60000 : 0);
	ok(zd_maint_discount(&m, 100000, 60000, 20000) == 0, "age 20 s: the suspend is older");
	ok(zd_maint_discount(&m, 100000, 60000, 70000) == 60000, "age 70 s: it counts 60 s");
	ok(zd_maint_discount(&m, 100000, 60000, 500000) == 60000, "older than the samples: all");
	for (int i = 0; i < 40; i++)
		zd_maint_sample(&m, 200000 + i, 60000);
	is_int(m.nsusp, ZD_SUSP_SAMPLES, "the ring keeps the newest samples");
	ok(m.susp_mono[ZD_SUSP_SAMPLES - 1] == 200039, "newest last");
	ok(zd_maint_discount(&m, 300000, 60000, 1000) == 0, "nothing suspended lately");
	status_fields();
	return tap_done();
}
