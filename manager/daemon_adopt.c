/*
 * daemon_adopt.c — a ztierd that was killed and started again takes over
 * the devices its predecessor left instead of building new ones.
 *
 * Servers outlive ztierd (their own session), so after a kill -9 of ztierd
 * its swap devices keep serving; a new device for the same stack would be
 * a second swap and would orphan the first one's pages.  A stack's state
 * file (/dev/shm/ztier/STACK.state) and the saved config of the device that
 * uses it (/run/ztier/ublk/ID.config names the state file) find the device;
 * the kernel says whether a server serves it (LIVE, its pid) or it waits
 * (QUIESCED: a server is started to take it over).  The adopted server is
 * not our child: its death is seen on its pidfd (daemon_supervise.c), and
 * init reaps it.  A file system's device is adopted the same way (its
 * state too outlives the server) and stays mounted, or is mounted again.
 * A device that no state leads to (an [fs] stack an older ztierd built
 * without one) is refused instead (daemon_adopt_fs.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/ublk_cmd.h>

#include "manager/daemon.h"
#include "ublk/ztublk.h"

/* Does device id's saved config name the state file arg? */
static bool uses_state(int id, void *arg)
{
	static _Thread_local struct ztu_config cfg;   /* big: off the stack */
	char msg[ZTU_MSG_MAX];

	return ztu_recover_load_config(id, &cfg, msg, sizeof(msg)) == 0 &&
	       !strcmp(cfg.state_path, (const char *)arg);
}

/* Is dev an active swap; its priority in *prio. */
static bool swap_active(const char *dev, int *prio)
{
	FILE *f = fopen("/proc/swaps", "re");
	char name[256], line[512];
	bool on = false;

	if (!f)
		return false;
	while (!on && fgets(line, sizeof(line), f))
		on = sscanf(line, "%255s %*s %*s %*s %d", name, prio) == 2 && !strcmp(name, dev);
	fclose(f);
	return on;
}

/* The device's server: the one serving it, or a new one for a device that
 * waits (its server died with no ztierd to see it). */
static int take_server(struct zd_stack *s, const struct ztu_dev_info *info)
{
	char why[ZTU_MSG_MAX];
	int pidfd = -1;
	pid_t pid = 0;

	if (info->state == UBLK_S_DEV_LIVE && info->pid > 0)
		pidfd = (int)syscall(SYS_pidfd_open, info->pid, 0);
	if (pidfd >= 0) {
		pid = info->pid;
	} else if ((pid = zd_spawn_recovery(s->ublk_id, &pidfd, why, sizeof(why))) < 0) {
		zd_log(ZD_ERR, "%s: %s waits for a server and recovering it failed: %s", s->name,
		       s->dev, why);
		return (int)pid;
	}
	s->server_pid = pid;
	s->pidfd = pidfd;
	return 0;
}

static int step_failed_adopt(struct zd_stack *s, int err)
{
	snprintf(s->reason, sizeof(s->reason), "adopting %s: no server could take it over",
		 s->dev);
	return err;
}

/* The label mkswap gave a swap area (swap header: volume name at 1052). */
static bool swap_label_is(const char *dev, const char *label)
{
	char got[17] = "";
	FILE *f = fopen(dev, "re");
	bool ok = f && fseek(f, 1052, SEEK_SET) == 0 && fread(got, 1, 16, f) == 16;

	if (f)
		fclose(f);
	return ok && !strncmp(got, label, 16);
}

/* A plain zram swap an earlier ztierd left: the active /dev/zramN swap
 * labelled ztier-NAME (daemon_stack.c's mkswap label). */
static int adopt_zram(struct zd_stack *s)
{
	char label[ZT_NAME_MAX + 8], dev[64];
	int prio, id;

	snprintf(label, sizeof(label), "ztier-%.40s", s->name);
	for (id = 0; id < 64; id++) {
		snprintf(dev, sizeof(dev), "/dev/zram%d", id);
		if (swap_active(dev, &prio) && swap_label_is(dev, label))
			break;
	}
	if (id == 64)
		return -ENOENT;
	s->zram_id = id;
	snprintf(s->dev, sizeof(s->dev), "%s", dev);
	s->swap_on = true;
	s->prio = prio;
	s->rdev = zd_rdev(dev);
	zd_log(ZD_INFO, "%s: adopted %s from an earlier ztierd, swap on at priority %d", s->name,
	       dev, prio);
	return 0;
}

/* A swap device's swap, as it is. */
static void adopt_swap(struct zd_stack *s)
{
	int prio = 0;

	if (swap_active(s->dev, &prio)) {
		s->swap_on = true;
		s->prio = prio;
		s->rdev = zd_rdev(s->dev);
	}
}

/* A file system's mount: kept where it is, or mounted again on the
 * policy's mount point (what is on the device is the state's: never a
 * mkfs here). */
static int adopt_mount(struct zd_stack *s)
{
	const struct zt_policy *p = s->policy;
	static _Thread_local char src[ZT_PATH_MAX];
	int err = 0;

	if (zd_mounted_on(p->use.mount_point, src, sizeof(src)) || strcmp(src, s->dev))
		err = zd_mount(s->dev, p->use.fs_type, p->use.mount_point);
	if (err) {
		snprintf(s->reason, sizeof(s->reason), "adopting %s: mount on %.120s: %s", s->dev,
			 p->use.mount_point, strerror(-err));
		return err;
	}
	s->mounted = true;
	snprintf(s->mnt, sizeof(s->mnt), "%s", p->use.mount_point);
	return 0;
}

/* The live device that uses this stack's state: its id, or -1. */
static int state_device(struct zd_stack *s, struct ztu_dev_info *info)
{
	char path[ZT_PATH_MAX];
	struct stat st;
	int id;

	zd_state_file(s, path, sizeof(path));
	if (stat(path, &st) || (id = zd_device_find(".config", uses_state, path)) < 0 ||
	    ztu_dev_info(id, info))
		return -1;
	snprintf(s->state_path, sizeof(s->state_path), "%s", path);
	return id;
}

int zd_adopt(struct zd_daemon *d, struct zd_stack *s)
{
	struct ztu_dev_info info;
	bool fs = s->policy && s->policy->use.use == ZT_USE_FS;
	int id, err;

	if (s->kind == ZD_KIND_ZRAM)
		return adopt_zram(s);
	if (!s->policy || (s->policy->use.use != ZT_USE_SWAP && !fs))
		return -ENOENT;
	if ((id = state_device(s, &info)) < 0)
		return fs ? zd_adopt_fs(s) : -ENOENT;   /* a stray device is refused */
	s->ublk_id = id;
	snprintf(s->dev, sizeof(s->dev), "/dev/ublkb%d", id);
	if ((err = take_server(s, &info)))
		return step_failed_adopt(s, err);
	if ((err = zd_state_hold(s)))
		zd_log(ZD_WARN, "%s: cannot lock its state %s: %s", s->name, s->state_path,
		       strerror(-err));
	if (zd_supervise_start(d, s))
		zd_watch_pidfd(d, s);
	if (fs && (err = adopt_mount(s)))
		return err;
	if (!fs)
		adopt_swap(s);
	zd_maint_tier_adopted(s);
	zd_log(ZD_INFO, "%s: adopted %s from an earlier ztierd: server pid %d%s%s%s", s->name,
	       s->dev, (int)s->server_pid, s->swap_on ? ", swap on" : "",
	       s->mounted ? ", mounted on " : "", s->mounted ? s->mnt : "");
	return 0;
}
