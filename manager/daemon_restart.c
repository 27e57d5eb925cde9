/*
 * daemon_restart.c — `ztierctl restart STACK`: a live upgrade.
 *
 * A ztier swap device keeps its pages in a state that outlives its server
 * (daemon_recover.c), and the kernel holds the device's I/O while no server
 * serves it (user recovery).  So a new server can take the device over with
 * no error seen by its users: the supervising thread is stopped (this end
 * is on purpose), the old server goes, and the installed
 * `ztier-ublk recover ID` starts a server of the binary now on disk; its
 * I/O waited meanwhile.  How the old server goes, said in the log and in
 * ztierctl's answer:
 *   - quiesce (a device made on 6.16+, UBLK_F_QUIESCE): ztu_dev_quiesce
 *     asks it to hand over; it completes the requests it holds and exits
 *     on its own, so nothing is replayed;
 *   - kill (6.12, or a quiesce that failed: the device then holds its I/O
 *     until its server is gone): SIGKILL; the kernel requeues what the
 *     server held and the new one serves it again (REISSUE).
 *
 * ztier-ublk exits once its server is LIVE, and the server, orphaned, is
 * reparented to ztierd (PR_SET_CHILD_SUBREAPER, ztierd.c), so it is
 * ztierd's child like any other: reaped and supervised.  Before any of
 * it, `ztier-ublk recover --check ID` must say that the installed binary
 * reads the device's config and state: if not, the restart is refused and
 * the old server left alone.  Without an installed ztier-ublk (a build
 * tree) the server is ztierd's own code, as after a crash.
 *
 * If the installed `recover` fails after all (or is killed at ztierd's
 * bound for tools), a server it forked that got LIVE is kept and
 * supervised; one that did not is killed.  Then ztierd's own code serves
 * the device again, since a device with no server holds its I/O, and the
 * restart answers with the failure.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/ublk_cmd.h>

#include "build/paths.h"        /* generated: ZT_BINDIR */
#include "manager/daemon.h"
#include "policy/common/common.h"
#include "ublk/ztublk.h"

#define UBLK_TOOL ZT_BINDIR "/ztier-ublk"
/* For QUIESCE_DEV (the kernel waits until each queue has an idle tag) and
 * again for the old server's exit: a swap device under a hog has idle
 * tags within milliseconds; a server that ignores the request (a binary
 * from before the handover) is killed after this. */
#define QUIESCE_TIMEOUT_MS 5000
/* `recover --check` reads a config, a state's header and the spill's
 * size: instant, unless the spill disk stopped answering. */
#define CHECK_TIMEOUT_MS 30000

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Does process pid hold /dev/ublkcID open?  Only a device's server does:
 * the kernel lets one process at a time open it. */
static bool holds_ublkc(pid_t pid, int id)
{
	char dir[40], path[300], want[32], link[32];
	struct dirent *e;
	bool found = false;
	DIR *fds;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	snprintf(want, sizeof(want), "/dev/ublkc%d", id);
	if (!(fds = opendir(dir)))
		return false;
	while (!found && (e = readdir(fds))) {
		ssize_t n;

		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		found = n > 0 && (size_t)n == strlen(want) && !memcmp(link, want, (size_t)n);
	}
	closedir(fds);
	return found;
}

/* Our child's pid ("PID (COMM) S PPID ..." in /proc/PID/stat)? */
static bool is_our_child(pid_t pid)
{
	char path[40], stat[512];
	const char *end;
	int ppid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "re")))
		return false;
	stat[fread(stat, 1, sizeof(stat) - 1, f)] = 0;
	fclose(f);
	end = strrchr(stat, ')');             /* comm may hold ')' */
	return end && sscanf(end + 1, " %*c %d", &ppid) == 1 && ppid == (int)getpid();
}

/* The server of /dev/ublkbID that a failed or stopped `recover` forked: it
 * calls setsid, so once the tool is gone it is our child (ztierd is the
 * subreaper) holding /dev/ublkcID.  0 when there is none. */
static pid_t orphan_server(int id)
{
	struct dirent *e;
	pid_t pid = 0;
	DIR *proc = opendir("/proc");

	while (proc && !pid && (e = readdir(proc))) {
		int p = atoi(e->d_name);

		if (p > 0 && is_our_child(p) && holds_ublkc(p, id))
			pid = p;
	}
	if (proc)
		closedir(proc);
	return pid;
}

/* `recover ID` failed, or was killed at its bound, maybe after it forked a
 * server.  A server that got LIVE is taken on: the tool failed after its
 * work was done.  One that did not is killed, so that the device waits for
 * a server again, as the failure says, instead of being held by a process
 * nobody supervises; and waited for, as zd_spawn_recovery waits for its
 * own: until it is gone no other server can open the device.  The
 * server's pid, or -ESRCH when none is left. */
static pid_t after_failed_recover(int id, int *pidfd)
{
	struct ztu_dev_info info;
	pid_t pid = orphan_server(id);

	if (pid <= 0)
		return -ESRCH;
	if (!ztu_dev_info(id, &info) && info.state == UBLK_S_DEV_LIVE && info.pid == pid) {
		*pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		return pid;
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	zd_log(ZD_WARN, "/dev/ublkb%d: killed the server (pid %d) that the failed recover "
	       "left before it was LIVE", id, (int)pid);
	return -ESRCH;
}

/* The installed binary's `recover ID`; the new server's pid, or -errno. */
static pid_t recover_installed(int id, int *pidfd, char *why, size_t len)
{
	char arg[16], err[160];
	struct ztu_dev_info info;
	char *const argv[] = { UBLK_TOOL, "recover", arg, NULL };
	pid_t left;
	int st;

	snprintf(arg, sizeof(arg), "%d", id);
	if ((st = zd_run_err(argv, err, sizeof(err))) && !err[0])
		snprintf(err, sizeof(err), "%s", strerror(-st));
	if (st && (left = after_failed_recover(id, pidfd)) > 0) {
		zd_log(ZD_WARN, UBLK_TOOL " recover %d failed (%s), but the server it started "
		       "(pid %d) is LIVE: supervised", id, err, (int)left);
		return left;
	}
	if (st)
		return zt_fail(why, len, -EIO, UBLK_TOOL " recover %d failed (%s)", id, err);
	if (ztu_dev_info(id, &info) || info.pid <= 0)
		return zt_fail(why, len, -ESRCH, "no server pid for /dev/ublkb%d", id);
	*pidfd = (int)syscall(SYS_pidfd_open, info.pid, 0);
	return info.pid;
}

/* Can the installed binary take the device over?  Asked before the old
 * server goes: a later version reads the device's saved config, but an
 * older one (a downgrade) may not, nor one whose state layout differs, and
 * a device left with no server holds its I/O, which for swap hangs the
 * machine. */
static int installed_can_recover(int id, char *why, size_t len)
{
	char arg[16], err[160];
	char *const argv[] = { UBLK_TOOL, "recover", "--check", arg, NULL };

	snprintf(arg, sizeof(arg), "%d", id);
	if (!zd_run_for(argv, CHECK_TIMEOUT_MS, err, sizeof(err)))
		return 0;
	return zt_fail(why, len, -EPROTO, "the installed " UBLK_TOOL " cannot take "
		       "/dev/ublkb%d over (%s); the old server keeps serving it", id,
		       err[0] ? err : "recover --check failed");
}

/* The old server is gone (asked, or killed now): reap it.  An adopted
 * server is not our child (ECHILD): init reaps it. */
static void reap_server(struct zd_stack *s, bool kill_it)
{
	pid_t pid = s->server_pid;

	if (pid > 0 && (!kill_it || kill(pid, SIGKILL) == 0))
		waitpid(pid, NULL, 0);
	if (s->pidfd >= 0)
		close(s->pidfd);
	s->pidfd = -1;
	s->server_pid = 0;
}

/* End the old server, gracefully where the device can; which way, in how. */
static void end_server(struct zd_stack *s, char *how, size_t len)
{
	char msg[ZTU_MSG_MAX];
	long long t0 = now_ms();
	int pid, ret = ztu_dev_quiesce(s->ublk_id, QUIESCE_TIMEOUT_MS, &pid, msg, sizeof(msg));

	if (!ret) {
		reap_server(s, false);
		snprintf(how, len, "quiesce handover, old server gone in %lld ms", now_ms() - t0);
		return;
	}
	if (ret == -EOPNOTSUPP) {
		snprintf(how, len, "kill handover: the kernel has no QUIESCE");
	} else {
		zd_log(ZD_WARN, "%s: quiesce handover failed: %s; killing the server", s->name,
		       msg);
		snprintf(how, len, "kill handover: quiesce failed");
	}
	reap_server(s, true);
}

int zd_stack_restart(struct zd_daemon *d, const char *name, char *why, size_t len)
{
	struct zd_stack *s = zd_stack_find(d, name);
	bool installed = access(UBLK_TOOL, X_OK) == 0;
	pid_t old, pid;
	long long t0;
	int pidfd = -1;
	char how[96], failed[ZTU_MSG_MAX] = "";
	bool fell_back = false;

	if (!s)
		return zt_fail(why, len, -ENOENT, "no stack named '%s'", name);
	if (s->kind != ZD_KIND_ZTIER || s->state != ZD_ST_UP || !s->state_path[0] || s->ublk_id < 0)
		return zt_fail(why, len, -EINVAL, "%s: only a ztier stack that is up with a "
			       "state (a swap stack) can be restarted", name);
	/* (without an installed binary ztierd's own code recovers: the same
	 * question, asked of this process's code) */
	if (installed ? installed_can_recover(s->ublk_id, why, len)
		      : ztu_recover_check(s->ublk_id, why, len)) {
		zd_log(ZD_WARN, "%s: restart refused: %s", s->name, why);
		return -EPROTO;
	}
	zd_supervise_stop(s);
	old = s->server_pid;
	t0 = now_ms();
	end_server(s, how, sizeof(how));
	pid = installed ? recover_installed(s->ublk_id, &pidfd, failed, sizeof(failed))
			: zd_spawn_recovery(s->ublk_id, &pidfd, failed, sizeof(failed));
	/* The device holds its I/O until a server comes (for swap: the whole
	 * machine waits), and ztierd's own code reads what it made: it serves
	 * the device again, and the restart reports the failure. */
	if (pid < 0 && installed) {
		char own[ZTU_MSG_MAX];

		zd_log(ZD_ERR, "%s: restart: %s; the device is recovered by ztierd's own code",
		       s->name, failed);
		fell_back = true;
		if ((pid = zd_spawn_recovery(s->ublk_id, &pidfd, own, sizeof(own))) < 0)
			snprintf(why, len, "%s; ztierd's own code too: %s", failed, own);
	} else if (pid < 0) {
		snprintf(why, len, "%s", failed);
	}
	if (pid < 0) {
		zd_log(ZD_ERR, "%s: restart: %s; the device waits ('ztier-ublk recover %d')",
		       s->name, why, s->ublk_id);
		s->state = ZD_ST_DEGRADED;
		snprintf(s->reason, sizeof(s->reason), "restart failed: %.140s", why);
		return pid;
	}
	s->server_pid = pid;
	s->pidfd = pidfd;
	if (zd_supervise_start(d, s))
		zd_watch_pidfd(d, s);         /* seen between jobs, at least */
	if (fell_back)
		return zt_fail(why, len, -EIO, "%s: not restarted: %s; the old version serves "
			       "it again (ztierd's own code, server pid %d)", s->name, failed,
			       (int)pid);
	zd_log(ZD_INFO, "%s: restarted: %s; server pid %d -> %d (%s) in %lld ms", s->name, how,
	       (int)old, (int)pid, installed ? UBLK_TOOL : "ztierd's own code", now_ms() - t0);
	snprintf(why, len, "%s: %s; server pid %d -> %d in %lld ms", s->name, how, (int)old,
		 (int)pid, now_ms() - t0);
	return 0;
}
