/*
 * ztierd.c — the ztier daemon: main, options and the event loop (what the
 * loop's events do is in daemon_actions.c, daemon_ctl.c, daemon_udev.c).
 *
 *   ztierd [--foreground] [--config FILE] [--policy-dir DIR | --policy FILE]
 *          [--socket PATH] [--log-level LEVEL]
 *
 * Start-up order matters: the udev monitor is created first, then the stacks
 * are built (a stack whose spill device is absent waits), then present
 * devices are enumerated; so a spill device that appears at any point is
 * seen.  Then one epoll loop: signals (signalfd: TERM/INT stop, HUP reloads),
 * the control socket, udev events and one pidfd per ublk server.  Stop tears
 * every stack down in reverse order.  Without --foreground ztierd forks and
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
		"  -h, --help             show this help\n"
		"  -V, --version          show the version\n");
	return out == stdout ? 0 : 2;
}

struct opts {
	bool foreground;
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
		{ 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "fc:d:p:s:l:hV", lo, NULL)) != -1) {
		switch (c) {
		case 'f': o->foreground = true; break;
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

/* ---- the loop's dispatch ------------------------------------------------------ */

static struct zd_stack *stack_by_pidfd(struct zd_daemon *d, int fd)
{
	for (unsigned i = 0; i < d->nstacks; i++)
		if (d->stacks[i].pidfd == fd)
			return &d->stacks[i];
	return NULL;
}

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
			zd_reload(d);
		} else {
			zd_log(ZD_INFO, "signal %d: stopping", (int)si.ssi_signo);
			d->stopping = true;
		}
	}
}

static void loop(struct zd_daemon *d)
{
	int ufd = d->mon ? udev_monitor_get_fd(d->mon) : -1;

	while (!d->stopping) {
		struct epoll_event ev[8];
		int n = epoll_wait(d->epfd, ev, 8, -1);
		if (n < 0 && errno != EINTR) {
			zd_log(ZD_ERR, "epoll_wait: %s", strerror(errno));
			return;
		}
		for (int i = 0; i < n; i++) {
			int fd = ev[i].data.fd;
			struct zd_stack *s;
			if (fd == d->sigfd)
				on_signal(d);
			else if (fd == d->lfd)
				zd_ctl_accept(d);
			else if (fd == ufd)
				zd_udev_event(d);
			else if ((s = stack_by_pidfd(d, fd))) {
				epoll_ctl(d->epfd, EPOLL_CTL_DEL, fd, NULL);
				zd_server_died(d, s);
			} else {
				/* No stack owns it (any more): a level-triggered
				 * fd left registered would spin the loop. */
				zd_log(ZD_WARN, "epoll: fd %d belongs to no stack; dropped", fd);
				epoll_ctl(d->epfd, EPOLL_CTL_DEL, fd, NULL);
			}
		}
		zd_notify_status(d);
	}
}

/* ---- start and stop -------------------------------------------------------------------- */

static void ready_line(struct zd_daemon *d)
{
	char sum[256];

	zd_summary(d, sum, sizeof(sum));
	zd_log(ZD_INFO, "ready: %s; control socket %s", sum, d->conf.socket);
}

static int start(struct zd_daemon *d)
{
	int err;

	if (zd_config_read(d, false) < 0)
		return -1;              /* ztier.conf: its problems are logged */
	if ((d->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 || (d->sigfd = signal_fd()) < 0) {
		zd_log(ZD_ERR, "epoll/signalfd: %s", strerror(errno));
		return -1;
	}
	zd_watch(d, d->sigfd);
	if ((d->lfd = zd_ctl_listen(d->conf.socket)) < 0) {
		zd_log(ZD_ERR, "control socket %s: %s", d->conf.socket, d->lfd == -EADDRINUSE ?
		       "another ztierd answers there; not starting a second one" :
		       d->lfd == -EPERM ? "its directory must be root's and not writable by others" :
		       strerror(-d->lfd));
		return -1;
	}
	zd_watch(d, d->lfd);
	if ((err = zd_udev_start(d)))
		zd_log(ZD_WARN, "udev monitor: %s: spill devices are not followed", strerror(-err));
	zd_udev_write_rules(d);
	say_no_ublk(d);
	zd_all_up(d);
	if (d->mon)
		zd_udev_enumerate(d);
	ready_line(d);
	zd_notify_ready(d);
	return 0;
}

static int stop(struct zd_daemon *d)
{
	int left;

	zd_notify_stopping();
	left = zd_all_down(d);

	for (unsigned i = 0; i < d->nstacks; i++)
		if (d->stacks[i].state == ZD_ST_UP || d->stacks[i].state == ZD_ST_DEGRADED)
			zd_log(ZD_ERR, "%s: left up: %s", d->stacks[i].name, d->stacks[i].reason);
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

	d.epfd = d.sigfd = d.lfd = -1;
	if ((r = parse_opts(argc, argv, &d, &o)))
		return r;
	if (geteuid() != 0) {
		fprintf(stderr, "ztierd: must run as root (it creates block devices and swap)\n");
		return 1;
	}
	d.opt_level = o.level;
	zd_tool_path();
	if (!o.foreground)
		background(&notify);
	if (start(&d))
		return 1;       /* nothing was built yet: nothing to undo */
	if (notify >= 0) {
		if (write(notify, "r", 1) < 0) { /* parent gone */ }
		close(notify);
	}
	loop(&d);
	return stop(&d);
}
