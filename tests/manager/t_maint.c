/*
 * t_maint.c — the maintenance schedule's pure parts (daemon_maint.c): the
 * time suspended within an idle age, from the passes' samples; the
 * maintenance fields of a status line (daemon_maint_show.c); a ztier
 * stack's zram tier: found from what its server publishes, its status
 * fields, the same-disk check of its writeback device (daemon_maint_tier.c).
 */
#include <sys/stat.h>

#include "tests/tap.h"
#include "zramctl-glue/zramctl_glue.h"
#include "ublk/srv.h"             /* before daemon_log.c's statics */
#include "ublk/stats.h"
#include "ublk/tier_zram.h"
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

#define FAKE_ID 4093              /* a ublk id no test VM reaches */

/* The tier's zram device is the one the server's stats file names. */
static void tier_device(void)
{
	static struct zt_policy p;
	static struct zd_stack s = { .kind = ZD_KIND_ZTIER, .state = ZD_ST_UP,
				     .zram_id = -1, .ublk_id = FAKE_ID };
	char buf[512];
	int err;
	struct ztu_stats_shm *shm;

	is_int(zd_zram_id_of("zram12"), 12, "zram12 is 12");
	is_int(zd_zram_id_of("zram"), -1, "no number");
	is_int(zd_zram_id_of("zram1x"), -1, "trailing junk");
	is_int(zd_zram_id_of("ublkb3"), -1, "not a zram device");
	zt_policy_default(&p);
	s.policy = &p;
	strcpy(p.maint.writeback_device, "/dev/loop7");
	zd_maint_status(&s, buf, sizeof(buf));
	is_str(buf, "", "no class goes to zram: no maintenance fields");
	p.rule[ZT_CLASS_TEXT].tier = ZT_TIER_ZRAM;
	ok(zd_maint_tier_wanted(&s) && zd_maint_up(&s), "text goes to zram, served: up");
	ok(zd_maint_keys(&s) == &p.maint, "kept with the policy's [maintenance]");
	if (!(shm = ztu_stats_create(FAKE_ID, &err))) {
		tap_diag("no stats file (%s): the tier's device not looked up", strerror(-err));
		return;
	}
	is_int(zd_maint_zram(&s), -1, "nothing published yet: none");
	ztu_ctr_set(&((struct ztu_tiered_stats *)shm->tgt)->zram_id1, 3999 + 1);
	snprintf(shm->target, sizeof(shm->target), "tiered");
	is_int(zd_maint_zram(&s), 3999, "the zram device the server owns");
	s.maint = (struct zd_maint){ .wb_built = true, .can_wb = true, .idle_marked = -1,
				     .budget_left = -1, .wb_pages = 7 };
	zd_maint_status(&s, buf, sizeof(buf));
	ok(!strncmp(buf, "\t-\t", 3) && strstr(buf, "\t7\t-\t-\t-\t-\t-"),
	   "its nine fields: %s", buf);
	ztu_stats_remove(FAKE_ID, shm);
	s.ublk_id = -1;
	is_int(zd_maint_zram(&s), -1, "no server: none");
}

/* A last pass long enough ago that the next is due now.  (0 was not: the
 * clock is the time since boot, and a machine up for less than one
 * interval skipped the pass.) */
static long long due_now(const struct zt_policy *p)
{
	return zd_maint_clock(CLOCK_MONOTONIC) - p->maint.interval * 1000LL - 1;
}

/* A pass over a ztier stack's tier on the host's real zram (root): the
 * device found from the stats file, what the kernel lacks said once (this
 * host: no CONFIG_ZRAM_WRITEBACK, so the tier holds no backing device). */
static void tier_pass(void)
{
	static struct zd_daemon d;
	static struct zt_policy p;
	struct zd_stack *s = &d.stacks[0];
	struct zg_spec spec = { .disksize = 16u << 20 };
	struct zg_dev dev;
	struct ztu_stats_shm *shm;
	char bd[256];
	int err;

	if (geteuid() || zg_create(&dev, &spec)) {
		tap_diag("no zram device of our own: the tier's pass not tested");
		return;
	}
	if (!zg_backing_dev(&dev, bd, sizeof(bd)) || !(shm = ztu_stats_create(FAKE_ID, &err))) {
		tap_diag("this kernel has writeback (or no stats file): not tested here (VM)");
		zg_destroy(&dev);
		return;
	}
	ztu_ctr_set(&((struct ztu_tiered_stats *)shm->tgt)->zram_id1, dev.id + 1);
	snprintf(shm->target, sizeof(shm->target), "tiered");
	zt_policy_default(&p);
	p.rule[ZT_CLASS_TEXT].tier = ZT_TIER_ZRAM;
	strcpy(p.maint.writeback_device, "/dev/loop7");
	p.maint.wb_idle_age = 10;
	d.nstacks = 1;
	*s = (struct zd_stack){ .kind = ZD_KIND_ZTIER, .state = ZD_ST_UP, .policy = &p,
				.zram_id = -1, .ublk_id = FAKE_ID, .pidfd = -1 };
	strcpy(s->name, "zt");
	s->maint = (struct zd_maint){ .can_wb = true, .wb_built = true, .idle_marked = -1,
				      .budget_left = -1 };
	ok(zd_maint_active(s), "configured with writeback: the job runs for it");
	s->maint.last_ms = due_now(&p);
	zd_maint_run(&d);
	ok(s->maint.probed, "the first pass probed /dev/zram%d, the tier", dev.id);
	is_str(s->maint.note, "no writeback", "what the tier lacks, for status");
	ok(!zd_maint_active(s), "nothing left to do: no more passes");
	s->maint.last_ms = due_now(&p);
	zd_maint_run(&d);
	is_str(s->maint.note, "no writeback", "said once");
	ztu_stats_remove(FAKE_ID, shm);
	zg_destroy(&dev);
}

/* The writeback device and the spill, the same disk under two names. */
static void same_disk(void)
{
	char dir[] = "/tmp/t_maint_link.XXXXXX", link[64];
	struct stat st;

	if (stat("/dev/loop0", &st) || !S_ISBLK(st.st_mode) || !mkdtemp(dir)) {
		tap_diag("no /dev/loop0: same-disk check not tested");
		return;
	}
	snprintf(link, sizeof(link), "%s/wb", dir);
	ok(symlink("/dev/loop0", link) == 0, "a second name for loop0");
	ok(zd_same_blockdev(link, "/dev/loop0"), "the same disk through a link");
	ok(!zd_same_blockdev("/dev/loop0", "/dev/loop1"), "two disks");
	ok(!zd_same_blockdev("/dev/null", "/dev/null"), "not block devices");
	ok(!zd_same_blockdev("/dev/loop0", ""), "no spill");
	unlink(link);
	rmdir(dir);
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
	tier_device();
	tier_pass();
	same_disk();
	return tap_done();
}
