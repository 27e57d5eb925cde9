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
 * "error REASON", then the output.  A bad request is an error reply, never
 * an exit.
 *
 * Clients are served side by side by the loop, never waited for: each
 * connection (up to ZD_CLIENTS_MAX) is a non-blocking fd in the loop's
 * epoll set with its own buffer and ONE deadline (IO_TIMEOUT_MS) for
 * reading the request (and draining an oversized one), another for writing
 * the reply.  An idle or trickling client only uses its slot until then.
 * ping and status are answered at once (status from the snapshot,
 * daemon_snap.c); the other verbs are jobs (daemon_job.c): the client
 * waits, unwatched, for the job's reply, or is told "busy: JOB".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
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

/* ---- one client --------------------------------------------------------------- */

/* Watch c's fd for events (added again after a job). */
static void arm(struct zd_daemon *d, struct zd_client *c, unsigned events)
{
	struct epoll_event ev = { .events = events,
				  .data.u64 = ZD_TAG_CLIENT + (uint64_t)(c - d->clients) };

	if (epoll_ctl(d->loopfd, EPOLL_CTL_MOD, c->fd, &ev) < 0 &&
	    epoll_ctl(d->loopfd, EPOLL_CTL_ADD, c->fd, &ev) < 0)
		zd_log(ZD_ERR, "epoll (control client): %s", strerror(errno));
}

static void drop(struct zd_client *c)
{
	shutdown(c->fd, SHUT_WR);
	close(c->fd);                   /* which takes it out of the epoll set */
	free(c->out);
	c->out = NULL;
	c->fd = -1;
}

/* Write what the socket takes now; the rest when it is writable. */
static void flush(struct zd_daemon *d, struct zd_client *c)
{
	while (c->sent < c->out_len) {
		ssize_t w = write(c->fd, c->out + c->sent, c->out_len - c->sent);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			arm(d, c, EPOLLOUT);
			return;
		}
		if (w <= 0)
			break;                  /* the client went: nothing to tell */
		c->sent += (size_t)w;
	}
	drop(c);
}

static void reply_with(struct zd_daemon *d, struct zd_client *c, char *reply, size_t len)
{
	static char no_memory[] = "error out of memory\n";

	free(c->out);
	c->out = reply ? reply : strdup(no_memory);
	c->out_len = c->out ? (reply ? len : strlen(no_memory)) : 0;
	c->sent = 0;
	c->phase = ZD_CL_WRITE;
	c->deadline = zd_now_ms() + IO_TIMEOUT_MS;
	flush(d, c);
}

void zd_ctl_job_reply(struct zd_daemon *d)
{
	struct zd_job *j = &d->job;

	if (j->running)
		return;                         /* a spurious wake-up */
	if (j->client)
		reply_with(d, j->client, j->reply, j->reply_len);
	else
		free(j->reply);
	j->reply = NULL;
	j->client = NULL;
}

static void reply_fmt(struct zd_daemon *d, struct zd_client *c, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void reply_fmt(struct zd_daemon *d, struct zd_client *c, const char *fmt, ...)
{
	va_list ap;
	char *buf = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&buf, fmt, ap);
	va_end(ap);
	reply_with(d, c, n < 0 ? NULL : buf, n < 0 ? 0 : (size_t)n);
}

/* ping and status from the loop; the rest is a job, or "busy". */
static void dispatch(struct zd_daemon *d, struct zd_client *c, const struct zd_request *q)
{
	char busy[ZT_PATH_MAX + 128];
	size_t len = 0;

	zd_log(ZD_DEBUG, "request: %s %s", zd_verb_name(q->verb), q->arg);
	if (q->verb == ZD_REQ_PING) {
		reply_fmt(d, c, "ok\nztierd %s pid %d\n", ZT_VERSION, (int)getpid());
	} else if (q->verb == ZD_REQ_STATUS) {
		char *snap = zd_snapshot(d, &len);
		reply_with(d, c, snap, len);
	} else if (zd_job_start(d, ZD_JOB_REQUEST, q, c, busy, sizeof(busy))) {
		c->phase = ZD_CL_JOB;         /* no deadline: a swapoff takes long */
		epoll_ctl(d->loopfd, EPOLL_CTL_DEL, c->fd, NULL);
	} else {
		reply_fmt(d, c, "error %s\n", busy);
	}
}

/* The request is all there (newline, EOF, full buffer or deadline). */
static void request_ready(struct zd_daemon *d, struct zd_client *c)
{
	struct zd_request q;
	const char *why = NULL;
	struct ucred cred;
	socklen_t cl = sizeof(cred);

	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 || cred.uid != 0) {
		zd_log(ZD_WARN, "control: refused a client with uid %d (root only)",
		       cl == sizeof(cred) ? (int)cred.uid : -1);
		reply_fmt(d, c, "error permission denied: ztierd accepts requests from root only\n");
	} else if (zd_request_parse(c->buf, c->got, &q, &why)) {
		zd_log(ZD_WARN, "control: bad request (%zu bytes): %s", c->got + c->drained, why);
		reply_fmt(d, c, "error %s\n", why);
	} else {
		dispatch(d, c, &q);
	}
}

/* Read what is there.  An oversized request is read on (and dropped) up to
 * a bound, so that the client gets to read the error instead of EPIPE.
 * True when the request is complete. */
static bool read_some(struct zd_client *c)
{
	char junk[4096];

	for (;;) {
		bool full = c->got == sizeof(c->buf);
		char *p = full ? junk : c->buf + c->got;
		size_t cap = full ? sizeof(junk) : sizeof(c->buf) - c->got;
		ssize_t n = read(c->fd, p, cap);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return false;
		if (n <= 0)
			return true;            /* EOF, or an error: answer what came */
		if (full)
			c->drained += (size_t)n;
		else
			c->got += (size_t)n;
		if (memchr(p, '\n', (size_t)n) || c->drained >= DRAIN_MAX)
			return true;
	}
}

void zd_ctl_event(struct zd_daemon *d, struct zd_client *c, unsigned ev)
{
	if (c->fd < 0)
		return;
	if (c->phase == ZD_CL_READ && read_some(c))
		request_ready(d, c);
	else if (c->phase == ZD_CL_WRITE && (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
		flush(d, c);
}

int zd_ctl_expire(struct zd_daemon *d)
{
	long long now = zd_now_ms(), next = -1;

	for (unsigned i = 0; i < ZD_CLIENTS_MAX; i++) {
		struct zd_client *c = &d->clients[i];
		if (c->fd < 0 || c->phase == ZD_CL_JOB)
			continue;
		if (c->deadline <= now && c->phase == ZD_CL_READ)
			request_ready(d, c);    /* what came in time: an error reply */
		else if (c->deadline <= now)
			drop(c);                /* it does not read its reply */
		if (c->fd >= 0 && c->phase != ZD_CL_JOB && (next < 0 || c->deadline - now < next))
			next = c->deadline > now ? c->deadline - now : 0;
	}
	return (int)next;
}

static struct zd_client *free_slot(struct zd_daemon *d)
{
	for (unsigned i = 0; i < ZD_CLIENTS_MAX; i++)
		if (d->clients[i].fd < 0)
			return &d->clients[i];
	return NULL;
}

void zd_ctl_accept(struct zd_daemon *d)
{
	static const char full[] = "error busy: too many control clients\n";
	int fd;

	while ((fd = accept4(d->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
		struct zd_client *c = free_slot(d);
		if (!c) {
			if (write(fd, full, sizeof(full) - 1) < 0) { /* it goes anyway */ }
			close(fd);
			continue;
		}
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		c->phase = ZD_CL_READ;
		c->deadline = zd_now_ms() + IO_TIMEOUT_MS;
		arm(d, c, EPOLLIN);
	}
}

void zd_ctl_close(struct zd_daemon *d)
{
	for (unsigned i = 0; i < ZD_CLIENTS_MAX; i++)
		if (d->clients[i].fd >= 0)
			drop(&d->clients[i]);
	if (d->lfd >= 0) {
		close(d->lfd);
		unlink(d->conf.socket);
	}
	d->lfd = -1;
}
