/*
 * daemon_maint.c — keeping plain zram swap (and a ztier device's zram tier:
 * daemon_maint_tier.c) healthy over time.
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
 *
 * This file builds what maintenance needs (the backing device through
 * dm-crypt, the secondary algorithm) and keeps the suspend samples; the
 * passes are daemon_maint_pass.c, live reload and the status counters
 * daemon_maint_live.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "build/paths.h"
#include "manager/daemon.h"
#include "policy/common/common.h"
#include "ublk/ztublk.h"
#include "zramctl-glue/zramctl_glue.h"

long long zd_maint_clock(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
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
void zd_maint_lacks(struct zd_stack *s, const char *what, const char *why)
{
	size_t n = strlen(s->maint.note);

	zd_log(ZD_WARN, "%s: maintenance: %s%s%s", s->name, what, why ? ": " : "", why ? why : "");
	snprintf(s->maint.note + n, sizeof(s->maint.note) - n, "%s%s", n ? "; " : "", what);
}

/* zg_create_optional's report: a backing device or secondary algorithm
 * the kernel refuses is dropped and said. */
static void refused(void *ctx, const struct zg_err *err)
{
	bool wb = !strcmp(err->attr, "backing_dev");
	char why[512];

	zd_maint_lacks(ctx, wb ? "no writeback" : "no recompression",
		       zg_strerror(err, why, sizeof(why)));
}

/* Both block devices, the same one (a by-id link and its node, say)? */
bool zd_same_blockdev(const char *a, const char *b)
{
	struct stat sa, sb;

	return a[0] && b[0] && !stat(a, &sa) && !stat(b, &sb) && S_ISBLK(sa.st_mode) &&
	       S_ISBLK(sb.st_mode) && sa.st_rdev == sb.st_rdev;
}

/* zram writes back only to a block device, and never to the ztier
 * device's own spill (the policy refuses the same path; this is the same
 * disk under another name): its slots are the spill's. */
static bool backing_usable(struct zd_stack *s, const char *path)
{
	struct stat st;
	char why[ZT_PATH_MAX + 64];
	const char *bad = NULL;

	if (stat(path, &st))
		bad = strerror(errno);
	else if (!S_ISBLK(st.st_mode))
		bad = "not a block device";
	else if (s->kind == ZD_KIND_ZTIER && zd_same_blockdev(path, s->spill))
		bad = "the same disk as this device's spill";
	if (!bad)
		return true;
	snprintf(why, sizeof(why), "writeback-device %.200s: %s", path, bad);
	zd_maint_lacks(s, "no writeback", why);
	return false;
}

/* The backing device is used through dm-crypt with a key of this setup,
 * like a spill (issue #13): written-back pages are process memory too.
 * A mapping that cannot be made leaves the swap without writeback. */
static void crypt_backing(struct zd_stack *s, struct zg_spec *spec)
{
	char msg[256], mapped[96];
	int fd = open(spec->backing_dev, O_RDWR | O_CLOEXEC), err;

	if (fd < 0) {
		zd_maint_lacks(s, "no writeback", strerror(errno));
		spec->backing_dev[0] = '\0';
		return;
	}
	s->maint.crypt_id = ztu_crypt_id_of(fd);
	err = ztu_crypt_setup(fd, false, mapped, sizeof(mapped), msg, sizeof(msg));
	close(fd);
	if (err) {
		zd_maint_lacks(s, "no writeback (no dm-crypt mapping for its device)", msg);
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

/* A new device's maintenance: s's counters reset, and spec given what the
 * kernel takes only before disksize (the backing device, through dm-crypt;
 * the secondary algorithm) from m, for zg_create_optional. */
void zd_maint_begin(struct zd_stack *s, const struct zt_maint *m, struct zg_spec *spec)
{
	memset(&s->maint, 0, sizeof(s->maint));
	s->maint.idle_marked = s->maint.budget_left = -1;
	snprintf(spec->backing_dev, sizeof(spec->backing_dev), "%.255s",
		 m->wb_idle_age ? m->writeback_device : "");
	snprintf(spec->recomp_algorithm, sizeof(spec->recomp_algorithm), "%s",
		 m->recomp_idle_age ? m->recomp_algorithm : "");
	if (spec->backing_dev[0] && !backing_usable(s, spec->backing_dev))
		spec->backing_dev[0] = '\0';
	if (spec->backing_dev[0])
		crypt_backing(s, spec);
	s->maint.last_ms = zd_maint_clock(CLOCK_MONOTONIC);
}

/* What spec was made with (the device s maintains). */
void zd_maint_built(struct zd_stack *s, const struct zg_spec *spec)
{
	s->maint.can_wb = s->maint.wb_built = spec->backing_dev[0] != '\0';
	s->maint.can_recomp = s->maint.recomp_built = spec->recomp_algorithm[0] != '\0';
}

/* Create the device (zram_build); what maintenance needs from the kernel
 * but cannot have leaves the swap without that maintenance, not without
 * swap. */
int zd_maint_create(struct zd_stack *s, struct zg_spec *spec, struct zg_dev *dev)
{
	int err;

	zd_maint_begin(s, &s->zswap.maint, spec);
	err = zg_create_optional(dev, spec, refused, s);
	if (err || !spec->backing_dev[0])
		zd_maint_destroyed(s);        /* no zram device holds the mapping */
	if (err)
		spec->backing_dev[0] = spec->recomp_algorithm[0] = '\0';
	zd_maint_built(s, spec);
	return err;
}
