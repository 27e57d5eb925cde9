/*
 * cli_daemon.c — ztierctl's requests to ztierd: up, down, add, del, attach,
 * detach, reload.
 *
 * Each is one line on the control socket (ZTIER_SOCKET, default
 * /run/ztier/ztierd.sock; the protocol is in ztierd(8)); the daemon answers
 * "ok" + output or "error REASON", which becomes ztierctl's one-line error
 * and exit status 1.  The verbs share one table: name, argument, help.
 */
#include <errno.h>
#include <poll.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "build/paths.h"        /* generated: ZT_VERSION, ZT_SYSCONFDIR, ... */
#include "manager/cli.h"
#include "manager/cli_status.h"
#include "policy/common/common.h"

#define REPLY_MAX (1u << 20)
#define CLI_TICK_MS 500

const char *cli_socket_path(void)
{
	const char *p = getenv("ZTIER_SOCKET");

	return p && p[0] ? p : ZT_RUNSTATEDIR "/ztier/ztierd.sock";
}

/* ---- talking to the socket, within a timeout ------------------------------------ */

static int timeout_ms = CLI_TIMEOUT_DEFAULT_MS;
static bool unanswered;
static const char *job_line;            /* the job ztierctl waits for, if any */

int cli_daemon_set_timeout(const char *sec)
{
	char *end;
	double v = strtod(sec, &end);

	if (end == sec || *end || !(v > 0) || v > 86400)
		return -EINVAL;
	timeout_ms = (int)(v * 1000 + 0.5);
	return 0;
}

bool cli_daemon_unanswered(void)
{
	return unanswered;
}

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Wait for events on fd until deadline (-1: none): 1 ready, 0 timed out. */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = events };

	for (;;) {
		long long left = deadline < 0 ? -1 : deadline - now_ms();
		if (deadline >= 0 && left <= 0)
			return 0;
		int r = poll(&p, 1, (int)left);
		if (r >= 0 || errno != EINTR)
			return r > 0;
	}
}

/* A non-blocking connect: with the daemon's backlog full (ztierd stopped)
 * it says EAGAIN at once instead of blocking; try again until deadline. */
static int connect_daemon(long long deadline)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", cli_socket_path());
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		return -errno;
	while (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int err = -errno;
		if (err == -EAGAIN && now_ms() < deadline) {
			poll(NULL, 0, 10);
			continue;
		}
		close(fd);
		return err == -EAGAIN ? -ETIMEDOUT : err;
	}
	return fd;
}

static int write_request(int fd, const char *p, size_t n, long long deadline)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			if (!wait_fd(fd, POLLOUT, deadline))
				return -ETIMEDOUT;
			continue;
		}
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Grow buf for one more read; false when the reply is too large. */
static bool room(char **buf, size_t *cap, size_t got)
{
	if (got + 1 < *cap)
		return true;
	char *nb = *cap >= REPLY_MAX ? NULL : realloc(*buf, *cap * 2);
	if (!nb)
		return false;
	*buf = nb;
	*cap *= 2;
	return true;
}

/* Until EOF: each wait is bounded by deadline, or (deadline < 0) by a
 * tick of CLI_TICK_MS after which tick() says whether to go on. */
static int read_reply(int fd, char **out, long long deadline, int (*tick)(void))
{
	size_t cap = 4096, got = 0;
	char *buf = malloc(cap);
	int err = 0;

	while (buf && !err) {
		if (!room(&buf, &cap, got)) {
			err = -EMSGSIZE;
			break;
		}
		ssize_t n = read(fd, buf + got, cap - 1 - got);
		if (n > 0)
			got += (size_t)n;
		else if (n == 0)
			break;
		else if (errno == EAGAIN && deadline >= 0)
			err = wait_fd(fd, POLLIN, deadline) ? 0 : -ETIMEDOUT;
		else if (errno == EAGAIN)
			err = wait_fd(fd, POLLIN, now_ms() + CLI_TICK_MS) || !tick ? 0 : tick();
		else if (errno != EINTR)
			err = -errno;
	}
	if (!buf || err) {
		free(buf);
		return buf ? err : -ENOMEM;
	}
	buf[got] = '\0';
	*out = buf;
	return 0;
}

/* "ztierd did not answer 'status' within 5 s (socket PATH)", once. */
static void say_unanswered(const char *request)
{
	int n = (int)strcspn(request, "\n"), m = job_line ? (int)strcspn(job_line, "\n") : 0;

	if (!unanswered)
		cli_error("ztierd did not answer '%.*s' within %g s%s%.*s%s (socket %s)", n, request,
			  timeout_ms / 1000.0, m ? " while waiting for '" : "", m, job_line ? job_line : "",
			  m ? "'" : "", cli_socket_path());
	unanswered = true;
}

/* One exchange: the request, then the whole reply (the daemon closes). */
static int exchange(const char *request, char **out, int (*tick)(void))
{
	long long deadline = now_ms() + timeout_ms;
	int fd = connect_daemon(deadline), err;

	if (fd < 0)
		return fd;
	err = write_request(fd, request, strlen(request), deadline);
	if (!err)
		err = read_reply(fd, out, tick ? -1 : deadline, tick);
	close(fd);
	return err;
}

/* The reply as ztierctl prints it: names from file names may hold control
 * bytes (an escape sequence for the terminal), shown escaped. */
static char *printable_dup(const char *s)
{
	size_t len = 4 * strlen(s) + 1;
	char *out = malloc(len);

	return out ? (char *)zt_printable(out, len, s, "\t\n") : NULL;
}

/* A request the daemon answers at once (tick NULL: within the timeout),
 * or one that is a job (tick called every CLI_TICK_MS while it runs). */
static int request(const char *line, char **reply, int (*tick)(void))
{
	char *buf = NULL;
	const char *outer = job_line;

	if (tick)
		job_line = line;
	int err = exchange(line, &buf, tick);
	job_line = outer;
	*reply = NULL;
	if (err == -ETIMEDOUT)
		say_unanswered(line);
	if (err)
		return err;
	char *nl = strchr(buf, '\n');
	const char *rest = nl ? nl + 1 : "";
	bool ok = !strncmp(buf, "ok", 2) && (buf[2] == '\n' || !buf[2]);
	if (!ok && nl)
		*nl = '\0';
	*reply = printable_dup(ok ? rest : !strncmp(buf, "error ", 6) ? buf + 6 : buf);
	free(buf);
	return !*reply ? -ENOMEM : ok ? 0 : -EREMOTEIO;
}

int cli_daemon_request(const char *line, char **reply)
{
	return request(line, reply, NULL);
}

/* ---- the verbs -------------------------------------------------------------------- */

enum arg { NONE, OPTIONAL, REQUIRED, FILE_ARG };

struct verb {
	const char *name, *argname, *help;
	enum arg arg;
};

static const struct verb verbs[] = {
	{ "up", "[NAME]", "Build every stack that is down (or the one named).", OPTIONAL },
	{ "down", "[NAME]", "Tear down every stack in reverse order (or the one named):\n"
	  "swapoff first, which moves its pages back to RAM; refused when there is no room.",
	  OPTIONAL },
	{ "add", "POLICY-FILE", "Build one more stack from a policy file (kept until 'del').",
	  FILE_ARG },
	{ "del", "NAME", "Tear a stack down and forget it.", REQUIRED },
	{ "attach", "DEVICE", "Attach a spill device a policy declares (udev normally does).",
	  REQUIRED },
	{ "detach", "DEVICE", "Detach a spill device: its stack's pages are moved off first\n"
	  "(swapoff); refused with the reason when they cannot be.", REQUIRED },
	{ "restart", "NAME", "Serve a live ztier stack's device by a new server (the installed\n"
	  "ztier-ublk): its pages stay and its I/O waits meanwhile (a live upgrade).",
	  REQUIRED },
	{ "reload", "", "Re-read ztier.conf and the policies (as SIGHUP does): live changes\n"
	  "are applied, the rest is logged as needing 'down NAME; up NAME'.", NONE },
};

static const struct verb *find_verb(const char *name)
{
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(verbs[i].name, name))
			return &verbs[i];
	return NULL;
}

static int verb_help(const struct verb *v)
{
	printf("Usage: ztierctl %s %s\n\n%s\n\nAsks ztierd over %s (root only).\n"
	       "Exit status: 0 success, 1 failure (one line on stderr), 2 usage error.\n",
	       v->name, v->argname, v->help, cli_socket_path());
	return CLI_OK;
}

static const char *why_no_daemon(int err)
{
	switch (err) {
	case -ENOENT:
	case -ECONNREFUSED:
		return "ztierd is not running";
	case -EACCES:
	case -EPERM:
		return "permission denied (root only)";
	default:
		return strerror(-err);
	}
}

/* ztierd runs one job at a time and answers a second "busy: JOB (for N s)".
 * An attach waits for it (udev's ztier-attach@ often arrives while ztierd
 * attaches that very disk from its own udev event, and a unit that fails
 * for that would be a false alarm), up to BUSY_WAIT_MS; on a terminal it
 * says once what for.  Other requests are refused: an `up` queued behind a
 * `down` would undo what the admin just asked for. */
#define BUSY_WAIT_MS (120 * 1000)
static int request_when_free(const char *line, char **reply)
{
	long long give_up = now_ms() + BUSY_WAIT_MS;
	bool said = false;

	for (;;) {
		int err = request(line, reply, cli_progress_tick);
		if (err != -EREMOTEIO || strncmp(*reply, "busy:", 5) || now_ms() >= give_up)
			return err;
		if (!said && isatty(STDERR_FILENO))
			fprintf(stderr, "ztierctl: waiting: ztierd is %s\n", *reply);
		said = true;
		free(*reply);
		*reply = NULL;
		poll(NULL, 0, 200);
	}
}

static int run_verb(int argc, char **argv)
{
	const struct verb *v = find_verb(argv[0]);
	char line[PATH_MAX + 32], abs[PATH_MAX], *reply = NULL;
	const char *arg = argc > 1 ? argv[1] : NULL;

	if (arg && (!strcmp(arg, "--help") || !strcmp(arg, "-h")))
		return verb_help(v);
	if (argc > 2 || (arg && arg[0] == '-'))
		return cli_usage_error(v->name, "unexpected argument '%s'", argv[argc > 2 ? 2 : 1]);
	if (!arg && (v->arg == REQUIRED || v->arg == FILE_ARG))
		return cli_usage_error(v->name, "missing %s", v->argname);
	if (arg && v->arg == NONE)
		return cli_usage_error(v->name, "unexpected argument '%s'", arg);
	if (arg && v->arg == FILE_ARG) {
		if (!realpath(arg, abs)) {
			cli_error("%s: %s", arg, strerror(errno));
			return CLI_FAIL;
		}
		arg = abs;
	}
	snprintf(line, sizeof(line), "%s%s%s\n", v->name, arg ? " " : "", arg ? arg : "");
	int err = !strcmp(v->name, "attach") ? request_when_free(line, &reply)
					       : request(line, &reply, cli_progress_tick);
	cli_progress_end();
	if (err == -EREMOTEIO)
		cli_error("%s: %s", v->name, reply);
	else if (err == -ETIMEDOUT)
		;                       /* said what it waited for */
	else if (err)
		cli_error("%s: %s: %s", v->name, cli_socket_path(), why_no_daemon(err));
	else
		fputs(reply, stdout);
	free(reply);
	return err ? CLI_FAIL : CLI_OK;
}

int cli_up(int argc, char **argv) { return run_verb(argc, argv); }
int cli_down(int argc, char **argv) { return run_verb(argc, argv); }
int cli_add(int argc, char **argv) { return run_verb(argc, argv); }
int cli_del(int argc, char **argv) { return run_verb(argc, argv); }
int cli_attach(int argc, char **argv) { return run_verb(argc, argv); }
int cli_detach(int argc, char **argv) { return run_verb(argc, argv); }
int cli_reload(int argc, char **argv) { return run_verb(argc, argv); }
int cli_restart(int argc, char **argv) { return run_verb(argc, argv); }
