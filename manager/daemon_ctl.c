/*
 * daemon_ctl.c — the control socket /run/ztier/ztierd.sock.
 *
 * A Unix stream socket, mode 0600 in a 0755 directory: the file mode is the
 * barrier, other users cannot connect.  Each connection's SO_PEERCRED must
 * also say uid 0, but that is the connecting process's credential at
 * connect(): a connection root opened and handed to another process (an fd
 * passed over a socket) still says root.  It only catches a socket whose
 * mode someone loosened.  The directory must be root's and closed to others
 * (or sticky, as /tmp is): in one others can write, the socket could be
 * swapped for a link between bind and chmod; chmod does not follow links
 * anyway (AT_SYMLINK_NOFOLLOW).  One request per
 * connection (daemon_request.c parses it); the reply's first line is "ok" or
 * "error REASON", then the output.  The connection is non-blocking and
 * reading the request (and draining an oversized one) shares ONE deadline
 * (IO_TIMEOUT_MS, clock_gettime), as does writing the reply: a client that
 * trickles bytes delays the loop by at most that, not by a timeout per
 * read.  A bad request is an error reply, never an exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "build/paths.h"        /* generated: ZT_VERSION, ZT_SYSCONFDIR, ... */
#include "manager/daemon.h"

#define IO_TIMEOUT_MS 2000
#define DRAIN_MAX (1u << 20)

/* The socket's directory, created if needed: -EPERM unless it is a
 * directory of ours that others cannot write, or a sticky one (/tmp). */
static int socket_dir(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	mkdir(dir, 0755);
	if (lstat(dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    ((st.st_mode & 022) && !(st.st_mode & S_ISVTX)))
		return -EPERM;
	return 0;
}

int zd_ctl_listen(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if ((fd = socket_dir(path)) < 0)
		return fd;
	/* A socket someone answers on belongs to a running ztierd: keep off. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
		close(fd);
		return -EADDRINUSE;
	}
	close(fd);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	mode_t old = umask(0177);
	int r = bind(fd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (r < 0 || fchmodat(AT_FDCWD, path, 0600, AT_SYMLINK_NOFOLLOW) < 0 ||
	    listen(fd, 16) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

void zd_ctl_close(struct zd_daemon *d)
{
	if (d->lfd >= 0) {
		close(d->lfd);
		unlink(d->conf.socket);
	}
	d->lfd = -1;
}

/* ---- replies -------------------------------------------------------------------- */

struct reply {
	char *buf;
	size_t len;
	FILE *f;
};

static void say(struct reply *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct reply *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(r->f, fmt, ap);
	va_end(ap);
}

static void status_lines(struct zd_daemon *d, struct reply *r)
{
	char line[ZT_PATH_MAX + 1024];

	say(r, "ok\n");
	for (unsigned i = 0; i < d->nstacks; i++) {
		zd_stack_status(&d->stacks[i], line, sizeof(line));
		say(r, "%s\n", line);
	}
}

/* up/down of one stack or all (down: in reverse order). */
static void up_down(struct zd_daemon *d, struct reply *r, const char *name, bool up)
{
	int bad = 0;

	if (name[0] && !zd_stack_find(d, name)) {
		say(r, "error no stack named '%s'\n", name);
		return;
	}
	for (unsigned k = 0; k < d->nstacks; k++) {
		struct zd_stack *s = &d->stacks[up ? k : d->nstacks - 1 - k];
		if (name[0] && strcmp(s->name, name))
			continue;
		if (up && s->state == ZD_ST_FAILED && s->kind == ZD_KIND_ZTIER && !s->policy)
			bad++;
		else if (up ? zd_stack_up(d, s) : zd_stack_down(d, s))
			bad++;
		if (!up && !bad)
			s->detached = false;
	}
	if (bad) {
		say(r, "error %d stack(s) failed; see 'ztierctl status' and the log\n", bad);
		return;
	}
	say(r, "ok\n");
}

static void do_request(struct zd_daemon *d, const struct zd_request *q, struct reply *r)
{
	char msg[512];
	int err;

	zd_log(ZD_DEBUG, "request: %s %s", zd_verb_name(q->verb), q->arg);
	switch (q->verb) {
	case ZD_REQ_PING:
		say(r, "ok\nztierd %s pid %d\n", ZT_VERSION, (int)getpid());
		break;
	case ZD_REQ_STATUS:
		status_lines(d, r);
		break;
	case ZD_REQ_UP:
	case ZD_REQ_DOWN:
		up_down(d, r, q->arg, q->verb == ZD_REQ_UP);
		break;
	case ZD_REQ_ATTACH:
	case ZD_REQ_DETACH:
		err = (q->verb == ZD_REQ_ATTACH ? zd_attach : zd_detach)(d, q->arg, msg, sizeof(msg));
		say(r, err ? "error %s\n" : "ok\n%s\n", msg);
		break;
	case ZD_REQ_RELOAD:
		err = zd_reload(d);
		say(r, err ? "error reload: %d problem(s) in the configuration; see the log\n"
			   : "ok\n", err);
		break;
	case ZD_REQ_ADD:
		err = zd_add_policy(d, q->arg, msg, sizeof(msg));
		say(r, err ? "error %s\n" : "ok\n%s\n", msg);
		break;
	case ZD_REQ_DEL:
		err = zd_del_stack(d, q->arg, msg, sizeof(msg));
		say(r, err ? "error %s\n" : "ok\n%s\n", msg);
		break;
	default:
		say(r, "error unknown request\n");
	}
}

/* ---- one connection ------------------------------------------------------------------ */

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Wait until fd is ready for events or the deadline passes: true if ready. */
static bool ready_by(int fd, short events, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = events };

	for (;;) {
		long long left = deadline - now_ms();
		if (left <= 0)
			return false;
		int r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		return r > 0;
	}
}

/* One read of the non-blocking fd, waiting until the deadline at most.
 * > 0 bytes, 0 at EOF, -1 on error or when the deadline passed. */
static ssize_t read_by(int fd, void *buf, size_t cap, long long deadline)
{
	for (;;) {
		ssize_t n = read(fd, buf, cap);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if ((errno != EAGAIN && errno != EWOULDBLOCK) || !ready_by(fd, POLLIN, deadline))
			return -1;
	}
}

/* Read until a newline, EOF, ZD_REQUEST_MAX bytes or the deadline. */
static size_t read_request(int fd, char *buf, size_t cap, long long deadline)
{
	size_t got = 0;

	while (got < cap) {
		ssize_t n = read_by(fd, buf + got, cap - got, deadline);
		if (n <= 0)
			break;
		got += (size_t)n;
		if (memchr(buf + got - n, '\n', (size_t)n))
			break;
	}
	return got;
}

/* After an oversized request: read (and drop) what the client still sends,
 * up to a bound and the same deadline, so that it gets to read the error
 * reply instead of EPIPE. */
static void drain(int fd, long long deadline)
{
	char junk[4096];
	size_t total = 0;
	ssize_t n;

	while (total < DRAIN_MAX && (n = read_by(fd, junk, sizeof(junk), deadline)) > 0 &&
	       !memchr(junk, '\n', (size_t)n))
		total += (size_t)n;
}

static void write_all(int fd, const char *p, size_t n)
{
	long long deadline = now_ms() + IO_TIMEOUT_MS;

	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
		    ready_by(fd, POLLOUT, deadline))
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void serve(struct zd_daemon *d, int fd)
{
	char buf[ZD_REQUEST_MAX];
	struct reply r = { 0 };
	struct zd_request q;
	const char *why = NULL;
	struct ucred cred;
	socklen_t cl = sizeof(cred);

	if (!(r.f = open_memstream(&r.buf, &r.len)))
		return;
	/* Read first (bounded), answer after: a client that is still writing
	 * would otherwise see EPIPE instead of the reply. */
	long long deadline = now_ms() + IO_TIMEOUT_MS;
	size_t n = read_request(fd, buf, sizeof(buf), deadline);
	if (n == sizeof(buf) && !memchr(buf, '\n', n))
		drain(fd, deadline);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 || cred.uid != 0) {
		zd_log(ZD_WARN, "control: refused a client with uid %d (root only)",
		       cl == sizeof(cred) ? (int)cred.uid : -1);
		say(&r, "error permission denied: ztierd accepts requests from root only\n");
	} else {
		if (zd_request_parse(buf, n, &q, &why)) {
			zd_log(ZD_WARN, "control: bad request (%zu bytes): %s", n, why);
			say(&r, "error %s\n", why);
		} else {
			do_request(d, &q, &r);
		}
	}
	fclose(r.f);
	write_all(fd, r.buf, r.len);
	free(r.buf);
}

void zd_ctl_accept(struct zd_daemon *d)
{
	int fd;

	while ((fd = accept4(d->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
		serve(d, fd);
		shutdown(fd, SHUT_WR);
		close(fd);
	}
}
