/*
 * daemon_ublk.c — one ztier ublk server per stack, as a supervised child.
 *
 * ztierd starts each server with ztu_server_spawn() (ublk/ztublk.h), as its
 * own child rather than through `ztier-ublk add`, which daemonizes: a direct
 * child can be watched with a pidfd in the daemon's epoll loop, so a server
 * that dies is noticed at once: a device with a state file is recovered
 * (daemon_recover.c); one without is marked degraded, its swap left alone,
 * since swapoff would need the pages it lost.  The child has
 * its own session (a Ctrl-C on ztierd's terminal must not stop a server
 * whose device is still swap) and keeps ztierd's stderr for its messages;
 * ztu_server_wait_live() waits for its report with a bound.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "manager/daemon.h"
#include "ublk/ztublk.h"

#define START_TIMEOUT_MS 60000
#define EXIT_TIMEOUT_MS  10000     /* a stopped server exits within this   */
#define KILL_TIMEOUT_MS  2000      /* and after SIGKILL within this        */

/* Wait (bounded) for our child pid to exit and reap it: poll its pidfd when
 * there is one, else check every 50 ms.  0 when reaped, -ETIMEDOUT when it
 * still runs.  Never blocks past ms: a server stuck in the kernel must not
 * hang the daemon's loop. */
static int reap_within(pid_t pid, int pidfd, int ms)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	for (int waited = 0;; waited += 50) {
		pid_t r = waitpid(pid, NULL, WNOHANG);
		if (r == pid || (r < 0 && errno == ECHILD))
			return 0;
		if (waited >= ms)
			return -ETIMEDOUT;
		if (pidfd >= 0) {
			if (poll(&p, 1, ms - waited) < 0 && errno != EINTR)
				return -errno;
			waited = ms - 50;     /* one more waitpid, then give up */
		} else {
			poll(NULL, 0, 50);
		}
	}
}

/* Stop a child that must go now: SIGKILL, bounded reap.  -ETIMEDOUT when
 * even that did not end it (stuck in the kernel): it stays ours. */
static int kill_and_reap(pid_t pid, int pidfd)
{
	kill(pid, SIGKILL);
	return reap_within(pid, pidfd, KILL_TIMEOUT_MS);
}

static int started(struct zd_daemon *d, struct zd_stack *s, pid_t pid, int id)
{
	int err;

	s->ublk_id = id;
	s->server_pid = pid;
	s->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	snprintf(s->dev, sizeof(s->dev), "/dev/ublkb%d", id);
	s->recoveries = 0;
	memset(s->deaths, 0, sizeof(s->deaths));
	if (s->state_path[0] && (err = zd_state_hold(s)))
		zd_log(ZD_WARN, "%s: cannot lock its state %s: %s (while no server runs its "
		       "pages could be reclaimed)", s->name, s->state_path, strerror(-err));
	if (s->state_path[0] && (err = zd_supervise_start(d, s)))
		zd_log(ZD_WARN, "%s: no supervising thread (%s): a server death is seen "
		       "between jobs only", s->name, strerror(-err));
	return 0;
}

/* The server said why it failed and exits: reap it (bounded). */
static int failed_start(struct zd_stack *s, pid_t pid)
{
	if (reap_within(pid, -1, EXIT_TIMEOUT_MS) && kill_and_reap(pid, -1)) {
		s->server_pid = pid;          /* stuck: cleanup pending */
		s->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	}
	return -EIO;
}

/* The server did not report in time.  It may block SIGTERM until it serves,
 * so SIGKILL, and reap through the pidfd with a bounded poll; one that still
 * lives is recorded in the stack (server_pid, pidfd: the loop reaps it when
 * it goes) so that the stack's cleanup is known to be pending. */
static int no_report(struct zd_stack *s, pid_t pid, int err, char *why, size_t len)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (kill_and_reap(pid, pidfd) == 0) {
		snprintf(why, len, "no report from server pid %d: %s (killed)", (int)pid,
			 strerror(-err));
		if (pidfd >= 0)
			close(pidfd);
		return err;
	}
	snprintf(why, len, "no report from server pid %d: %s; it does not exit even "
		 "after SIGKILL", (int)pid, strerror(-err));
	s->server_pid = pid;
	s->pidfd = pidfd;
	return err;
}

/* Pages in a state file that outlives the server (daemon_recover.c), for
 * every swap device (a process whose memory was swapped there dies with
 * the pages) and every file system (its files would), zram tier and all:
 * the state names the tier's kernel device.  A file system's state
 * commits its store as it fills, like its server would (state.h).  A
 * file left by an earlier device of this stack is no one's now: a new
 * device starts empty. */
static void use_state(struct zd_stack *s, struct ztu_config *cfg)
{
	s->state_path[0] = '\0';
	if (s->policy->use.use != ZT_USE_SWAP && s->policy->use.use != ZT_USE_FS)
		return;
	zd_state_file(s, s->state_path, sizeof(s->state_path));
	mkdir("/dev/shm/ztier", 0700);
	unlink(s->state_path);
	if (!zd_state_fits(cfg)) {
		zd_log(ZD_WARN, "%s: /dev/shm has no room for its state (store %llu MiB): its "
		       "pages will die with its server", s->name,
		       (unsigned long long)(cfg->mem_limit >> 20));
		s->state_path[0] = '\0';
		return;
	}
	snprintf(cfg->state_path, sizeof(cfg->state_path), "%s", s->state_path);
}

int zd_server_start(struct zd_daemon *d, struct zd_stack *s, char *why, size_t len)
{
	struct ztu_config *cfg = malloc(sizeof(*cfg));
	pid_t pid;
	int rfd = -1, id, err;

	(void)d;
	if (!cfg)
		return -ENOMEM;
	ztu_config_from_policy(cfg, s->policy);
	zd_maint_tier_spec(s, cfg);   /* its zram tier's backing device ... */
	use_state(s, cfg);
	if (ztu_config_check(cfg, why, len)) {
		free(cfg);
		return -EINVAL;
	}
	pid = ztu_server_spawn(cfg, true, &rfd);   /* stderr: the daemon's log */
	free(cfg);
	if (pid < 0) {
		snprintf(why, len, "fork: %s", strerror(-pid));
		return pid;
	}
	err = ztu_server_wait_live(rfd, START_TIMEOUT_MS, &id, why, len);
	if (err == -ETIMEDOUT)
		return no_report(s, pid, err, why, len);
	if (err)
		return failed_start(s, pid);
	return started(d, s, pid, id);
}

int zd_server_stop(struct zd_stack *s)
{
	char msg[ZTU_MSG_MAX];
	bool deleted = false;
	int err = 0;

	zd_supervise_stop(s);         /* its end is ours now: no recovery */
	if (s->ublk_id >= 0) {
		err = ztu_dev_del(s->ublk_id, msg, sizeof(msg));
		if (err == -ENOENT || err == -ENODEV)
			err = 0;
		if (err)
			zd_log(ZD_ERR, "%s: deleting %s: %s", s->name, s->dev, msg);
		deleted = !err;
	}
	if (s->server_pid > 0) {
		/* After DEL_DEV the server ends by itself; else (never live, or
		 * it does not end) it is killed: either way the wait is bounded. */
		if ((!deleted || reap_within(s->server_pid, s->pidfd, EXIT_TIMEOUT_MS)) &&
		    kill_and_reap(s->server_pid, s->pidfd)) {
			zd_log(ZD_ERR, "%s: server pid %d does not exit even after SIGKILL",
			       s->name, (int)s->server_pid);
			return err ? err : -EBUSY;
		}
	}
	if (s->pidfd >= 0)
		close(s->pidfd);
	s->pidfd = -1;
	s->server_pid = 0;
	if (!err) {
		s->ublk_id = -1;
		zd_state_release(s);          /* the device is gone: its state too */
		if (s->state_path[0])
			unlink(s->state_path);
	}
	return err;
}

void zd_server_died(struct zd_daemon *d, struct zd_stack *s)
{
	int status = 0;
	char how[64];

	if (waitpid(s->server_pid, &status, WNOHANG) <= 0)
		return;
	if (WIFSIGNALED(status))
		snprintf(how, sizeof(how), "killed by signal %d", WTERMSIG(status));
	else
		snprintf(how, sizeof(how), "exited with status %d", WEXITSTATUS(status));
	snprintf(s->reason, sizeof(s->reason), "server pid %d %s", (int)s->server_pid, how);
	zd_log(ZD_ERR, "%s: %s: ublk server died (%s)%s", s->name, s->dev, s->reason,
	       s->state_path[0] ? "" : "; device degraded");
	close(s->pidfd);
	s->pidfd = -1;
	s->server_pid = 0;
	s->state = ZD_ST_DEGRADED;
}
