/*
 * device.c — zram device lifecycle: hot_add, the /dev node, reset, hot_remove.
 *
 * The kernel facts this file is built around (see shared/reference/zram.md):
 *  - Reading zram-control/hot_add creates zramN and returns N.  The /dev node
 *    comes from devtmpfs/udev; we wait for it with inotify on /dev, bounded,
 *    instead of sleeping.
 *  - reset and hot_remove return EBUSY while ANY fd on /dev/zramN is open.
 *    udevd opens the node and takes flock(LOCK_SH) while it probes it, so a
 *    fresh or just-closed device is briefly busy.  Like zramctl we take
 *    flock(LOCK_EX) on the node (waits out udev, and udev skips a device
 *    that is locked), CLOSE it again (our own fd would make it busy), then
 *    write, and retry EBUSY with a growing backoff until a bound (3 s).
 *  - If the device stays busy a real opener holds it (swap, mount, an fd):
 *    the error says so.
 */
#include "zramctl-glue/zg_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

int zg_attach(struct zg_dev *dev, int id)
{
	char path[64];
	*dev = (struct zg_dev){ .id = id };   /* a fresh handle: no stale fields */
	zg_clear_err(dev);
	snprintf(path, sizeof(path), ZG_SYS_BLOCK "/zram%d", id);
	if (access(path, F_OK) == 0)
		return 0;
	int r = zg_fail(dev, id, "", NULL, -errno);
	zg_hint(dev, "%s", path);
	return r;
}

int zg_hot_add(struct zg_dev *dev)
{
	char buf[32];
	*dev = (struct zg_dev){ .id = -1 };   /* a fresh handle: no stale fields */
	zg_clear_err(dev);
	int r = zg_ctl_read(dev, -1, "hot_add", buf, sizeof(buf));
	if (r == -EACCES || r == -EPERM)
		zg_hint(dev, "hot_add is readable by root only");
	else if (r == -ENOENT)
		zg_hint(dev, "zram is not loaded (see zg_module_load)");
	if (r < 0)
		return r;
	char *end;
	long id = strtol(buf, &end, 10);
	if (end == buf || id < 0 || id > INT_MAX)
		return zg_fail(dev, -1, "hot_add", NULL, -EPROTO);
	dev->id = (int)id;
	return dev->id;
}

const char *zg_node_path(const struct zg_dev *dev, char *buf, size_t len)
{
	snprintf(buf, len, "/dev/zram%d", dev->id);
	return buf;
}

static bool node_ready(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISBLK(st.st_mode);
}

/* Wait until path is a block device, watching /dev; -ETIMEDOUT at the bound. */
static int wait_node(const char *path, int timeout_ms)
{
	int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (in < 0)
		return -errno;
	inotify_add_watch(in, "/dev", IN_CREATE | IN_ATTRIB | IN_MOVED_TO);
	long long deadline = zg_now_ms() + timeout_ms;
	int r = -ETIMEDOUT;
	char events[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		if (node_ready(path)) {
			r = 0;
			break;
		}
		long long left = deadline - zg_now_ms();
		if (left <= 0)
			break;
		struct pollfd p = { .fd = in, .events = POLLIN };
		if (poll(&p, 1, (int)left) > 0)
			while (read(in, events, sizeof(events)) > 0)
				;
	}
	close(in);
	return r;
}

int zg_open_node(struct zg_dev *dev, int flags)
{
	char path[32];
	zg_node_path(dev, path, sizeof(path));
	zg_clear_err(dev);
	int r = wait_node(path, ZG_NODE_TIMEOUT_MS);
	if (r < 0) {
		zg_fail(dev, dev->id, "", NULL, r);
		zg_hint(dev, "%s did not appear within %d ms", path, ZG_NODE_TIMEOUT_MS);
		return r;
	}
	int fd = open(path, flags | O_CLOEXEC);
	if (fd < 0) {
		r = zg_fail(dev, dev->id, "", NULL, -errno);
		zg_hint(dev, "open %s", path);
		return r;
	}
	return fd;
}

/*
 * Wait for udev to release the node: take flock(LOCK_EX) without blocking
 * forever, then close (our fd must not be open during reset).  A missing
 * node (no devtmpfs) is not an error: there is no udev lock to wait out.
 */
static void wait_udev_lock(const struct zg_dev *dev, long long deadline)
{
	char path[32];
	int fd = open(zg_node_path(dev, path, sizeof(path)), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return;
	while (flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK &&
	       zg_now_ms() < deadline)
		zg_sleep_ms(10);
	close(fd);
}

typedef int (*busy_op)(struct zg_dev *dev);

/* Run op until it stops returning -EBUSY or the bound passes. */
static int retry_busy(struct zg_dev *dev, busy_op op)
{
	int bound = dev->busy_timeout_ms > 0 ? dev->busy_timeout_ms : ZG_BUSY_TIMEOUT_MS;
	long long start = zg_now_ms(), deadline = start + bound;
	int delay = 5, r;
	for (;;) {
		wait_udev_lock(dev, deadline);
		r = op(dev);
		long long now = zg_now_ms();
		if (r != -EBUSY || now >= deadline)
			break;
		zg_sleep_ms(delay < deadline - now ? delay : (int)(deadline - now));
		delay = delay * 2 > 250 ? 250 : delay * 2;
	}
	if (r == -EBUSY)
		zg_hint(dev, "still busy after %lld ms: /dev/zram%d is open "
			"(swap, mount or an fd); close it first",
			zg_now_ms() - start, dev->id);
	return r;
}

static int write_reset(struct zg_dev *dev)
{
	return zg_write_attr(dev, "reset", "1");
}

static int write_hot_remove(struct zg_dev *dev)
{
	char id[16];
	snprintf(id, sizeof(id), "%d", dev->id);
	return zg_ctl_write(dev, dev->id, "hot_remove", id);
}

int zg_reset(struct zg_dev *dev)
{
	zg_clear_err(dev);
	return retry_busy(dev, write_reset);
}

int zg_hot_remove(struct zg_dev *dev)
{
	zg_clear_err(dev);
	int r = retry_busy(dev, write_hot_remove);
	if (r == 0)
		dev->id = -1;
	return r;
}
