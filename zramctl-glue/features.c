/*
 * features.c — what this kernel's zram can do, probed rather than assumed.
 *
 * A feature is the presence of its sysfs attribute on a device (the driver's
 * Kconfig decides: WRITEBACK gives backing_dev/writeback/bd_stat,
 * MULTI_COMP gives recomp_algorithm/recompress, 6.12 added algorithm_params).
 * comp_algorithm lists the algorithms the kernel offers with the active one
 * in brackets.  The triggers (idle, writeback, recompress, compact) write
 * their attribute and give -EOPNOTSUPP when the kernel lacks it.
 */
#include "zramctl-glue/zg_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const feature_attr[ZG_F_COUNT] = {
	"algorithm_params", "recomp_algorithm", "recompress", "writeback",
	"backing_dev", "writeback_limit", "idle", "compact",
	"mm_stat", "io_stat", "bd_stat", "debug_stat",
	"mem_used_max", "max_comp_streams", "writeback_batch_size",
	"compressed_writeback",
};

/* compressed_writeback was renamed writeback_compressed in the 7.0 cycle:
 * a kernel has one or the other (or neither). */
static const char *const compressed_wb_attr[] = { "compressed_writeback", "writeback_compressed" };

const char *zg_compressed_wb_attr(struct zg_dev *dev)
{
	for (size_t i = 0; i < sizeof(compressed_wb_attr) / sizeof(compressed_wb_attr[0]); i++)
		if (zg_has_attr(dev, compressed_wb_attr[i]))
			return compressed_wb_attr[i];
	return NULL;
}

static bool has_feature(struct zg_dev *dev, unsigned i)
{
	if (1u << i == ZG_F_COMPRESSED_WB)
		return zg_compressed_wb_attr(dev) != NULL;
	return zg_has_attr(dev, feature_attr[i]);
}

const char *zg_feature_name(unsigned bit)
{
	for (unsigned i = 0; i < ZG_F_COUNT; i++)
		if (bit == 1u << i)
			return feature_attr[i];
	return NULL;
}

int zg_features(struct zg_dev *dev, unsigned *mask)
{
	char path[64];
	zg_clear_err(dev);
	snprintf(path, sizeof(path), ZG_SYS_BLOCK "/zram%d", dev->id);
	if (access(path, F_OK) < 0)
		return zg_fail(dev, dev->id, "", NULL, -errno);
	*mask = 0;
	for (unsigned i = 0; i < ZG_F_COUNT; i++)
		if (has_feature(dev, i))
			*mask |= 1u << i;
	return 0;
}

/* Add one token ("lz4" or "[lz4]") to out. */
static int add_algorithm(struct zg_algorithms *out, const char *tok, size_t len)
{
	bool active = len >= 2 && tok[0] == '[' && tok[len - 1] == ']';
	if (active) {
		tok++;
		len -= 2;
	}
	if (len == 0 || len >= ZG_ALGO_NAME_MAX || out->count >= ZG_ALGOS_MAX)
		return -EPROTO;
	memcpy(out->name[out->count], tok, len);
	out->name[out->count][len] = '\0';
	if (active)
		out->active = out->count;
	out->count++;
	return 0;
}

int zg_parse_algorithms(const char *text, struct zg_algorithms *out)
{
	memset(out, 0, sizeof(*out));
	out->active = -1;
	const char *sep = " \t\n";
	for (const char *p = text + strspn(text, sep); *p; p += strspn(p, sep)) {
		size_t len = strcspn(p, sep);
		int r = add_algorithm(out, p, len);
		if (r < 0)
			return r;
		p += len;
	}
	return out->count;
}

int zg_algorithms(struct zg_dev *dev, struct zg_algorithms *out)
{
	char buf[ZG_ATTR_BUF];
	zg_clear_err(dev);
	int r = zg_read_attr(dev, "comp_algorithm", buf, sizeof(buf));
	if (r < 0)
		return r;
	r = zg_parse_algorithms(buf, out);
	return r < 0 ? zg_fail(dev, dev->id, "comp_algorithm", NULL, r) : r;
}

/* Write a trigger attribute; -EOPNOTSUPP if this kernel has no such file. */
static int trigger(struct zg_dev *dev, const char *attr, const char *arg)
{
	zg_clear_err(dev);
	if (!zg_has_attr(dev, attr)) {
		zg_fail(dev, dev->id, attr, arg, -EOPNOTSUPP);
		zg_hint(dev, "this kernel's zram has no %s attribute", attr);
		return -EOPNOTSUPP;
	}
	int r = zg_write_attr(dev, attr, arg);
	if (r == -EINVAL && zg_initstate(dev) == 0)
		zg_hint(dev, "device is not initialised (no disksize)");
	else if (r == -ENODEV && strcmp(attr, "writeback") == 0)
		zg_hint(dev, "no backing device");
	return r;
}

int zg_mark_idle(struct zg_dev *dev, const char *arg)
{
	return trigger(dev, "idle", arg ? arg : "all");
}

int zg_writeback(struct zg_dev *dev, const char *arg)
{
	return trigger(dev, "writeback", arg);
}

int zg_recompress(struct zg_dev *dev, const char *arg)
{
	return trigger(dev, "recompress", arg);
}

int zg_compact(struct zg_dev *dev)
{
	return trigger(dev, "compact", "1");
}
