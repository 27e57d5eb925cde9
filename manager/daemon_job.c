/*
 * daemon_job.c — the job thread: everything that changes the stacks.
 *
 * A swapoff moves every page of a swap device back to RAM: minutes for a
 * large one.  mkfs, a ublk server's start and a teardown take seconds.  So
 * none of them runs in the loop, which must answer ping and status at once
 * and see SIGTERM at once: each is a job, run by a thread of its own, one
 * job at a time (the stacks are one list, torn down in reverse order, and
 * a reload may reorder it: two jobs on it at once would need a lock around
 * every step).  Jobs:
 *
 *   request  up, down, add, del, attach, detach, reload from a client; a
 *            second request while one runs is refused: "busy: down ztt"
 *   reload   SIGHUP; waits for the job in progress
 *   events   the stacks' fds (udev monitor, server pidfds) are readable
 *   stop     SIGTERM: every stack down in reverse order, then the loop ends
 *
 * The ownership of the stacks moves with the job (daemon.h); the loop learns
 * that a job is done from an eventfd and then joins its thread.  Should no
 * thread start, the job runs in the loop: slower to answer, still correct.
 */
#include <errno.h>
#include <libudev.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "manager/daemon.h"

/* ---- the requests ------------------------------------------------------------ */

/* up/down of one stack or all (down: in reverse order). */
static void up_down(struct zd_daemon *d, FILE *r, const char *name, bool up)
{
	int bad = 0;

	if (name[0] && !zd_stack_find(d, name)) {
		fprintf(r, "error no stack named '%s'\n", name);
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
		fprintf(r, "error %d stack(s) failed; see 'ztierctl status' and the log\n", bad);
		return;
	}
	fprintf(r, "ok\n");
}

static void run_request(struct zd_daemon *d, const struct zd_request *q, FILE *r)
{
	char msg[512];
	int err;

	switch (q->verb) {
	case ZD_REQ_UP:
	case ZD_REQ_DOWN:
		up_down(d, r, q->arg, q->verb == ZD_REQ_UP);
		return;
	case ZD_REQ_RELOAD:
		err = zd_reload(d);
		fprintf(r, err ? "error reload: %d problem(s) in the configuration; see the log\n"
			       : "ok\n", err);
		return;
	case ZD_REQ_ATTACH:
		err = zd_attach(d, q->arg, msg, sizeof(msg));
		break;
	case ZD_REQ_DETACH:
		err = zd_detach(d, q->arg, msg, sizeof(msg));
		break;
	case ZD_REQ_ADD:
		err = zd_add_policy(d, q->arg, msg, sizeof(msg));
		break;
	case ZD_REQ_DEL:
		err = zd_del_stack(d, q->arg, msg, sizeof(msg));
		break;
	case ZD_REQ_RESTART:
		err = zd_stack_restart(d, q->arg, msg, sizeof(msg));
		break;
	default:
		fprintf(r, "error unknown request\n");
		return;
	}
	fprintf(r, err ? "error %s\n" : "ok\n%s\n", msg);
}

/* ---- the stacks' events -------------------------------------------------------- */

static struct zd_stack *stack_by_pidfd(struct zd_daemon *d, int fd)
{
	for (unsigned i = 0; i < d->nstacks; i++)
		if (d->stacks[i].pidfd == fd)
			return &d->stacks[i];
	return NULL;
}

/* Everything d->epfd has ready: udev events, servers that died. */
static void stack_events(struct zd_daemon *d)
{
	int ufd = d->mon ? udev_monitor_get_fd(d->mon) : -1;
	struct epoll_event ev[8];
	int n;

	while ((n = epoll_wait(d->epfd, ev, 8, 0)) > 0) {
		for (int i = 0; i < n; i++) {
			int fd = ev[i].data.fd;
			struct zd_stack *s;
			if (fd == ufd) {
				zd_udev_event(d);
			} else if ((s = stack_by_pidfd(d, fd))) {
				epoll_ctl(d->epfd, EPOLL_CTL_DEL, fd, NULL);
				zd_server_died(d, s);
			} else {
				/* No stack owns it (any more): a level-triggered
				 * fd left registered would spin the loop. */
				zd_log(ZD_WARN, "epoll: fd %d belongs to no stack; dropped", fd);
				epoll_ctl(d->epfd, EPOLL_CTL_DEL, fd, NULL);
			}
		}
	}
}

static int stop_all(struct zd_daemon *d)
{
	int left = zd_all_down(d);

	for (unsigned i = 0; i < d->nstacks; i++)
		if (d->stacks[i].state == ZD_ST_UP || d->stacks[i].state == ZD_ST_DEGRADED)
			zd_log(ZD_ERR, "%s: left up: %s", d->stacks[i].name, d->stacks[i].reason);
	return left;
}

static void *job_main(void *arg)
{
	struct zd_daemon *d = arg;
	struct zd_job *j = &d->job;
	FILE *r = j->kind == ZD_JOB_REQUEST ? open_memstream(&j->reply, &j->reply_len) : NULL;
	uint64_t one = 1;

	if (j->kind == ZD_JOB_REQUEST && r)
		run_request(d, &j->req, r);
	else if (j->kind == ZD_JOB_RELOAD)
		zd_reload(d);
	else if (j->kind == ZD_JOB_EVENTS)
		stack_events(d);
	else if (j->kind == ZD_JOB_STOP) {
		zd_notify_stopping();
		j->result = stop_all(d);
	} else if (j->kind == ZD_JOB_MAINT)
		zd_maint_run(d);
	zd_maint_schedule(d);
	zd_zswap_apply(d);
	zd_pagecluster_apply(d);
	zd_publish(d);
	if (r && fclose(r)) {
		free(j->reply);
		j->reply = NULL;            /* the client is told: no memory */
	}
	if (write(j->donefd, &one, sizeof(one)) < 0)
		zd_log(ZD_ERR, "job: eventfd: %s", strerror(errno));
	return NULL;
}

/* ---- the loop's side ------------------------------------------------------------ */

static void describe(struct zd_job *j)
{
	switch (j->kind) {
	case ZD_JOB_REQUEST:
		snprintf(j->what, sizeof(j->what), "%s%s%s", zd_verb_name(j->req.verb),
			 j->req.arg[0] ? " " : "", j->req.arg);
		break;
	case ZD_JOB_RELOAD: snprintf(j->what, sizeof(j->what), "reload (SIGHUP)"); break;
	case ZD_JOB_EVENTS: snprintf(j->what, sizeof(j->what), "udev and server events"); break;
	case ZD_JOB_STOP: snprintf(j->what, sizeof(j->what), "stopping every stack"); break;
	case ZD_JOB_MAINT: snprintf(j->what, sizeof(j->what), "zram maintenance"); break;
	}
}

static void watch_stacks(struct zd_daemon *d, bool on)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = ZD_TAG_STACKS };

	if (epoll_ctl(d->loopfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, d->epfd, &ev) < 0)
		zd_log(ZD_ERR, "epoll (stacks' fds): %s", strerror(errno));
}

bool zd_job_start(struct zd_daemon *d, enum zd_job_kind kind, const struct zd_request *req,
		  struct zd_client *client, char *busy, size_t len)
{
	struct zd_job *j = &d->job;

	if (j->running || (d->stopping && kind != ZD_JOB_STOP)) {
		snprintf(busy, len, "busy: %s (for %lld s)", d->stopping && !j->running ?
			 "stopping" : j->what, (zd_now_ms() - j->since) / 1000);
		return false;
	}
	free(j->reply);                     /* a reply no one took */
	j->kind = kind;
	if (req)
		j->req = *req;
	j->client = client;
	j->reply = NULL;
	j->reply_len = 0;
	j->since = zd_now_ms();
	describe(j);
	zd_log(ZD_DEBUG, "job: %s", j->what);
	watch_stacks(d, false);             /* the job's now (daemon.h) */
	j->running = true;
	j->threaded = pthread_create(&j->thread, NULL, job_main, d) == 0;
	if (!j->threaded) {
		zd_log(ZD_WARN, "job %s: no thread (%s): run in the loop", j->what,
		       strerror(errno));
		job_main(d);
	}
	return true;
}

bool zd_job_done(struct zd_daemon *d)
{
	struct zd_job *j = &d->job;
	uint64_t n;

	if (read(j->donefd, &n, sizeof(n)) != sizeof(n) || !j->running)
		return false;
	if (j->threaded)
		pthread_join(j->thread, NULL);
	j->running = false;
	watch_stacks(d, true);
	zd_log(ZD_DEBUG, "job done: %s (%lld ms)", j->what, zd_now_ms() - j->since);
	return j->kind == ZD_JOB_STOP;      /* the reply waits in j (daemon_ctl.c) */
}

void zd_job_next(struct zd_daemon *d, bool events_ready)
{
	char busy[64];

	if (d->job.running)
		return;
	if (d->stopping) {
		zd_job_start(d, ZD_JOB_STOP, NULL, NULL, busy, sizeof(busy));
	} else if (d->reload_pending) {
		d->reload_pending = false;
		zd_job_start(d, ZD_JOB_RELOAD, NULL, NULL, busy, sizeof(busy));
	} else if (events_ready)
		zd_job_start(d, ZD_JOB_EVENTS, NULL, NULL, busy, sizeof(busy));
	else if (zd_maint_wait_ms(d) == 0)
		zd_job_start(d, ZD_JOB_MAINT, NULL, NULL, busy, sizeof(busy));
}

/* Block until no job runs; true when the teardown job was among them. */
static bool wait_jobs(struct zd_daemon *d)
{
	struct pollfd p = { .fd = d->job.donefd, .events = POLLIN };
	bool stopped = false;

	while (d->job.running) {
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			break;
		stopped |= zd_job_done(d);
		free(d->job.reply);             /* no one is answered any more */
		d->job.reply = NULL;
		d->job.client = NULL;
	}
	return stopped;
}

int zd_job_finish(struct zd_daemon *d, bool torn_down)
{
	char busy[64];

	torn_down |= wait_jobs(d);
	if (!torn_down) {
		d->stopping = true;
		zd_job_start(d, ZD_JOB_STOP, NULL, NULL, busy, sizeof(busy));
		wait_jobs(d);
	}
	return d->job.result;
}
