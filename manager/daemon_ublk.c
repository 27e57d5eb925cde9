/*
 * daemon_ublk.c — one ztier ublk server per stack, as a supervised child.
 *
 * ztierd forks and the child calls ztu_server_run() (ublk/ztublk.h) with the
 * stack's policy, rather than running `ztier-ublk add`, which daemonizes: a
 * direct child can be watched with a pidfd in the daemon's epoll loop, so a
 * server that dies is noticed at once (the device is then marked degraded;
 * its swap is left alone, since swapoff would need the pages it lost).
 *
 * The child starts a new session (a Ctrl-C on ztierd's terminal must not
 * stop a server whose device is still swap), closes every inherited fd but
 * its report pipe, and reports "LIVE id" or "ERR message" on that pipe; the
 * parent waits for that one line with a bounded poll.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "manager/daemon.h"
#include "ublk/ztublk.h"

#define START_TIMEOUT_MS 60000
#define EXIT_TIMEOUT_MS  10000     /* a stopped server exits within this   */
#define KILL_TIMEOUT_MS  2000      /* and after SIGKILL within this        */

static void report_to_pipe(void *ctx, int dev_id, int err, const char *msg)
{
	int fd = *(int *)ctx;
	char line[ZTU_MSG_MAX + 16];
	int n;

	if (err)
		n = snprintf(line, sizeof(line), "ERR %s\n", msg && msg[0] ? msg : strerror(-err));
	else
		n = snprintf(line, sizeof(line), "LIVE %d\n", dev_id);
	if (write(fd, line, (size_t)n) < 0) { /* the daemon is gone: keep serving */ }
	close(fd);
	*(int *)ctx = -1;
}

static void become_server(const struct ztu_config *cfg, int wfd)
{
	sigset_t none;
	int null = open("/dev/null", O_RDWR);

	setsid();
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		close(null);
	}
	dup2(wfd, 3);
	wfd = 3;
	syscall(SYS_close_range, 4u, ~0u, 0u);
	_exit(ztu_server_run(cfg, report_to_pipe, &wfd) ? 1 : 0);
}

/* Read the child's one line (bounded). */
static int read_report(int fd, char *line, size_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t got = 0;

	while (got < len - 1) {
		int r = poll(&p, 1, START_TIMEOUT_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r ? -errno : -ETIMEDOUT;
		ssize_t n = read(fd, line + got, len - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (memchr(line, '\n', got))
			break;
	}
	line[got] = '\0';
	line[strcspn(line, "\n")] = '\0';
	return 0;
}

static int spawn(const struct ztu_config *cfg, pid_t *pid, int *rfd)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	*pid = fork();
	if (*pid < 0) {
		int err = -errno;
		close(p[0]);
		close(p[1]);
		return err;
	}
	if (*pid == 0) {
		close(p[0]);
		become_server(cfg, p[1]);
	}
	close(p[1]);
	*rfd = p[0];
	return 0;
}

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

static int started(struct zd_stack *s, pid_t pid, const char *line, char *why, size_t len)
{
	int id;

	if (sscanf(line, "LIVE %d", &id) != 1) {
		snprintf(why, len, "%s", strncmp(line, "ERR ", 4) == 0 ? line + 4
			 : "server exited during startup");
		if (reap_within(pid, -1, EXIT_TIMEOUT_MS) && kill_and_reap(pid, -1)) {
			s->server_pid = pid;          /* stuck: cleanup pending */
			s->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		}
		return -EIO;
	}
	s->ublk_id = id;
	s->server_pid = pid;
	s->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	snprintf(s->dev, sizeof(s->dev), "/dev/ublkb%d", id);
	return 0;
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

int zd_server_start(struct zd_daemon *d, struct zd_stack *s, char *why, size_t len)
{
	struct ztu_config *cfg = malloc(sizeof(*cfg));
	char line[ZTU_MSG_MAX + 16];
	pid_t pid = -1;
	int rfd = -1, err;

	if (!cfg)
		return -ENOMEM;
	ztu_config_from_policy(cfg, s->policy);
	if (ztu_config_check(cfg, why, len)) {
		free(cfg);
		return -EINVAL;
	}
	err = spawn(cfg, &pid, &rfd);
	free(cfg);
	if (err) {
		snprintf(why, len, "fork: %s", strerror(-err));
		return err;
	}
	err = read_report(rfd, line, sizeof(line));
	close(rfd);
	if (err)
		return no_report(s, pid, err, why, len);
	(void)d;
	return started(s, pid, line, why, len);
}

int zd_server_stop(struct zd_stack *s)
{
	bool deleted = false;
	int err = 0;

	if (s->ublk_id >= 0) {
		err = ztu_dev_del(s->ublk_id);
		if (err == -ENOENT || err == -ENODEV)
			err = 0;
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
	if (!err)
		s->ublk_id = -1;
	return err;
}

void zd_server_died(struct zd_daemon *d, struct zd_stack *s)
{
	int status = 0;
	char how[64];

	(void)d;
	if (waitpid(s->server_pid, &status, WNOHANG) <= 0)
		return;
	if (WIFSIGNALED(status))
		snprintf(how, sizeof(how), "killed by signal %d", WTERMSIG(status));
	else
		snprintf(how, sizeof(how), "exited with status %d", WEXITSTATUS(status));
	snprintf(s->reason, sizeof(s->reason), "server pid %d %s", (int)s->server_pid, how);
	zd_log(ZD_ERR, "%s: %s: ublk server died (%s); device degraded", s->name, s->dev,
	       s->reason);
	close(s->pidfd);
	s->pidfd = -1;
	s->server_pid = 0;
	s->state = ZD_ST_DEGRADED;
}
