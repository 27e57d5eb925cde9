/*
 * ztierd.c — the ztier daemon: main, options and the event loop (what the
 * loop's events do is in daemon_actions.c, daemon_ctl.c, daemon_udev.c).
 *
 *   ztierd [--foreground] [--config FILE] [--policy-dir DIR | --policy FILE]
 *          [--socket PATH] [--log-level LEVEL] [--dry-run]
 *
 * Start-up order matters: the udev monitor is created first, then the stacks
 * are built (a stack whose spill device is absent waits), then present
 * devices are enumerated; so a spill device that appears at any point is
 * seen.  Then one epoll loop: signals (signalfd: TERM/INT stop, HUP reloads),
 * the control socket and its clients; what changes the stacks (requests,
 * udev events, a server's pidfd, reload, the teardown at stop) is a job on
 * a thread of its own (daemon_job.c), so the loop always answers.  Stop
 * tears every stack down in reverse order.  Without --foreground ztierd forks and
 * the parent exits once the child is ready (systemd runs it in the
 * foreground as a Type=notify service: daemon_notify.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libudev.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "build/paths.h"        /* generated: ZT_VERSION, ZT_SYSCONFDIR, ... */
#include "manager/daemon.h"
#include "ublk/ztublk.h"
#include "zramctl-glue/zramctl_glue.h"

static int usage(FILE *out)
{
	fprintf(out, "Usage: ztierd [OPTIONS]\n\n"
		"Build the swap stacks of ztier.conf(5) and the policies, follow spill\n"
		"devices through udev, and serve ztierctl(8) on the control socket.\n\n"
		"  -f, --foreground       do not fork (what systemd and the README use)\n"
		"  -c, --config FILE      instead of " ZT_SYSCONFDIR "/ztier/ztier.conf\n"
		"  -d, --policy-dir DIR   read policies from DIR only\n"
		"  -p, --policy FILE      build this one policy only\n"
		"  -s, --socket PATH      control socket (default " ZD_SOCKET_PATH ")\n"
		"  -l, --log-level LEVEL  error, warning, info (default) or debug\n"
		"  -n, --dry-run          print the stacks it would build and exit\n"
		"                         (1 on a configuration problem; no root needed)\n"
		"  -h, --help             show this help\n"
		"  -V, --version          show the version\n");
	return out == stdout ? 0 : 2;
}

struct opts {
	bool foreground;
	bool dry_run;
	int level;
};

static int parse_opts(int argc, char **argv, struct zd_daemon *d, struct opts *o)
{
	static const struct option lo[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "config", required_argument, NULL, 'c' },
		{ "policy-dir", required_argument, NULL, 'd' },
		{ "policy", required_argument, NULL, 'p' },
		{ "socket", required_argument, NULL, 's' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "fc:d:p:s:l:hVn", lo, NULL)) != -1) {
		switch (c) {
		case 'f': o->foreground = true; break;
		case 'n': o->dry_run = true; break;
		case 'c': d->conf_path = optarg; break;
		case 'd': d->opt_policy_dir = optarg; break;
		case 'p': d->policy_file = optarg; break;
		case 's': d->opt_socket = optarg; break;
		case 'l':
			if ((o->level = zd_level_parse(optarg)) < 0) {
				fprintf(stderr, "ztierd: bad --log-level '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h': exit(usage(stdout));
		case 'V': printf("ztierd %s\n", ZT_VERSION); exit(0);
		default: return usage(stderr);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "ztierd: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	return 0;
}

/* ---- start-up messages ------------------------------------------------------ */

/* Why the module could not be had, in a few words (the whole story is
 * zg_module_message's, at debug level). */
static const char *no_module_why(const struct zg_module *m)
{
	if (!m->kernel_modules)
		return "kernel without module support";
	if (!m->have_modules_dir)
		return "no /lib/modules for this kernel";
	return m->err == -ENOENT ? "module not installed" : strerror(-m->err);
}

static void say_no_ublk(struct zd_daemon *d)
{
	struct zg_module m;
	char msg[300];
	unsigned ztier = 0;

	zg_module_load("ublk_drv", NULL, &m);
	d->have_ublk = ztu_control_present();
	for (unsigned i = 0; i < d->nstacks; i++)
		ztier += d->stacks[i].kind == ZD_KIND_ZTIER;
	if (d->have_ublk || !ztier)
		return;
	zd_log(ZD_WARN, "no ublk_drv (%s): %u ztier device(s) unavailable, zram swap only",
	       no_module_why(&m), ztier);
	zd_log(ZD_DEBUG, "%s", zg_module_message(&m, msg, sizeof(msg)));
}

/* ---- signals and the loop ------------------------------------------------------------ */

static int signal_fd(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static void on_signal(struct zd_daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			d->reload_pending = true;       /* a job, after the one running */
		} else if (d->stopping) {
			zd_log(ZD_INFO, "signal %d: already stopping", (int)si.ssi_signo);
		} else {
			zd_log(ZD_INFO, "signal %d: stopping", (int)si.ssi_signo);
			d->stopping = true;
		}
	}
}

/* Until the nearest client deadline or, between jobs, the maintenance job
 * (daemon_maint.c; d->maint_due is the stacks' owner's, read with no job). */
static int loop_timeout(struct zd_daemon *d)
{
	int c = zd_ctl_expire(d), m = d->job.running ? -1 : zd_maint_wait_ms(d);

	return c < 0 ? m : m < 0 || c < m ? c : m;
}

/* The loop only answers and hands work to jobs (daemon_job.c): it waits on
 * signals, the control socket and its clients (with their deadlines), the
 * job's eventfd and, while no job runs, the stacks' fds.  True when it
 * ended because the teardown job is done. */
static bool loop(struct zd_daemon *d)
{
	for (;;) {
		struct epoll_event ev[16];
		bool stacks = false;
		int n = epoll_wait(d->loopfd, ev, 16, loop_timeout(d));

		if (n < 0 && errno != EINTR) {
			zd_log(ZD_ERR, "epoll_wait: %s", strerror(errno));
			return false;
		}
		for (int i = 0; i < n; i++) {
			uint64_t tag = ev[i].data.u64;
			if (tag == ZD_TAG_SIGNAL)
				on_signal(d);
			else if (tag == ZD_TAG_LISTEN)
				zd_ctl_accept(d);
			else if (tag == ZD_TAG_STACKS)
				stacks = true;
			else if (tag == ZD_TAG_SUPER && eventfd_read(d->super_fd, &(eventfd_t){ 0 }) == 0)
				stacks = true;     /* a recovery: publish (events job) */
			else if (tag == ZD_TAG_JOB && zd_job_done(d))
				return true;
			else if (tag == ZD_TAG_JOB)
				zd_ctl_job_reply(d);
			else if (tag >= ZD_TAG_CLIENT && tag < ZD_TAG_CLIENT + ZD_CLIENTS_MAX)
				zd_ctl_event(d, &d->clients[tag - ZD_TAG_CLIENT], ev[i].events);
		}
		zd_job_next(d, stacks);
		zd_child_reap_abandoned();
	}
}

/* ---- start and stop -------------------------------------------------------------------- */

static void ready_line(struct zd_daemon *d)
{
	char sum[256];

	zd_summary(d, sum, sizeof(sum));
	zd_log(ZD_INFO, "ready: %s; control socket %s", sum, d->conf.socket);
}

static void loop_watch(struct zd_daemon *d, int fd, enum zd_tag tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	if (epoll_ctl(d->loopfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		zd_log(ZD_ERR, "epoll: %s", strerror(errno));
}

static int start(struct zd_daemon *d)
{
	int err;

	if (zd_config_read(d, false) < 0)
		return -1;              /* ztier.conf: its problems are logged */
	if ((d->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (d->loopfd = epoll_create1(EPOLL_CLOEXEC)) < 0 || (d->sigfd = signal_fd()) < 0 ||
	    (d->job.donefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0 ||
	    (d->super_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		zd_log(ZD_ERR, "epoll/signalfd/eventfd: %s", strerror(errno));
		return -1;
	}
	loop_watch(d, d->sigfd, ZD_TAG_SIGNAL);
	loop_watch(d, d->job.donefd, ZD_TAG_JOB);
	loop_watch(d, d->super_fd, ZD_TAG_SUPER);
	loop_watch(d, d->epfd, ZD_TAG_STACKS);
	if ((d->lfd = zd_ctl_listen(d->conf.socket)) < 0) {
		zd_log(ZD_ERR, "control socket %s: %s", d->conf.socket, d->lfd == -EADDRINUSE ?
		       "another ztierd answers there; not starting a second one" :
		       d->lfd == -EPERM ? "its directory must be root's and not writable by others" :
		       strerror(-d->lfd));
		return -1;
	}
	loop_watch(d, d->lfd, ZD_TAG_LISTEN);
	if ((err = zd_udev_start(d)))
		zd_log(ZD_WARN, "udev monitor: %s: spill devices are not followed", strerror(-err));
	zd_udev_write_rules(d);
	say_no_ublk(d);
	zd_all_up(d);
	if (d->mon)
		zd_udev_enumerate(d);
	zd_maint_schedule(d);
	zd_zswap_apply(d);
	zd_pagecluster_apply(d);
	zd_publish(d);
	ready_line(d);
	zd_notify_ready(d);
	return 0;
}

/* After the loop (the teardown job normally ran in it). */
static int stop(struct zd_daemon *d, bool torn_down)
{
	int left = zd_job_finish(d, torn_down);

	zd_zswap_restore(d);
	zd_pagecluster_restore(d);

	zd_ctl_close(d);
	unlink(ZD_RULES_PATH);
	zd_udev_stop(d);
	for (unsigned i = 0; i < d->nstacks; i++)
		zd_stack_free(&d->stacks[i]);
	zd_log(ZD_INFO, left ? "stopped; %d stack(s) could not be taken down" : "stopped", left);
	return left ? 1 : 0;
}

/* Without --foreground: the parent returns once the child is ready. */
static void background(int *notify)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	pid_t pid = fork();
	if (pid > 0) {
		char c;
		close(p[1]);
		exit(read(p[0], &c, 1) == 1 ? 0 : 1);
	}
	close(p[0]);
	setsid();
	*notify = p[1];
}

int main(int argc, char **argv)
{
	static struct zd_daemon d;
	struct opts o = { .level = -1 };
	int notify = -1, r;

	d.epfd = d.loopfd = d.sigfd = d.lfd = d.job.donefd = -1;
	for (unsigned i = 0; i < ZD_CLIENTS_MAX; i++)
		d.clients[i].fd = -1;
	pthread_mutex_init(&d.snap_lock, NULL);
	if ((r = parse_opts(argc, argv, &d, &o)))
		return r;
	d.opt_level = o.level;
	if (o.dry_run)
		return zd_dry_run(&d, stdout);
	if (geteuid() != 0) {
		fprintf(stderr, "ztierd: must run as root (it creates block devices and swap)\n");
		return 1;
	}
	zd_tool_path();
	if (!o.foreground)
		background(&notify);
	/* A server started by `ztier-ublk recover` (restart) outlives that
	 * tool: reparented to us, it is reaped and supervised like the rest. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (start(&d))
		return 1;       /* nothing was built yet: nothing to undo */
	if (notify >= 0) {
		if (write(notify, "r", 1) < 0) { /* parent gone */ }
		close(notify);
	}
	return stop(&d, loop(&d));
}
