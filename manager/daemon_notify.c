/*
 * daemon_notify.c — what ztierd says about itself as a whole: one summary of
 * its stacks (the "ready:" log line, and systemd's STATUS=), and sd_notify(3)
 * for a Type=notify unit: READY=1 once the stacks of the configuration are
 * built (swap is on: units ordered after ztierd.service may rely on it),
 * STATUS= whenever the summary changes, STOPPING=1 before the teardown.
 *
 * Outside systemd (no $NOTIFY_SOCKET) sd_notify does nothing.  Like
 * daemon_watch.c it calls nothing else of the daemon.
 */
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "manager/daemon.h"

/* The stacks counted by what an admin does about them: up is done,
 * waiting needs a device plugged in, unavailable needs another kernel,
 * failed needs the log, not built needs `ztierctl up`. */
enum { N_UP, N_DEGRADED, N_WAITING, N_UNAVAILABLE, N_FAILED, N_DOWN, N_COUNT };

static unsigned bucket(const struct zd_stack *s)
{
	switch (s->state) {
	case ZD_ST_UP:       return N_UP;
	case ZD_ST_DEGRADED: return N_DEGRADED;
	case ZD_ST_WAITING:  return N_WAITING;
	case ZD_ST_FAILED:   return s->unavailable ? N_UNAVAILABLE : N_FAILED;
	default:             return N_DOWN;
	}
}

void zd_summary(const struct zd_daemon *d, char *buf, size_t len)
{
	static const char *const what[N_COUNT] = {
		"stack(s) up", "degraded", "waiting for a spill device",
		"unavailable in this kernel", "failed", "not built",
	};
	unsigned n[N_COUNT] = { 0 };
	size_t at;

	for (unsigned i = 0; i < d->nstacks; i++)
		n[bucket(&d->stacks[i])]++;
	at = (size_t)snprintf(buf, len, "%u %s", n[N_UP], what[N_UP]);
	for (unsigned k = N_UP + 1; k < N_COUNT && at < len; k++)
		if (n[k])
			at += (size_t)snprintf(buf + at, len - at, ", %u %s", n[k], what[k]);
}

void zd_notify_status(const struct zd_daemon *d)
{
	static char last[256];
	char now[sizeof(last)];

	zd_summary(d, now, sizeof(now));
	if (!strcmp(now, last))
		return;
	memcpy(last, now, sizeof(last));
	sd_notifyf(0, "STATUS=%s", now);
}

void zd_notify_ready(const struct zd_daemon *d)
{
	zd_notify_status(d);
	sd_notify(0, "READY=1");
}

void zd_notify_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=stopping: taking every stack down");
}
