/*
 * daemon_stack.c — build and tear down one stack, step by step.
 *
 * A stack is either a plain zram swap device ([zram-swap NAME] in ztier.conf)
 * or a ztier ublk device (one policy).  Steps, in order:
 *
 *   zram:  zg_create (module, hot_add, algorithm, params, disksize,
 *          mem_limit; undone by itself on failure) -> mkswap -> swapon
 *   ztier: spill present? (else WAITING) -> server (fork, LIVE)
 *          -> mkswap + swapon | mkfs + mount | nothing
 *
 * Each step records what it built in the stack, so that a failure undoes
 * exactly the steps before it (zd_stack_down works on any partial stack)
 * and teardown is the same code run in reverse.  Each event is one log line
 * "NAME: step: reason".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include "manager/daemon.h"
#include "zramctl-glue/zramctl_glue.h"
#include "ublk/ztublk.h"

const char *zd_state_name(enum zd_state s)
{
	static const char *const names[] = {
		[ZD_ST_DOWN] = "down", [ZD_ST_WAITING] = "waiting", [ZD_ST_UP] = "up",
		[ZD_ST_DEGRADED] = "degraded", [ZD_ST_FAILED] = "failed",
	};
	return s <= ZD_ST_FAILED ? names[s] : "?";
}

const char *zd_kind_name(enum zd_kind k)
{
	return k == ZD_KIND_ZRAM ? "zram" : "ztier";
}

/* A spill the policy keeps in plaintext (encrypt = no): said in status. */
static bool spill_plain(const struct zd_stack *s)
{
	return s->spill[0] && s->policy && !s->policy->spill.encrypt;
}

/* The status note of a stack that has nothing wrong: a pending policy, the
 * recoveries of its server (v: daemon_supervise.c), a plaintext spill, or
 * "-". */
static const char *status_note(const struct zd_stack *s, const struct zd_super_view *v,
			       char *buf, size_t len)
{
	const char *plain = spill_plain(s) ? "spill in plaintext (encrypt = no)" : "-";
	struct tm tm;

	if (s->has_pending)
		return "reloaded policy pending: down + up applies it";
	if (s->kind == ZD_KIND_ZRAM && s->maint.note[0])
		return s->maint.note;     /* a ztier's: its maintenance fields */
	if (!v->recoveries || !localtime_r(&v->last_recovery, &tm))
		return plain;
	snprintf(buf, len, "server recovered %u time(s), last at %02d:%02d:%02d%s%s", v->recoveries,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, spill_plain(s) ? "; " : "",
		 spill_plain(s) ? plain : "");
	return buf;
}

void zd_stack_status(const struct zd_stack *s, char *buf, size_t len)
{
	/* what is in force: a reload does not change a built stack */
	int prio = s->swap_on ? s->prio : s->kind == ZD_KIND_ZRAM ? s->zswap.priority
		   : s->policy ? s->policy->use.priority : -1;
	struct zd_super_view v = { .pid = s->server_pid, .recoveries = s->recoveries,
				   .last_recovery = s->last_recovery };
	bool gave_up = zd_supervise_view(s, &v) && v.gave_up;
	char note[128];

	snprintf(buf, len, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s", s->name, zd_kind_name(s->kind),
		 s->busy == ZD_STARTING ? "starting" : s->busy == ZD_STOPPING ? "stopping" :
		 gave_up ? "degraded" : zd_state_name(s->state), s->dev[0] ? s->dev : "-",
		 s->spill[0] ? s->spill : "-", prio, (int)v.pid,
		 gave_up ? v.reason : s->reason[0] ? s->reason : status_note(s, &v, note, sizeof(note)));
}

/* Record a failed step: log it, keep the reason for status. */
static int step_failed(struct zd_stack *s, const char *step, int err, const char *why)
{
	snprintf(s->reason, sizeof(s->reason), "%s: %s", step,
		 why && why[0] ? why : strerror(-err));
	zd_log(ZD_ERR, "%s: %s failed: %s", s->name, step, why && why[0] ? why : strerror(-err));
	return err;
}

/* ---- the zram device ------------------------------------------------------- */

static int zram_build(struct zd_stack *s)
{
	const struct zd_zswap *z = &s->zswap;
	struct zg_dev dev;
	struct zg_spec spec;
	char msg[512];
	int err;

	ztu_zram_resolve(&z->zram, zt_ram_bytes(), &spec);
	if (!spec.disksize) {
		char size[ZT_SIZE_EXPR_MAX];
		snprintf(msg, sizeof(msg), "size %s is less than a page on this machine",
			 zt_size_format(&z->zram.size, size, sizeof(size)));
		return step_failed(s, "zram", -EINVAL, msg);
	}
	if ((err = zd_maint_create(s, &spec, &dev))) {
		/* no device made: the zram module could not be had */
		s->unavailable = dev.id < 0 && (err == -ENOPKG || err == -ENOENT);
		return step_failed(s, "zram", err, zg_strerror(&dev.err, msg, sizeof(msg)));
	}
	s->zram_id = dev.id;
	zg_node_path(&dev, s->dev, sizeof(s->dev));
	zd_log(ZD_INFO, "%s: %s: %llu bytes, algorithm %s", s->name, s->dev,
	       (unsigned long long)spec.disksize,
	       spec.algorithm[0] ? spec.algorithm : "(kernel default)");
	return 0;
}

static int zram_destroy(struct zd_stack *s)
{
	struct zg_dev dev = { .id = -1 };   /* zeroed: busy_timeout_ms = default */
	char msg[512];
	int err;

	if (s->zram_id < 0)
		return 0;
	if ((err = zg_attach(&dev, s->zram_id)) == 0)
		err = zg_destroy(&dev);
	if (err && err != -ENOENT && err != -ENODEV) {
		snprintf(s->reason, sizeof(s->reason), "removing zram%d: %s", s->zram_id,
			 zg_strerror(&dev.err, msg, sizeof(msg)));
		zd_log(ZD_ERR, "%s: %s", s->name, s->reason);
		return err;
	}
	zd_maint_destroyed(s);            /* its backing device's mapping */
	zd_log(ZD_INFO, "%s: zram%d removed", s->name, s->zram_id);
	s->zram_id = -1;
	return 0;
}

/* ---- swap / fs on top -------------------------------------------------------- */

/* Said before swapon: an admin trying ztier sees what it is about to take,
 * with the disk's size as the kernel has it (sysfs, 512-byte sectors). */
static void announce_swap(const struct zd_stack *s, int prio)
{
	const char *base = strrchr(s->dev, '/');
	unsigned long long sectors = 0;
	char path[128], size[40] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/block/%s/size", base ? base + 1 : s->dev);
	if ((f = fopen(path, "re"))) {
		if (fscanf(f, "%llu", &sectors) == 1 && sectors)
			snprintf(size, sizeof(size), ", %llu MiB", sectors >> 11);
		fclose(f);
	}
	zd_log(ZD_INFO, "%s: turning swap on: %s%s, priority %d", s->name, s->dev, size, prio);
}

static int use_build(struct zd_stack *s, enum zt_use use, int prio, bool discard,
		     const char *fs_type, const char *mnt)
{
	char label[ZT_NAME_MAX + 8];
	int err;

	if (use == ZT_USE_FS) {
		if ((err = zd_mkfs_mount(s->dev, fs_type, mnt)))
			return step_failed(s, "mkfs+mount", err, NULL);
		s->mounted = true;
		snprintf(s->mnt, sizeof(s->mnt), "%s", mnt);
		zd_log(ZD_INFO, "%s: %s mounted on %s (%s)", s->name, s->dev, mnt, fs_type);
		return 0;
	}
	if (use != ZT_USE_SWAP)
		return 0;
	snprintf(label, sizeof(label), "ztier-%.40s", s->name);
	announce_swap(s, prio);
	if ((err = zd_mkswap(s->dev, label)))
		return step_failed(s, "mkswap", err, NULL);
	if ((err = zd_swapon(s->dev, prio, discard)))
		return step_failed(s, "swapon", err, NULL);
	s->swap_on = true;
	s->prio = prio;
	s->rdev = zd_rdev(s->dev);
	zd_log(ZD_INFO, "%s: swap on %s, priority %d%s", s->name, s->dev, prio,
	       discard ? ", discard" : "");
	return 0;
}

static int use_destroy(struct zd_stack *s)
{
	int err;

	if (s->swap_on) {
		err = zd_swapoff(s->dev, s->rdev);
		if (err == -EINVAL) {
			zd_log(ZD_WARN, "%s: %s was no longer swap (%s)", s->name, s->dev,
			       strerror(-err));
			err = 0;
		}
		if (err) {
			snprintf(s->reason, sizeof(s->reason), "swapoff %s: %s%s", s->dev,
				 strerror(-err), err == -ENOMEM ?
				 " (no room in RAM or other swap for its pages)" :
				 err == -ENXIO || err == -ENODEV ?
				 " (the kernel deleted the disk when its server died: this swap "
				 "area cannot be turned off until reboot)" : "");
			zd_log(ZD_ERR, "%s: %s", s->name, s->reason);
			return err == -ENOMEM ? -EBUSY : err;
		}
		s->swap_on = false;
		zd_log(ZD_INFO, "%s: swap off %s", s->name, s->dev);
	}
	if (s->mounted) {
		if ((err = zd_umount(s->mnt))) {       /* where it was mounted */
			snprintf(s->reason, sizeof(s->reason), "umount %.200s: %s", s->mnt,
				 strerror(-err));
			zd_log(ZD_ERR, "%s: %s", s->name, s->reason);
			return err;
		}
		s->mounted = false;
		s->mnt[0] = '\0';
	}
	return 0;
}

/* ---- the ztier device --------------------------------------------------------- */

/* The server never creates a device target (ztu_path_is_device): absent,
 * the stack waits for udev rather than fail. */
static bool spill_missing(const struct zd_stack *s)
{
	struct stat st;

	return s->spill[0] && ztu_path_is_device(s->spill) && stat(s->spill, &st) != 0;
}

static int ztier_build(struct zd_daemon *d, struct zd_stack *s)
{
	char why[ZTU_MSG_MAX];
	int err;

	if (!d->have_ublk) {
		s->unavailable = true;
		snprintf(s->reason, sizeof(s->reason), "no ublk_drv in this kernel");
		return -ENODEV;
	}
	if (spill_missing(s)) {
		s->state = ZD_ST_WAITING;
		snprintf(s->reason, sizeof(s->reason), "waiting for spill %.200s", s->spill);
		zd_log(ZD_INFO, "%s: %s", s->name, s->reason);
		return 0;
	}
	why[0] = '\0';
	if ((err = zd_server_start(d, s, why, sizeof(why)))) {
		if (s->pidfd >= 0)
			zd_watch_pidfd(d, s);     /* a server that would not die */
		return step_failed(s, "ublk server", err, why);
	}
	zd_watch_pidfd(d, s);
	zd_log(ZD_INFO, "%s: %s live, server pid %d, policy %s%s%s", s->name, s->dev,
	       (int)s->server_pid, s->policy->source, s->spill[0] ? ", spill " : "", s->spill);
	return 0;
}

/* ---- up / down ------------------------------------------------------------------ */

/* The step a job is in, for the snapshot status shows (daemon_snap.c);
 * returns the one before (an undo inside a build nests). */
static enum zd_busy set_busy(struct zd_daemon *d, struct zd_stack *s, enum zd_busy b)
{
	enum zd_busy old = s->busy;

	s->busy = b;
	zd_publish(d);
	return old;
}

static int stack_down(struct zd_stack *s)
{
	int err;

	if ((err = use_destroy(s)))
		return err;
	if (s->kind == ZD_KIND_ZTIER && (s->ublk_id >= 0 || s->server_pid > 0)) {
		if ((err = zd_server_stop(s))) {
			snprintf(s->reason, sizeof(s->reason), "stopping %s (server pid %d): %s",
				 s->dev[0] ? s->dev : "its server", (int)s->server_pid,
				 strerror(-err));
			zd_log(ZD_ERR, "%s: %s", s->name, s->reason);
			return err;
		}
		zd_log(ZD_INFO, "%s: %s stopped", s->name, s->dev);
	}
	if (s->kind == ZD_KIND_ZTIER)
		zd_maint_destroyed(s);    /* its zram tier's backing mapping */
	if ((err = zram_destroy(s)))
		return err;
	s->dev[0] = '\0';
	if (s->state != ZD_ST_FAILED)
		s->state = ZD_ST_DOWN;
	return 0;
}

int zd_stack_down(struct zd_daemon *d, struct zd_stack *s)
{
	enum zd_busy old = set_busy(d, s, ZD_STOPPING);
	int err = stack_down(s);

	set_busy(d, s, old);
	return err;
}

/* Anything of an earlier build still there?  Building over it would leak
 * it (ids, pidfd and device name are overwritten). */
static bool leftovers(const struct zd_stack *s)
{
	return s->zram_id >= 0 || s->ublk_id >= 0 || s->server_pid > 0 || s->pidfd >= 0 ||
	       s->swap_on || s->mounted;
}

static int build(struct zd_daemon *d, struct zd_stack *s)
{
	int err;

	if (leftovers(s))
		return step_failed(s, "build", -EBUSY, "cleanup pending: an earlier build "
				   "is not fully undone ('ztierctl down' retries)");
	if (s->kind == ZD_KIND_ZRAM) {
		if ((err = zd_adopt(d, s)) != -ENOENT)
			return err;           /* adopted, swap on: nothing to build */
		if ((err = zram_build(s)))
			return err;
		return use_build(s, ZT_USE_SWAP, s->zswap.priority, s->zswap.discard, NULL, NULL);
	}
	/* A device an earlier ztierd left serving this stack: taken over. */
	err = zd_adopt(d, s);
	if (err && err != -ENOENT)
		return err;
	if (err && ((err = ztier_build(d, s)) || s->state == ZD_ST_WAITING))
		return err;
	if (s->swap_on || s->mounted)
		return 0;                 /* adopted with its swap on, or mounted */
	const struct zt_policy *p = s->policy;
	return use_build(s, p->use.use, p->use.priority, p->use.discard, p->use.fs_type,
			 p->use.mount_point);
}

/* A policy reloaded while the stack was built takes effect now. */
static void apply_pending(struct zd_stack *s)
{
	if (!s->has_pending)
		return;
	free(s->policy);
	s->policy = s->pending;
	s->pending = NULL;
	s->has_pending = false;
	if (s->policy) {
		zt_spill_path(s->policy, s->spill, sizeof(s->spill));
		zd_log(ZD_INFO, "%s: the reloaded policy is now in force", s->name);
	} else {
		s->spill[0] = '\0';
		s->state = ZD_ST_FAILED;
		snprintf(s->reason, sizeof(s->reason), "%s", s->pending_reason);
	}
}

/* The undo failed: what is left stays recorded in the stack, which is
 * degraded until 'ztierctl down NAME' manages to remove it; it is never
 * built again on top of it. */
static int cleanup_pending(struct zd_stack *s, const char *what, int err)
{
	char undo[sizeof(s->reason)];

	memcpy(undo, s->reason, sizeof(undo));
	snprintf(s->reason, sizeof(s->reason), "%.100s; cleanup pending: %.120s", what, undo);
	zd_log(ZD_ERR, "%s: %s", s->name, s->reason);
	s->state = ZD_ST_DEGRADED;
	return err;
}

static int stack_up(struct zd_daemon *d, struct zd_stack *s)
{
	int err;

	if (s->state == ZD_ST_UP || s->state == ZD_ST_DEGRADED)
		return 0;
	apply_pending(s);
	if (s->kind == ZD_KIND_ZTIER && !s->policy)
		return -EINVAL;           /* invalid policy: reason already set */
	/* A FAILED stack may hold what a failed undo left: try again first. */
	if (leftovers(s) && (err = zd_stack_down(d, s)))
		return cleanup_pending(s, "not built again", err);
	s->state = ZD_ST_DOWN;
	s->reason[0] = '\0';
	s->unavailable = false;
	err = build(d, s);
	if (s->state == ZD_ST_WAITING)
		return 0;
	if (err) {
		char reason[sizeof(s->reason)];
		memcpy(reason, s->reason, sizeof(reason));
		if (zd_stack_down(d, s))  /* undo the steps that were done */
			return cleanup_pending(s, reason, err);
		memcpy(s->reason, reason, sizeof(reason));
		s->state = ZD_ST_FAILED;
		return err;
	}
	s->state = ZD_ST_UP;
	return 0;
}

int zd_stack_up(struct zd_daemon *d, struct zd_stack *s)
{
	if (s->state == ZD_ST_UP || s->state == ZD_ST_DEGRADED)
		return 0;

	enum zd_busy old = set_busy(d, s, ZD_STARTING);
	int err = stack_up(d, s);

	set_busy(d, s, old);
	return err;
}
