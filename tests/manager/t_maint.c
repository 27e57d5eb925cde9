/*
 * t_maint.c — the maintenance schedule's pure parts (daemon_maint.c): the
 * time suspended within an idle age, from the passes' samples.
 */
#include "tests/tap.h"
#include "manager/daemon_log.c"
#include "manager/daemon_maint.c"

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
	return tap_done();
}
