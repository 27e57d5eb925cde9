/*
 * daemon_watch.c — ztierd's fd registry: what its epoll loop waits on.
 *
 * The loop (ztierd.c) owns the epoll instance; whoever opens an fd the
 * loop must wake for registers it here: ztierd.c its signalfd and control
 * socket, the stack steps (daemon_stack.c) a server's pidfd.  It calls
 * nothing else of the daemon, so any file may use it without a loop in
 * the call graph.
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>

#include "manager/daemon.h"

void zd_watch(struct zd_daemon *d, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	if (fd >= 0 && epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		zd_log(ZD_ERR, "epoll: %s", strerror(errno));
}


void zd_watch_pidfd(struct zd_daemon *d, struct zd_stack *s)
{
	zd_watch(d, s->pidfd);
}

