/*
 * daemon_adopt_fs.c — an [fs] device an earlier (killed) ztierd left that no
 * state leads to: found, refused, never built twice.
 *
 * An [fs] stack is adopted by its state file and saved config like a swap
 * stack (daemon_adopt.c).  Without them (an older ztierd's device, or one
 * whose state found no room in /dev/shm) a new ztierd could not recover
 * its device if its server died, nor tell its supervision apart from a
 * stranger's.  What it can see is enough to refuse cleanly: a ublk device
 * mounted on the policy's mount point (/proc/self/mountinfo), or a live
 * server publishing this policy's name (/run/ztier/ublk/ID.stats).
 * Building then would mkfs a second device and mount it over the first
 * one's files; instead the stack fails with one log line that says what
 * to do.  zd_device_find, the walk of /run/ztier/ublk both adoptions use,
 * is here too (a leaf: the unit test links this file alone).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manager/daemon.h"
#include "ublk/ztublk.h"

#define UBLK_DISK "/dev/ublkb"

/* mountinfo escapes space, tab, newline and backslash as \ooo: undone in
 * place. */
static void unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

/* One mountinfo line's mount point and source, unescaped: 0 or -EINVAL.
 * "id parent major:minor root MOUNT-POINT options... - fstype SOURCE ..." */
static int mount_fields(const char *line, char *point, char *source)
{
	const char *sep = strstr(line, " - ");

	if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", point) != 1 ||
	    sscanf(sep + 3, "%*s %4095s", source) != 1)
		return -EINVAL;
	unescape(point);
	unescape(source);
	return 0;
}

/* The source of what is mounted on mnt (the topmost mount: the last line
 * wins), from a mountinfo file: 0, or -ENOENT when nothing is. */
static int mount_source(const char *mountinfo, const char *mnt, char *src, size_t len)
{
	static _Thread_local char point[ZT_PATH_MAX], source[ZT_PATH_MAX];
	FILE *f = fopen(mountinfo, "re");
	char *line = NULL;
	size_t cap = 0;
	int found = -ENOENT;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0)
		if (mount_fields(line, point, source) == 0 && !strcmp(point, mnt)) {
			snprintf(src, len, "%s", source);
			found = 0;
		}
	free(line);
	fclose(f);
	return found;
}

/* Ids from the names "ID.config", "ID.stats" (daemon.h). */
int zd_device_find(const char *suffix, bool (*match)(int id, void *arg), void *arg)
{
	DIR *dir = opendir(ZTU_RUN_DIR);
	struct dirent *e;
	int found = -1;

	while (dir && found < 0 && (e = readdir(dir))) {
		char *end;
		long id = strtol(e->d_name, &end, 10);

		if (end == e->d_name || strcmp(end, suffix) || id < 0 || id > 1 << 20)
			continue;
		if (match((int)id, arg))
			found = (int)id;
	}
	if (dir)
		closedir(dir);
	return found;
}

struct served { const char *policy; pid_t pid; };

/* Does a live server publish this policy's name for a device that is? */
static bool serves(int id, void *arg)
{
	static _Thread_local struct ztu_stats st;   /* big: off the stack */
	struct served *w = arg;
	struct ztu_dev_info info;

	if (ztu_stats_read(id, &st) || strcmp(st.policy, w->policy) || ztu_dev_info(id, &info))
		return false;
	w->pid = st.pid;
	return true;
}

/* The id of a /dev/ublkbN source, or -1. */
static int ublk_id_of(const char *source)
{
	char *end;
	long id;

	if (strncmp(source, UBLK_DISK, strlen(UBLK_DISK)))
		return -1;
	id = strtol(source + strlen(UBLK_DISK), &end, 10);
	return end == source + strlen(UBLK_DISK) || *end || id < 0 ? -1 : (int)id;
}

/* Said once, in the log and in status: the device, and the way out. */
static int refuse(struct zd_stack *s, int id, pid_t pid, const char *mnt, bool on_mnt)
{
	char server[28] = "";

	if (pid > 0)
		snprintf(server, sizeof(server), " (server pid %d)", (int)pid);
	snprintf(s->reason, sizeof(s->reason), "%s%d%s %s %.48s; no state to adopt it: "
		 "%s'ztier-ublk del %d', then 'ztierctl up %.32s'", UBLK_DISK, id,
		 server, on_mnt ? "is mounted on" : "serves it, not mounted on", mnt,
		 on_mnt ? "umount it, " : "unmount it if it is, ", id, s->name);
	zd_log(ZD_ERR, "%s: not building a second device: %s", s->name, s->reason);
	return -EEXIST;
}

/* What is mounted on mnt, by a given mountinfo: 0, -ENOENT, -errno. */
static int mounted_on(const char *mountinfo, const char *mnt, char *src, size_t len)
{
	char *canon = realpath(mnt, NULL);   /* as mountinfo has it ("/mnt/x/") */
	int err = mount_source(mountinfo, canon ? canon : mnt, src, len);

	free(canon);
	return err;
}

int zd_mounted_on(const char *mnt, char *src, size_t len)
{
	return mounted_on("/proc/self/mountinfo", mnt, src, len);
}

/* The [fs] stack's check against a given mountinfo (a file in the tests). */
static int fs_left(struct zd_stack *s, const char *mountinfo)
{
	const char *mnt = s->policy->use.mount_point;
	static _Thread_local char source[ZT_PATH_MAX];
	struct served w = { .policy = s->name };
	pid_t pid;
	int on_mnt = -1, live;

	if (mounted_on(mountinfo, mnt, source, sizeof(source)) == 0)
		on_mnt = ublk_id_of(source);
	live = zd_device_find(".stats", serves, &w);
	pid = w.pid;
	if (on_mnt >= 0)
		return refuse(s, on_mnt, on_mnt == live ? pid : 0, mnt, true);
	if (live >= 0)
		return refuse(s, live, pid, mnt, false);
	return -ENOENT;
}

int zd_adopt_fs(struct zd_stack *s)
{
	return fs_left(s, "/proc/self/mountinfo");
}
