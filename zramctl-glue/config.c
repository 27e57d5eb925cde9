/*
 * config.c — configure a zram device in the order the kernel requires.
 *
 * comp_algorithm, algorithm_params, backing_dev and compressed_writeback
 * are only accepted before disksize (after it they give EBUSY); disksize initialises the device and
 * is refused once set; mem_limit can change at any time.  zg_apply() writes
 * them in that order from one struct, so a configuration is one value that
 * can be re-applied after reset (which wipes all of it: zg_reconfigure).
 *
 * The kernel sends no uevent for disksize, so success is confirmed by
 * reading initstate, not by waiting for an event.
 */
#include "zramctl-glue/zg_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The comp_algorithm listing without its trailing newline, for hints. */
static void hint_algorithms(struct zg_dev *dev)
{
	char list[ZG_ATTR_BUF];
	struct zg_err saved = dev->err;
	int r = zg_read_attr(dev, "comp_algorithm", list, sizeof(list));
	dev->err = saved;
	if (r < 0)
		return;
	list[strcspn(list, "\n")] = '\0';
	size_t n = strlen(list);
	while (n && list[n - 1] == ' ')
		list[--n] = '\0';
	zg_hint(dev, "kernel offers: %s", list);
}

static int write_algorithm(struct zg_dev *dev, const char *algo)
{
	int r = zg_write_attr(dev, "comp_algorithm", algo);
	if (r == -EINVAL || r == -E2BIG)
		hint_algorithms(dev);
	else if (r == -EBUSY)
		zg_hint(dev, "device is initialised: reset it first");
	return r;
}

/* Write attr when a value was asked for.  A kernel without the attribute
 * cannot honour the request: say so instead of dropping it silently. */
static int write_requested(struct zg_dev *dev, const char *attr, const char *value)
{
	if (!value || !*value)
		return 0;
	if (!zg_has_attr(dev, attr)) {
		zg_fail(dev, dev->id, attr, value, -EOPNOTSUPP);
		zg_hint(dev, "this kernel's zram has no %s%s", attr,
			!strcmp(attr, "backing_dev") ? " (CONFIG_ZRAM_WRITEBACK)" : "");
		return -EOPNOTSUPP;
	}
	int r = zg_write_attr(dev, attr, value);
	if (r == -EBUSY)
		zg_hint(dev, "device is initialised: reset it first");
	return r;
}

/* The secondary algorithm; an unknown one lists what the kernel offers. */
static int write_recomp(struct zg_dev *dev, const char *algo)
{
	char value[64];
	int r;

	if (!algo || !*algo)
		return 0;
	snprintf(value, sizeof(value), "algo=%s priority=1", algo);
	r = write_requested(dev, "recomp_algorithm", value);
	if (r == -EOPNOTSUPP)
		zg_hint(dev, "this kernel's zram has no recompression (CONFIG_ZRAM_MULTI_COMP)");
	else if (r == -EINVAL)
		hint_algorithms(dev);
	return r;
}

/* With a backing device, pages are written back as they are stored,
 * compressed, where the kernel can (7.0+, under either of its names:
 * features.c): writeback then decompresses nothing,
 * and a page read back from the disk is decompressed like one in memory.
 * Only before disksize.  A kernel without it writes pages back whole. */
static int write_compressed_writeback(struct zg_dev *dev, const char *backing_dev)
{
	const char *attr = zg_compressed_wb_attr(dev);

	if (!backing_dev || !*backing_dev || !attr)
		return 0;
	return zg_write_attr(dev, attr, "1");
}

int zg_set_disksize(struct zg_dev *dev, uint64_t bytes)
{
	zg_clear_err(dev);
	int r = zg_write_u64(dev, "disksize", bytes);
	if (r == -EBUSY)
		zg_hint(dev, "device is initialised: disksize is set once, reset first");
	return r;
}

int zg_set_mem_limit(struct zg_dev *dev, uint64_t bytes)
{
	zg_clear_err(dev);
	return zg_write_u64(dev, "mem_limit", bytes);
}

int zg_initstate(struct zg_dev *dev)
{
	char buf[16];
	int r = zg_read_attr(dev, "initstate", buf, sizeof(buf));
	return r < 0 ? r : atoi(buf) != 0;
}

static int check_initialised(struct zg_dev *dev)
{
	int r = zg_initstate(dev);
	if (r == 1)
		return 0;
	if (r == 0) {
		zg_fail(dev, dev->id, "initstate", NULL, -EIO);
		zg_hint(dev, "still 0 after writing disksize");
		return -EIO;
	}
	return r;
}

int zg_apply(struct zg_dev *dev, const struct zg_config *cfg)
{
	zg_clear_err(dev);
	if (cfg->disksize == 0)
		return zg_fail(dev, dev->id, "disksize", "0", -EINVAL);
	int r = 0;
	if (cfg->algorithm)
		r = write_algorithm(dev, cfg->algorithm);
	if (r == 0)
		r = write_requested(dev, "algorithm_params", cfg->algorithm_params);
	if (r == 0)
		r = write_recomp(dev, cfg->recomp_algorithm);
	if (r == 0)
		r = write_requested(dev, "backing_dev", cfg->backing_dev);
	if (r == 0)
		r = write_compressed_writeback(dev, cfg->backing_dev);
	if (r == 0)
		r = zg_set_disksize(dev, cfg->disksize);
	if (r == 0)
		r = zg_set_mem_limit(dev, cfg->mem_limit);
	if (r == 0)
		r = check_initialised(dev);
	return r;
}

int zg_reconfigure(struct zg_dev *dev, const struct zg_config *cfg)
{
	int r = zg_reset(dev);
	return r < 0 ? r : zg_apply(dev, cfg);
}
