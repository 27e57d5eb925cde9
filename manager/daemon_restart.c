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
	char how[96];

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
	zd_log(ZD_INFO, "%s: restarted: %s; server pid %d -> %d (%s) in %lld ms", s->name, how,
	       (int)old, (int)pid, installed ? UBLK_TOOL : "ztierd's own code", now_ms() - t0);
	snprintf(why, len, "%s: %s; server pid %d -> %d in %lld ms", s->name, how, (int)old,
		 (int)pid, now_ms() - t0);
	return 0;
}
