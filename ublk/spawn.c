/*
 * spawn.c — run a server in a child process and learn when it is LIVE.
 *
 * Both `ztier-ublk add` and ztierd start servers this way: fork, the child
 * detaches (its own session, signals unblocked, stdin/stdout on /dev/null,
 * stderr kept for ztierd's journal or else on the kernel log, no inherited
 * descriptors but the report pipe) and runs ztu_server_run();
 * its ready callback writes one line to the pipe, "LIVE <id>" or
 * "ERR <message>", and closes it.  The parent reads that line with a bound,
 * so a server stuck in the kernel before START_DEV completes cannot hang it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ublk/ztublk.h"

static void report_to_pipe(void *ctx, int dev_id, int err, const char *msg)
{
	int fd = *(int *)ctx;
	char line[ZTU_MSG_MAX + 16];
	int n;

	if (err)
		n = snprintf(line, sizeof(line), "ERR %s\n", msg && msg[0] ? msg : strerror(-err));
	else
		n = snprintf(line, sizeof(line), "LIVE %d\n", dev_id);
	if (write(fd, line, (size_t)n) < 0) { /* the parent is gone: keep serving */ }
	close(fd);
	*(int *)ctx = -1;
}

/* What a detached server says after `add` returned (a command the kernel
 * refused, a spill disk gone, a tier made without a part) goes to the
 * kernel log, one record per line: dmesg and the journal keep it, where
 * /dev/null lost it.  Lines are rare (errors, once) and short. */
static void stderr_to_kmsg(int fallback)
{
	int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);

	dup2(fd >= 0 ? fd : fallback, 2);
	if (fd >= 0)
		close(fd);
}

static void become_server(const struct ztu_config *cfg, int recover_id, int wfd,
			  bool keep_stderr)
{
	sigset_t none;
	int null = open("/dev/null", O_RDWR);

	setsid();
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		if (!keep_stderr)
			stderr_to_kmsg(null);
		close(null);
	}
	dup2(wfd, 3);
	wfd = 3;
	syscall(SYS_close_range, 4u, ~0u, 0u);
	_exit((recover_id < 0 ? ztu_server_run(cfg, report_to_pipe, &wfd)
		: ztu_server_recover(cfg, recover_id, report_to_pipe, &wfd)) ? 1 : 0);
}

static pid_t spawn(const struct ztu_config *cfg, int recover_id, bool keep_stderr,
		   int *report_fd)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	fflush(NULL);                       /* no buffered output twice */
	pid = fork();
	if (pid < 0) {
		int err = -errno;
		close(p[0]);
		close(p[1]);
		return err;
	}
	if (pid == 0) {
		close(p[0]);
		become_server(cfg, recover_id, p[1], keep_stderr);
	}
	close(p[1]);
	*report_fd = p[0];
	return pid;
}

pid_t ztu_server_spawn(const struct ztu_config *cfg, bool keep_stderr, int *report_fd)
{
	return spawn(cfg, -1, keep_stderr, report_fd);
}

pid_t ztu_server_spawn_recover(const struct ztu_config *cfg, int dev_id, int *report_fd)
{
	return spawn(cfg, dev_id, false, report_fd);
}

/* The child's one line, read within ms; 0, or -ETIMEDOUT. */
static int read_line(int fd, char *line, size_t len, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t got = 0;

	while (got < len - 1) {
		int r = poll(&p, 1, ms);
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

int ztu_server_wait_live(int report_fd, int timeout_ms, int *dev_id, char *msg, size_t len)
{
	char line[ZTU_MSG_MAX + 16] = "";
	int ret = read_line(report_fd, line, sizeof(line), timeout_ms);

	close(report_fd);
	if (ret) {
		snprintf(msg, len, "no report from the server within %d ms", timeout_ms);
		return ret;
	}
	if (sscanf(line, "LIVE %d", dev_id) == 1)
		return 0;
	snprintf(msg, len, "%s", strncmp(line, "ERR ", 4) == 0 ? line + 4
		 : "server exited during startup");
	return -EIO;
}
