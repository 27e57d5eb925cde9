/*
 * daemon_restart.c — `ztierctl restart STACK`: a live upgrade.
 *
 * A ztier swap device keeps its pages in a state that outlives its server
 * (daemon_recover.c), and the kernel holds the device's I/O while no server
 * serves it (user recovery).  So a new server can take the device over with
 * no error seen by its users: the supervising thread is stopped (this end
 * is on purpose), the old server is killed, and the installed
 * `ztier-ublk recover ID` starts a server of the binary now on disk; its
 * I/O waited meanwhile.  This is the kill-based handover; the graceful one
 * (UBLK_U_CMD_QUIESCE_DEV, 6.16+) is not used yet.
 *
 * ztier-ublk exits once its server is LIVE, and the server, orphaned, is
 * reparented to ztierd (PR_SET_CHILD_SUBREAPER, ztierd.c), so it is
 * ztierd's child like any other: reaped and supervised.  Without an
 * installed ztier-ublk (a build tree) the server is ztierd's own code, as
 * after a crash.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "build/paths.h"        /* generated: ZT_BINDIR */
#include "manager/daemon.h"
#include "policy/common/common.h"
#include "ublk/ztublk.h"

#define UBLK_TOOL ZT_BINDIR "/ztier-ublk"

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The installed binary's `recover ID`; the new server's pid, or -errno. */
static pid_t recover_installed(int id, int *pidfd, char *why, size_t len)
{
	char arg[16];
	struct ztu_dev_info info;
	char *const argv[] = { UBLK_TOOL, "recover", arg, NULL };
	int st;

	snprintf(arg, sizeof(arg), "%d", id);
	if ((st = zd_run(argv)))
		return zt_fail(why, len, -EIO, UBLK_TOOL " recover %d failed (%d)", id, st);
	if (ztu_dev_info(id, &info) || info.pid <= 0)
		return zt_fail(why, len, -ESRCH, "no server pid for /dev/ublkb%d", id);
	*pidfd = (int)syscall(SYS_pidfd_open, info.pid, 0);
	return info.pid;
}

static int kill_server(struct zd_stack *s)
{
	pid_t pid = s->server_pid;

	if (pid > 0 && kill(pid, SIGKILL) == 0)
		waitpid(pid, NULL, 0);
	if (s->pidfd >= 0)
		close(s->pidfd);
	s->pidfd = -1;
	s->server_pid = 0;
	return 0;
}

int zd_stack_restart(struct zd_daemon *d, const char *name, char *why, size_t len)
{
	struct zd_stack *s = zd_stack_find(d, name);
	bool installed = access(UBLK_TOOL, X_OK) == 0;
	pid_t old, pid;
	long long t0;
	int pidfd = -1;

	if (!s)
		return zt_fail(why, len, -ENOENT, "no stack named '%s'", name);
	if (s->kind != ZD_KIND_ZTIER || s->state != ZD_ST_UP || !s->state_path[0] || s->ublk_id < 0)
		return zt_fail(why, len, -EINVAL, "%s: only a ztier stack that is up with a "
			       "state (a swap stack) can be restarted", name);
	zd_supervise_stop(s);
	old = s->server_pid;
	t0 = now_ms();
	kill_server(s);
	pid = installed ? recover_installed(s->ublk_id, &pidfd, why, len)
			: zd_spawn_recovery(s->ublk_id, &pidfd, why, len);
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
	zd_log(ZD_INFO, "%s: restarted: server pid %d -> %d (%s) in %lld ms", s->name, (int)old,
	       (int)pid, installed ? UBLK_TOOL : "ztierd's own code", now_ms() - t0);
	snprintf(why, len, "%s: server pid %d -> %d in %lld ms", s->name, (int)old, (int)pid,
		 now_ms() - t0);
	return 0;
}
