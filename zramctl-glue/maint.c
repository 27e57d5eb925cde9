/*
 * maint.c — the zram triggers a maintenance pass uses, with what the kernel
 * lacks told apart from what failed.
 *
 * idle, writeback, writeback_limit(_enable) and recompress exist only with
 * their Kconfig options (idle: always since 4.20, its "SECS" form only with
 * TRACK_ENTRY_ACTIME; the rest: WRITEBACK, MULTI_COMP).  A missing attribute
 * is -EOPNOTSUPP naming the option, so the daemon can say once what this
 * kernel cannot do and go on with what it can.
 */
#include "zramctl-glue/zg_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* -EOPNOTSUPP with the option in the hint when attr is absent. */
static int need(struct zg_dev *dev, const char *attr, const char *value, const char *option)
{
	if (zg_has_attr(dev, attr))
		return 0;
	zg_fail(dev, dev->id, attr, value, -EOPNOTSUPP);
	zg_hint(dev, "this kernel's zram has no %s (%s)", attr, option);
	return -EOPNOTSUPP;
}

int zg_mark_idle_age(struct zg_dev *dev, unsigned secs)
{
	char value[16];
	int r;

	zg_clear_err(dev);
	snprintf(value, sizeof(value), "%u", secs);
	if ((r = need(dev, "idle", value, "kernel before 4.20")))
		return r;
	r = zg_write_attr(dev, "idle", value);
	/* EINVAL on an initialised device: the kernel parses only "all". */
	if (r == -EINVAL && zg_initstate(dev) == 1) {
		dev->err.err = -EOPNOTSUPP;
		zg_hint(dev, "no idle ages on this kernel (CONFIG_ZRAM_TRACK_ENTRY_ACTIME)");
		return -EOPNOTSUPP;
	}
	if (r == -EINVAL)
		zg_hint(dev, "device is not initialised (no disksize)");
	return r;
}

int zg_set_writeback_limit(struct zg_dev *dev, uint64_t pages)
{
	int r;

	zg_clear_err(dev);
	if ((r = need(dev, "writeback_limit_enable", "1", "CONFIG_ZRAM_WRITEBACK")))
		return r;
	/* The budget first: enabling it before would stop writeback meanwhile
	 * only if the old budget were 0, which is what a new device has. */
	if ((r = zg_write_u64(dev, "writeback_limit", pages)) == 0)
		r = zg_write_attr(dev, "writeback_limit_enable", "1");
	return r;
}

int zg_writeback_limit_off(struct zg_dev *dev)
{
	int r;

	zg_clear_err(dev);
	if ((r = need(dev, "writeback_limit_enable", "0", "CONFIG_ZRAM_WRITEBACK")))
		return r;
	return zg_write_attr(dev, "writeback_limit_enable", "0");
}

int zg_backing_dev(struct zg_dev *dev, char *buf, size_t len)
{
	int r;

	zg_clear_err(dev);
	if ((r = need(dev, "backing_dev", NULL, "CONFIG_ZRAM_WRITEBACK")))
		return r;
	if ((r = zg_read_attr(dev, "backing_dev", buf, len)) < 0)
		return r;
	buf[strcspn(buf, "\n")] = '\0';
	if (!strcmp(buf, "none"))
		buf[0] = '\0';
	return 0;
}

static int read_u64(struct zg_dev *dev, const char *attr, uint64_t *v)
{
	char buf[64], *end;
	int r = zg_read_attr(dev, attr, buf, sizeof(buf));

	if (r < 0)
		return r;
	errno = 0;
	*v = strtoull(buf, &end, 10);
	if (end == buf || errno)
		return zg_fail(dev, dev->id, attr, NULL, -EPROTO);
	return 0;
}

int zg_writeback_limit(struct zg_dev *dev, uint64_t *pages, bool *enabled)
{
	uint64_t on;
	int r;

	zg_clear_err(dev);
	if ((r = need(dev, "writeback_limit", NULL, "CONFIG_ZRAM_WRITEBACK")))
		return r;
	if ((r = read_u64(dev, "writeback_limit_enable", &on)) == 0)
		r = read_u64(dev, "writeback_limit", pages);
	*enabled = on != 0;
	return r;
}

int zg_recompress_pages(struct zg_dev *dev, const char *type, uint64_t threshold,
			uint64_t max_pages)
{
	char value[128];
	int n, r;

	zg_clear_err(dev);
	n = snprintf(value, sizeof(value), "type=%s", type);
	if (threshold)
		n += snprintf(value + n, sizeof(value) - (size_t)n, " threshold=%" PRIu64,
			      threshold);
	if (max_pages)
		snprintf(value + n, sizeof(value) - (size_t)n, " max_pages=%" PRIu64, max_pages);
	if ((r = need(dev, "recompress", value, "CONFIG_ZRAM_MULTI_COMP")))
		return r;
	r = zg_write_attr(dev, "recompress", value);
	if (r == -EINVAL && threshold)
		zg_hint(dev, "threshold must be below the kernel's huge size (about 3 KiB), "
			"and a secondary algorithm must be set");
	return r;
}
