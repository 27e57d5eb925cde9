/*
 * lifecycle.c — a whole zram device from a spec, and its removal.
 *
 * ztierd's plain zram swap devices and ublk's zram tier need the same four
 * steps, in this order: zram available (built in, loaded, or loaded now
 * with num_devices=0, so that no unconfigured zram0 appears and a device
 * someone else configured is never taken), hot_add, the spec applied
 * (zg_apply: the kernel's order), and on any failure the device reset and
 * removed again, so that a failed create leaves nothing behind.  The error
 * that made it fail stays in dev->err (the undo never overwrites it).
 *
 * What only maintenance needs (a backing device, a secondary algorithm)
 * must not cost the device: zg_create_optional makes it without a part
 * the kernel refuses, and says which (both of its users: ztierd's zram
 * swap and the ztier device's zram tier).
 */
#include "zramctl-glue/zg_internal.h"

#include <errno.h>
#include <string.h>

static int module_failed(struct zg_dev *dev, const struct zg_module *mod, int err)
{
	char why[sizeof(dev->err.hint)];

	*dev = (struct zg_dev){ .id = -1 };
	zg_fail(dev, -1, "", NULL, err);
	zg_hint(dev, "%s", zg_module_message(mod, why, sizeof(why)));
	return err;
}

int zg_create(struct zg_dev *dev, const struct zg_spec *spec)
{
	struct zg_config cfg = {
		.algorithm = spec->algorithm[0] ? spec->algorithm : NULL,
		.algorithm_params = spec->params[0] ? spec->params : NULL,
		.backing_dev = spec->backing_dev[0] ? spec->backing_dev : NULL,
		.recomp_algorithm = spec->recomp_algorithm[0] ? spec->recomp_algorithm : NULL,
		.disksize = spec->disksize,
		.mem_limit = spec->mem_limit,
	};
	struct zg_module mod;
	struct zg_err why;
	int err = zg_module_load("zram", "num_devices=0", &mod);

	if (err)
		return module_failed(dev, &mod, err);
	if ((err = zg_hot_add(dev)) < 0)
		return err;
	if ((err = zg_apply(dev, &cfg)) == 0)
		return 0;
	why = dev->err;
	zg_destroy(dev);
	dev->err = why;
	return err;
}

/* The optional part of spec the failed attribute is, or NULL. */
static char *optional_part(struct zg_spec *spec, const char *attr)
{
	if (!strcmp(attr, "backing_dev"))
		return spec->backing_dev;
	if (!strcmp(attr, "recomp_algorithm"))
		return spec->recomp_algorithm;
	return NULL;
}

int zg_create_optional(struct zg_dev *dev, struct zg_spec *spec, zg_refused_fn refused,
		       void *ctx)
{
	int err = zg_create(dev, spec);

	/* at most the two optional parts: one retry each */
	for (int tries = 0; err && tries < 2; tries++) {
		char *part = optional_part(spec, dev->err.attr);

		if (!part || !part[0])
			break;
		if (refused)
			refused(ctx, &dev->err);
		part[0] = '\0';
		err = zg_create(dev, spec);
	}
	return err;
}

int zg_destroy(struct zg_dev *dev)
{
	int err;

	if (dev->id < 0)
		return 0;
	if ((err = zg_reset(dev)) == 0)
		err = zg_hot_remove(dev);
	return err;
}
