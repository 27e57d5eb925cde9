/*
 * daemon_watch.c — ztierd's fd registry: the stacks' fds (d->epfd).
 *
 * d->epfd holds what concerns the stacks: the udev monitor and each
 * server's pidfd (the stack steps register it here).  While no job runs
 * it sits in the loop's own epoll set, and readable it starts the events
 * job (daemon_job.c), which reads it.  It calls
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

