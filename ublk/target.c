/*
 * target.c — the targets by name, and their hooks called from any process.
 *
 * A stats file records which target served the device; a process that is
 * not the server (ztier-ublk list/del, ztierctl) finds the target's ops by
 * that name and lets the target read its own block of the file.  So the
 * core never names a tier: removing a dead server's zram device, showing
 * it in `list` and naming it to ztierctl are the tiered target's hooks.
 */
#include <errno.h>
#include <string.h>

#include "ublk/srv.h"

static const struct ztu_target_ops *const targets[] = { &ztu_tgt_tiered, &ztu_tgt_null };

const struct ztu_target_ops *ztu_target_find(const char *name)
{
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
		if (strncmp(targets[i]->name, name, sizeof(((struct ztu_stats_shm *)0)->target)) == 0)
			return targets[i];
	return NULL;
}

/* A clean teardown removes the stats file last, once its target left
 * nothing behind; the target's block names only what still exists.  So a
 * file whose server is dead names exactly what to reap: the server was
 * killed, or its own removal failed (deinit). */
int ztu_target_reap(int dev_id, char *msg, size_t len)
{
	const struct ztu_stats_shm *s;
	const struct ztu_target_ops *ops;
	int ret = 0;

	if (ztu_stats_map(dev_id, &s, true))
		return 0;                    /* no file: nothing was left */
	ops = ztu_target_find(s->target);
	if (ops && ops->reap && ztu_stats_dead(s))
		ret = ops->reap(s->tgt, msg, len);
	ztu_stats_unmap(s);
	return ret;
}

int ztu_dev_owned(int dev_id, char names[][ZTU_DEVNAME_MAX], int max)
{
	const struct ztu_stats_shm *s;
	const struct ztu_target_ops *ops;
	int ret = ztu_stats_map(dev_id, &s, false), n = 0;

	if (ret)
		return ret;
	ops = ztu_target_find(s->target);
	if (ops && ops->owned)
		n = ops->owned(s->tgt, names, max);
	ztu_stats_unmap(s);
	return n;
}

/* The target's sections after the core's (list.c). */
unsigned ztu_target_sections(const struct ztu_stats_shm *s, struct ztu_section *out,
			     unsigned max)
{
	const struct ztu_target_ops *ops = ztu_target_find(s->target);

	return ops && ops->sections ? ops->sections(s->tgt, out, max) : 0;
}
