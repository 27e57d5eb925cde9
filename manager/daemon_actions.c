/*
 * daemon_actions.c — what ztierd does to its stacks as a whole, on a
 * signal or a request: bring all up, take all down (reverse order), reload
 * the configuration, add a policy as a stack, delete a stack.
 *
 * Layering (no file calls one above it, so the files form no loop):
 *   ztierd.c         main, options, the epoll loop, start and stop
 *   daemon_ctl.c     the control socket: requests -> actions
 *   daemon_actions.c this file: config + stacks + udev rules together
 *   daemon_load.c    files -> the wanted list of stacks (no building)
 *   daemon_udev.c    spill devices come and go -> stack up/down
 *   daemon_stack.c   one stack's steps, up and down
 *   daemon_ublk.c, daemon_swap.c, daemon_watch.c, daemon_ztierconf.c,
 *   daemon_dropin.c, daemon_request.c, daemon_log.c: leaves
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manager/daemon.h"

void zd_all_up(struct zd_daemon *d)
{
	for (unsigned i = 0; i < d->nstacks; i++) {
		struct zd_stack *s = &d->stacks[i];
		if (s->state == ZD_ST_DOWN)
			zd_stack_up(d, s);
	}
}


int zd_all_down(struct zd_daemon *d)
{
	int left = 0;

	for (unsigned i = d->nstacks; i-- > 0;)
		if (zd_stack_down(d, &d->stacks[i]))
			left++;
	return left;
}


static void forget(struct zd_daemon *d, unsigned i)
{
	zd_stack_free(&d->stacks[i]);
	memmove(&d->stacks[i], &d->stacks[i + 1], (d->nstacks - i - 1) * sizeof(d->stacks[0]));
	d->nstacks--;
}


int zd_del_stack(struct zd_daemon *d, const char *name, char *msg, size_t len)
{
	struct zd_stack *s = zd_stack_find(d, name);
	int err;

	if (!s) {
		snprintf(msg, len, "no stack named '%s'", name);
		return -ENOENT;
	}
	if ((err = zd_stack_down(d, s))) {
		snprintf(msg, len, "%s: %s", name, s->reason);
		return err;
	}
	forget(d, (unsigned)(s - d->stacks));
	zd_udev_write_rules(d);
	snprintf(msg, len, "%s: removed", name);
	zd_log(ZD_INFO, "%s: removed on request", name);
	return 0;
}


int zd_reload(struct zd_daemon *d)
{
	int problems;

	zd_log(ZD_INFO, "reloading the configuration");
	problems = zd_config_read(d, true);
	if (problems)
		zd_log(ZD_WARN, "reload: %d problem(s) in the configuration: running stacks are "
		       "kept even if they seem removed", problems);
	for (unsigned i = d->nstacks; i-- > 0;) {
		if (!d->stacks[i].removed)
			continue;
		if (problems) {
			d->stacks[i].removed = false;
			continue;
		}
		if (zd_stack_down(d, &d->stacks[i]) == 0) {
			zd_log(ZD_INFO, "%s: no longer configured: removed", d->stacks[i].name);
			forget(d, i);
		} else {
			d->stacks[i].removed = false;
		}
	}
	zd_udev_write_rules(d);
	zd_all_up(d);
	return problems;
}


int zd_add_policy(struct zd_daemon *d, const char *path, char *msg, size_t len)
{
	struct zt_policy *p;
	struct zd_stack *s;

	if (path[0] != '/') {
		snprintf(msg, len, "%s: give an absolute path", path);
		return -EINVAL;
	}
	if (!(p = zd_policy_load(&d->conf, path, NULL))) {
		snprintf(msg, len, "%s: invalid or unreadable policy (problems are in the log)", path);
		return -EINVAL;
	}
	if (zd_stack_find(d, p->name) || d->nstacks == ZD_STACKS_MAX) {
		snprintf(msg, len, "%s: a stack named '%s' exists (or too many stacks)", path, p->name);
		free(p);
		return -EEXIST;
	}
	s = &d->stacks[d->nstacks++];
	memset(s, 0, sizeof(*s));
	s->kind = ZD_KIND_ZTIER;
	snprintf(s->name, sizeof(s->name), "%s", p->name);
	s->zram_id = s->ublk_id = s->pidfd = -1;
	s->policy = p;
	s->added = true;
	zt_spill_path(p, s->spill, sizeof(s->spill));
	zd_log(ZD_INFO, "%s: added from %s", s->name, path);
	zd_udev_write_rules(d);
	int err = zd_stack_up(d, s);
	snprintf(msg, len, "%s: %s%s%s", s->name, zd_state_name(s->state),
		 s->reason[0] ? ": " : "", s->reason);
	return err;
}
