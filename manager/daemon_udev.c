/*
 * daemon_udev.c — spill devices coming and going, followed through libudev.
 *
 * The monitor ("udev" events: after the rules ran, so by-id links exist) is
 * created and enabled BEFORE the enumeration of present devices, so a device
 * that appears in between is seen at least once; handling an "add" twice is
 * harmless (a stack already up ignores it).  No sleeps, no polling of /dev.
 *
 * A stack's spill target (a /dev path, usually /dev/disk/by-id/NAME or
 * /dev/disk/by-partlabel/NAME) matches a device when it is the device's node
 * or one of its links (DEVLINKS), which udev still reports on "remove", when
 * the links themselves are already gone.
 *
 *   add/change  a WAITING stack whose spill this is gets built (attach)
 *   remove      a stack using it is marked degraded: the server's reads of
 *               the lost pages fail with EIO; everything else keeps working
 *
 * Besides, ztierd writes /run/udev/rules.d/61-ztier-spill.rules naming the
 * declared targets, so that udev tags them for systemd (ztier-attach@.service)
 * and other tools leave them alone; the static udev/60-ztier.rules covers the
 * naming conventions (partition label or serial "ztier-spill*").
 */
#include <errno.h>
#include <fcntl.h>
#include <libudev.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manager/daemon.h"
#include "policy/common/common.h"

#define LINKS_MAX 32

bool zd_target_matches(const char *target, const char *devnode,
		       const char *const *links, unsigned nlinks)
{
	if (!target[0])
		return false;
	if (devnode && !strcmp(target, devnode))
		return true;
	for (unsigned i = 0; i < nlinks; i++)
		if (!strcmp(target, links[i]))
			return true;
	return false;
}

struct devnames {
	const char *node;
	const char *links[LINKS_MAX];
	unsigned n;
};

static void names_of(struct udev_device *dev, struct devnames *nm)
{
	struct udev_list_entry *e;

	nm->node = udev_device_get_devnode(dev);
	nm->n = 0;
	udev_list_entry_foreach(e, udev_device_get_devlinks_list_entry(dev))
		if (nm->n < LINKS_MAX)
			nm->links[nm->n++] = udev_list_entry_get_name(e);
}

static bool uses(const struct zd_stack *s, const struct devnames *nm)
{
	return s->kind == ZD_KIND_ZTIER &&
	       zd_target_matches(s->spill, nm->node, nm->links, nm->n);
}

static void spill_added(struct zd_daemon *d, const struct devnames *nm)
{
	for (unsigned i = 0; i < d->nstacks; i++) {
		struct zd_stack *s = &d->stacks[i];
		if (s->state != ZD_ST_WAITING || s->detached || !uses(s, nm))
			continue;
		zd_log(ZD_INFO, "%s: spill %s appeared (%s): attaching", s->name, s->spill, nm->node);
		zd_stack_up(d, s);
	}
}

static void spill_removed(struct zd_daemon *d, const struct devnames *nm)
{
	for (unsigned i = 0; i < d->nstacks; i++) {
		struct zd_stack *s = &d->stacks[i];
		if (uses(s, nm) && s->state == ZD_ST_WAITING && s->detached) {
			s->detached = false;
			zd_log(ZD_INFO, "%s: detached spill %s is gone", s->name, nm->node);
		}
		if (!uses(s, nm) || (s->state != ZD_ST_UP && s->state != ZD_ST_DEGRADED))
			continue;
		snprintf(s->reason, sizeof(s->reason), "spill device %.100s removed while in "
			 "use: reads of its pages fail with EIO", nm->node);
		zd_log(ZD_ERR, "%s: %s; other tiers keep working", s->name, s->reason);
		s->state = ZD_ST_DEGRADED;
	}
}

static void handle(struct zd_daemon *d, struct udev_device *dev, const char *action)
{
	struct devnames nm;

	names_of(dev, &nm);
	if (!nm.node)
		return;
	zd_log(ZD_DEBUG, "udev: %s %s", action, nm.node);
	if (!strcmp(action, "add"))     /* not "change": closing a device we
					  * detached emits one */
		spill_added(d, &nm);
	else if (!strcmp(action, "remove"))
		spill_removed(d, &nm);
}

void zd_udev_event(struct zd_daemon *d)
{
	struct udev_device *dev;

	while ((dev = udev_monitor_receive_device(d->mon))) {
		const char *action = udev_device_get_action(dev);
		if (action)
			handle(d, dev, action);
		udev_device_unref(dev);
	}
}

void zd_udev_enumerate(struct zd_daemon *d)
{
	struct udev_enumerate *en = udev_enumerate_new(d->udev);
	struct udev_list_entry *e;

	if (!en)
		return;
	udev_enumerate_add_match_subsystem(en, "block");
	udev_enumerate_add_match_is_initialized(en);
	udev_enumerate_scan_devices(en);
	udev_list_entry_foreach(e, udev_enumerate_get_list_entry(en)) {
		struct udev_device *dev =
			udev_device_new_from_syspath(d->udev, udev_list_entry_get_name(e));
		if (dev) {
			handle(d, dev, "add");
			udev_device_unref(dev);
		}
	}
	udev_enumerate_unref(en);
}

int zd_udev_start(struct zd_daemon *d)
{
	struct epoll_event ev = { .events = EPOLLIN };

	if (!(d->udev = udev_new()))
		return -ENOMEM;
	d->mon = udev_monitor_new_from_netlink(d->udev, "udev");
	if (!d->mon || udev_monitor_filter_add_match_subsystem_devtype(d->mon, "block", NULL) < 0 ||
	    udev_monitor_enable_receiving(d->mon) < 0) {
		zd_udev_stop(d);
		return -EIO;
	}
	ev.data.fd = udev_monitor_get_fd(d->mon);
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, ev.data.fd, &ev) < 0) {
		zd_udev_stop(d);
		return -errno;
	}
	return 0;
}

void zd_udev_stop(struct zd_daemon *d)
{
	if (d->mon)
		udev_monitor_unref(d->mon);
	if (d->udev)
		udev_unref(d->udev);
	d->mon = NULL;
	d->udev = NULL;
}

/* ---- generated rules ------------------------------------------------------ */

/* Two lines per target: mark the device with the stack's name, then (unless
 * 60-ztier.rules already did, by serial or label convention) hand it over. */
static void rule_for(FILE *f, const struct zd_stack *s)
{
	const char *t = s->spill + 5;          /* after "/dev/" */
	const char *slash = strchr(t, '/');

	fprintf(f, "# %s\nACTION!=\"remove\", SUBSYSTEM==\"block\", %s==\"%s\", "
		"ENV{ZTIER_STACK}=\"%s\"\n", s->name, slash ? "SYMLINK" : "KERNEL", t, s->name);
	fprintf(f, "ENV{ZTIER_STACK}==\"%s\", ENV{ZTIER_SPILL}!=\"?*\", ENV{ZTIER_SPILL}=\"%s\", "
		"ENV{UDISKS_IGNORE}=\"1\", TAG+=\"systemd\", "
		"ENV{SYSTEMD_WANTS}+=\"ztier-attach@%%k.service\"\n", s->name, s->name);
}

void zd_udev_write_rules(struct zd_daemon *d)
{
	char tmp[] = ZD_RULES_PATH ".XXXXXX";
	unsigned n = 0;

	for (unsigned i = 0; i < d->nstacks; i++)
		n += d->stacks[i].spill[0] && !strncmp(d->stacks[i].spill, "/dev/", 5);
	if (!n) {
		unlink(ZD_RULES_PATH);
		return;
	}
	mkdir("/run/udev", 0755);
	mkdir("/run/udev/rules.d", 0755);
	int fd = mkostemp(tmp, O_CLOEXEC);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		zd_log(ZD_WARN, "cannot write %s: %s", ZD_RULES_PATH, strerror(errno));
		return;
	}
	fprintf(f, "# Generated by ztierd from the policies' spill targets; do not edit.\n");
	for (unsigned i = 0; i < d->nstacks; i++) {
		const struct zd_stack *s = &d->stacks[i];
		if (!s->spill[0] || strncmp(s->spill, "/dev/", 5))
			continue;
		if (zt_rule_safe(s->spill) && zt_name_ok(s->name))
			rule_for(f, s);      /* (policies are checked when read) */
		else
			zd_log(ZD_WARN, "%s: spill target left out of %s: %s", s->name,
			       ZD_RULES_PATH, ZT_RULE_UNSAFE_WHY);
	}
	fchmod(fd, 0644);
	if (fclose(f) || rename(tmp, ZD_RULES_PATH)) {
		zd_log(ZD_WARN, "cannot write %s: %s", ZD_RULES_PATH, strerror(errno));
		unlink(tmp);
	}
}

/* ---- attach / detach on request ------------------------------------------------ */

/* Names of a device given by the user: the path and where it resolves to. */
static bool same_device(const char *a, const char *b)
{
	char ra[PATH_MAX], rb[PATH_MAX];

	if (!strcmp(a, b))
		return true;
	return realpath(a, ra) && realpath(b, rb) && !strcmp(ra, rb);
}

static struct zd_stack *stack_of_spill(struct zd_daemon *d, const char *dev)
{
	for (unsigned i = 0; i < d->nstacks; i++)
		if (d->stacks[i].kind == ZD_KIND_ZTIER && d->stacks[i].spill[0] &&
		    same_device(d->stacks[i].spill, dev))
			return &d->stacks[i];
	return NULL;
}

int zd_attach(struct zd_daemon *d, const char *dev, char *msg, size_t len)
{
	struct zd_stack *s = stack_of_spill(d, dev);

	if (!s) {
		snprintf(msg, len, "%s: no policy declares it as spill", dev);
		return -ENOENT;
	}
	if (s->state == ZD_ST_UP) {
		snprintf(msg, len, "%s: already attached to %s (%s)", dev, s->name, s->dev);
		return 0;
	}
	/* A degraded stack still has its device (and maybe its swap): building
	 * again would put a second device beside it and lose track of the
	 * first.  Taking it down is a decision for the user (swapoff). */
	if (s->state == ZD_ST_DEGRADED) {
		snprintf(msg, len, "%s: %s is degraded (%.200s): take it down first "
			 "('ztierctl down %s')", dev, s->name, s->reason, s->name);
		return -EBUSY;
	}
	zd_log(ZD_INFO, "%s: attach %s requested", s->name, dev);
	if (s->state != ZD_ST_WAITING)
		s->state = ZD_ST_DOWN;
	s->detached = false;
	int err = zd_stack_up(d, s);
	if (!err && s->state == ZD_ST_WAITING)
		err = -ENODEV;
	snprintf(msg, len, err ? "%s: %s" : "%s: attached to %s (%s)", dev,
		 err ? s->reason : s->name, s->dev);
	return err;
}

int zd_detach(struct zd_daemon *d, const char *dev, char *msg, size_t len)
{
	struct zd_stack *s = stack_of_spill(d, dev);

	if (!s) {
		snprintf(msg, len, "%s: not a spill device of any stack", dev);
		return -ENOENT;
	}
	if (s->state != ZD_ST_UP && s->state != ZD_ST_DEGRADED) {
		snprintf(msg, len, "%s: not attached (%s is %s)", dev, s->name,
			 zd_state_name(s->state));
		return -EINVAL;
	}
	/* The server cannot drop a tier while it serves: detaching the spill
	 * takes the whole ztier device down; swapoff first moves every page
	 * it holds back to RAM (from where it may go to other swap), or fails
	 * with ENOMEM when there is no room, and then nothing is changed. */
	zd_log(ZD_INFO, "%s: detach %s requested: moving its pages off (swapoff)", s->name, dev);
	int err = zd_stack_down(d, s);
	if (err) {
		snprintf(msg, len, "%s: refused: %s", dev, s->reason);
		return err;
	}
	s->state = ZD_ST_WAITING;
	s->detached = true;
	snprintf(s->reason, sizeof(s->reason), "detached on request; waiting for its spill device");
	snprintf(msg, len, "%s: detached from %s; its pages were moved off first", dev, s->name);
	zd_log(ZD_INFO, "%s: %s", s->name, s->reason);
	return 0;
}
