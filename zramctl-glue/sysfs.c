/*
 * sysfs.c — reading and writing zram's sysfs attributes.
 *
 * sysfs reports an attribute's error as the errno of write(2) (or read(2)),
 * so each access is one open/read-or-write/close and the errno is kept as
 * it is.  The recording wrappers fill dev->err with the device, attribute
 * and value so the caller can say exactly what the kernel refused.
 */
#include "zramctl-glue/zg_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int zg_file_read(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, len - 1);
	int err = n < 0 ? -errno : 0;
	close(fd);
	if (err)
		return err;
	buf[n] = '\0';
	return (int)n;
}

int zg_file_write(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = strlen(value);
	ssize_t n = write(fd, value, len);
	int err = n < 0 ? -errno : (size_t)n != len ? -EIO : 0;
	close(fd);
	return err;
}

int zg_attr_path(char *buf, size_t len, int id, const char *attr)
{
	int n = snprintf(buf, len, ZG_SYS_BLOCK "/zram%d/%s", id, attr);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

bool zg_has_attr(const struct zg_dev *dev, const char *attr)
{
	char path[256];
	return zg_attr_path(path, sizeof(path), dev->id, attr) == 0 &&
	       access(path, F_OK) == 0;
}

void zg_clear_err(struct zg_dev *dev)
{
	memset(&dev->err, 0, sizeof(dev->err));
	dev->err.id = dev->id;
}

int zg_fail(struct zg_dev *dev, int id, const char *attr, const char *value, int err)
{
	struct zg_err *e = &dev->err;
	memset(e, 0, sizeof(*e));
	e->id = id;
	e->err = err;
	e->wrote = value != NULL;
	snprintf(e->attr, sizeof(e->attr), "%s", attr);
	snprintf(e->value, sizeof(e->value), "%s", value ? value : "");
	return err;
}

void zg_hint(struct zg_dev *dev, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(dev->err.hint, sizeof(dev->err.hint), fmt, ap);
	va_end(ap);
}

int zg_read_attr(struct zg_dev *dev, const char *attr, char *buf, size_t len)
{
	char path[256];
	int r = zg_attr_path(path, sizeof(path), dev->id, attr);
	if (r == 0)
		r = zg_file_read(path, buf, len);
	return r < 0 ? zg_fail(dev, dev->id, attr, NULL, r) : r;
}

int zg_write_attr(struct zg_dev *dev, const char *attr, const char *value)
{
	char path[256];
	int r = zg_attr_path(path, sizeof(path), dev->id, attr);
	if (r == 0)
		r = zg_file_write(path, value);
	return r < 0 ? zg_fail(dev, dev->id, attr, value, r) : 0;
}

int zg_write_u64(struct zg_dev *dev, const char *attr, uint64_t v)
{
	char value[32];
	snprintf(value, sizeof(value), "%" PRIu64, v);
	return zg_write_attr(dev, attr, value);
}

int zg_ctl_read(struct zg_dev *dev, int id, const char *attr, char *buf, size_t len)
{
	char path[128];
	snprintf(path, sizeof(path), ZG_SYS_CONTROL "/%s", attr);
	int r = zg_file_read(path, buf, len);
	return r < 0 ? zg_fail(dev, id, attr, NULL, r) : r;
}

int zg_ctl_write(struct zg_dev *dev, int id, const char *attr, const char *value)
{
	char path[128];
	snprintf(path, sizeof(path), ZG_SYS_CONTROL "/%s", attr);
	int r = zg_file_write(path, value);
	return r < 0 ? zg_fail(dev, id, attr, value, r) : 0;
}

long long zg_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void zg_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}
