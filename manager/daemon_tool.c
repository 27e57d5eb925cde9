/*
 * daemon_tool.c — the programs ztierd runs (mkswap, mkfs, the installed
 * ztier-ublk's recover and recover --check): spawned with an empty signal
 * mask, looked up in a fixed PATH, and waited for at most a bounded time.
 *
 * Why a fixed PATH (zd_tool_path): started by hand from a root shell,
 * ztierd may inherit one that leads through a user's directory, and
 * ~/bin/mkswap would run as root.
 *
 * Why a bound (ZD_TOOL_TIMEOUT_MS): each of these programs touches a device
 * (the spill disk, the stack's own device), and a device that stops
 * answering leaves its reader waiting for good.  ztierd waited with it,
 * and so did every ztierctl request behind it.  A tool still running at
 * the bound is killed and its caller told -ETIMEDOUT.  One stuck in the
 * kernel (a read of a dead disk) cannot die until the disk answers: ztierd
 * waits 5 s more for it, then goes on and reaps it when it exits at last
 * (zd_child_abandon: it would stay a zombie, ztierd being the subreaper
 * of everything it starts, and take a pid for good).  Its stderr is
 * read until it exits, not until the pipe closes: a child it left behind
 * may hold the pipe open.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "manager/daemon.h"

extern char **environ;

#define ZD_TOOL_PATH  "/usr/sbin:/usr/bin:/sbin:/bin"
#define KILL_GRACE_MS 5000

/* Children killed but stuck in the kernel, reaped once they exit.  Taken
 * from the job thread and the supervising threads, reaped by the loop. */
#define ABANDONED_MAX 16
static pid_t abandoned[ABANDONED_MAX];
static int abandoned_n;
static pthread_mutex_t abandoned_lock = PTHREAD_MUTEX_INITIALIZER;

void zd_child_abandon(pid_t pid)
{
	int free_at = -1;

	pthread_mutex_lock(&abandoned_lock);
	for (int i = 0; i < ABANDONED_MAX; i++) {
		if (abandoned[i] == pid)
			free_at = ABANDONED_MAX;      /* there already */
		else if (!abandoned[i] && free_at < 0)
			free_at = i;
	}
	if (free_at >= 0 && free_at < ABANDONED_MAX) {
		abandoned[free_at] = pid;
		abandoned_n++;
	}
	pthread_mutex_unlock(&abandoned_lock);
	if (free_at < 0)
		zd_log(ZD_WARN, "pid %d does not die (stuck in the kernel?), and %d others "
		       "already wait: it stays a zombie when it does", (int)pid, ABANDONED_MAX);
	else
		zd_log(ZD_WARN, "pid %d does not die (stuck in the kernel?): reaped when it does",
		       (int)pid);
}

void zd_child_reap_abandoned(void)
{
	pthread_mutex_lock(&abandoned_lock);
	for (int i = 0; abandoned_n && i < ABANDONED_MAX; i++)
		if (abandoned[i] && waitpid(abandoned[i], NULL, WNOHANG) != 0) {
			abandoned[i] = 0;             /* reaped, or not ours any more */
			abandoned_n--;
		}
	pthread_mutex_unlock(&abandoned_lock);
}

/* ZTIERD_TOOL_PATH replaces the fixed list (the host tests' failing
 * mkswap): set on purpose by whoever starts ztierd, unlike an inherited
 * PATH.  The children inherit the result. */
void zd_tool_path(void)
{
	const char *p = getenv("ZTIERD_TOOL_PATH");

	setenv("PATH", p && *p ? p : ZD_TOOL_PATH, 1);
}

/* Start argv with an empty signal mask, stdout on /dev/null (a tool's
 * chatter is not ztierd's output) and stderr on err_fd (-1: ztierd's own,
 * where its errors belong). */
static int spawn(char *const argv[], int err_fd, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none;
	int err;

	sigemptyset(&none);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	if (err_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, err_fd, STDERR_FILENO);
	err = posix_spawnp(pid, argv[0], &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return -err;
}

static long long tool_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

enum pipe_read { GOT_DATA, GOT_NOTHING_YET, GOT_EOF };

/* What is in the (non-blocking) pipe now, appended to text: its first
 * len - 1 bytes are kept, the rest read and dropped. */
static enum pipe_read read_some(int fd, char *text, size_t len, size_t *got)
{
	char drop[256];
	size_t room = len - 1 - *got;
	ssize_t n = read(fd, room ? text + *got : drop, room ? room : sizeof(drop));

	if (n > 0) {
		*got += room ? (size_t)n : 0;
		return GOT_DATA;
	}
	return n < 0 && (errno == EINTR || errno == EAGAIN) ? GOT_NOTHING_YET : GOT_EOF;
}

/* Wait until pidfd says the child exited or deadline (ms) passes, reading
 * its stderr pipe (err_fd >= 0) meanwhile.  true if it exited. */
static bool wait_exit(int pidfd, int err_fd, long long deadline, char *text, size_t len,
		      size_t *got)
{
	for (;;) {
		struct pollfd p[2] = { { pidfd, POLLIN, 0 }, { err_fd, POLLIN, 0 } };
		long long left = deadline - tool_ms();
		int n = poll(p, err_fd >= 0 ? 2 : 1, left > 0 ? (int)left : 0);

		if (n < 0 && errno != EINTR)
			return false;
		if (n > 0 && err_fd >= 0 && (p[1].revents & (POLLIN | POLLHUP)) &&
		    read_some(err_fd, text, len, got) == GOT_EOF)
			err_fd = -1;                      /* only the pid from now on */
		if (n > 0 && (p[0].revents & POLLIN))
			return true;
		if (n == 0)
			return false;
	}
}

static int status_of(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* The child's end within timeout_ms, its stderr read into text meanwhile
 * (err_fd >= 0); killed at the bound.  0, -EIO (it failed), -ETIMEDOUT. */
static int wait_child(pid_t pid, int err_fd, int timeout_ms, char *text, size_t len)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	size_t got = 0;
	bool exited;

	if (pidfd < 0) {     /* out of fds or memory (or Linux < 5.3): unbounded, as before */
		if (err_fd >= 0 && fcntl(err_fd, F_SETFL, 0) == 0)
			while (read_some(err_fd, text, len, &got) != GOT_EOF)
				;
		if (text)
			text[got] = '\0';
		return status_of(pid);
	}
	exited = wait_exit(pidfd, err_fd, tool_ms() + timeout_ms, text, len, &got);
	/* what it wrote just before it went (bounded: a child it left may write on) */
	for (int i = 0; exited && err_fd >= 0 && i < 64 &&
	     read_some(err_fd, text, len, &got) == GOT_DATA; i++)
		;
	if (!exited) {
		kill(pid, SIGKILL);
		if (wait_exit(pidfd, -1, tool_ms() + KILL_GRACE_MS, NULL, 0, NULL))
			status_of(pid);
		else
			zd_child_abandon(pid);
	}
	close(pidfd);
	if (text)
		text[got] = '\0';
	return exited ? status_of(pid) : -ETIMEDOUT;
}

int zd_run_for(char *const argv[], int timeout_ms, char *err_text, size_t len)
{
	int p[2] = { -1, -1 }, err;
	pid_t pid;

	if (err_text && !len)
		err_text = NULL;
	if (err_text)
		err_text[0] = '\0';
	if (err_text && pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	if (err_text && fcntl(p[0], F_SETFL, O_NONBLOCK) < 0) {   /* our end only */
		err = -errno;
		close(p[0]);
		close(p[1]);
		return err;
	}
	err = spawn(argv, p[1], &pid);
	if (p[1] >= 0)
		close(p[1]);
	if (!err)
		err = wait_child(pid, p[0], timeout_ms, err_text, len);
	else if (err_text)
		err_text[0] = '\0';
	if (p[0] >= 0)
		close(p[0]);
	if (err_text)
		err_text[strcspn(err_text, "\n")] = '\0';     /* its first line */
	return err;
}

int zd_run(char *const argv[])
{
	return zd_run_for(argv, ZD_TOOL_TIMEOUT_MS, NULL, 0);
}

int zd_run_err(char *const argv[], char *err_text, size_t len)
{
	return zd_run_for(argv, ZD_TOOL_TIMEOUT_MS, err_text, len);
}
