/*
 * daemon_maint_tier.c — maintenance of a ztier device's zram tier.
 *
 * A ztier device whose policy sends a class to zram has a kernel zram
 * device of its own, made by its server (ublk/tier_zram.c).  It is kept
 * like a [zram-swap] (daemon_maint*.c, the same passes) with the policy's
 * [maintenance] keys:
 *   - what the kernel takes only before disksize (the backing device,
 *     through dm-crypt as for a zram swap; the secondary algorithm) goes
 *     into the server's config here, and the server's zg_create_optional
 *     sets it when it makes the tier;
 *   - the pass finds the tier's device by what the server publishes (its
 *     stats file names the zram device it owns: ztu_dev_owned), at each
 *     pass, so a server recovered or adopted is found again;
 *   - the dm-crypt mapping is removed when the stack goes down.
 * writeback-idle-age and writeback-budget also drive the demotion of the
 * store's idle pages to spill (ublk/demote.c): that stays the server's.
 * A reloaded policy waits for down + up, as every policy change does.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "manager/daemon.h"
#include "ublk/ztublk.h"
#include "zramctl-glue/zramctl_glue.h"

const struct zt_maint *zd_maint_keys(const struct zd_stack *s)
{
	if (s->kind == ZD_KIND_ZRAM)
		return &s->zswap.maint;
	return s->policy ? &s->policy->maint : NULL;
}

bool zd_maint_tier_wanted(const struct zd_stack *s)
{
	if (s->kind != ZD_KIND_ZTIER || !s->policy)
		return false;
	for (int c = 0; c < ZT_CLASS_COUNT; c++)
		if (s->policy->rule[c].tier == ZT_TIER_ZRAM ||
		    s->policy->rule[c].fallback == ZT_TIER_ZRAM)
			return true;
	return false;
}

bool zd_maint_up(const struct zd_stack *s)
{
	if (s->kind == ZD_KIND_ZRAM)
		return s->zram_id >= 0;
	return s->ublk_id >= 0 && zd_maint_tier_wanted(s);
}

int zd_zram_id_of(const char *name)
{
	char *end;
	long id;

	if (strncmp(name, "zram", 4) || name[4] < '0' || name[4] > '9')
		return -1;
	id = strtol(name + 4, &end, 10);
	return *end || id > 1000000 ? -1 : (int)id;
}

int zd_maint_zram(const struct zd_stack *s)
{
	char names[4][ZTU_DEVNAME_MAX];
	int n, id = -1;

	if (s->kind == ZD_KIND_ZRAM || s->ublk_id < 0)
		return s->kind == ZD_KIND_ZRAM ? s->zram_id : -1;
	n = ztu_dev_owned(s->ublk_id, names, 4);
	for (int i = 0; i < n && id < 0; i++)
		id = zd_zram_id_of(names[i]);
	return id;
}

void zd_maint_tier_spec(struct zd_stack *s, struct ztu_config *cfg)
{
	const struct zt_maint *m = zd_maint_keys(s);

	memset(&s->maint, 0, sizeof(s->maint));
	if (!ztu_config_wants_zram(cfg) || !m)
		return;
	zd_maint_begin(s, m, &cfg->zram);
	zd_maint_built(s, &cfg->zram);
}

/* The identity of the mapping an earlier ztierd made over the policy's
 * writeback-device (removed when the stack goes down); 0 if none. */
static uint64_t crypt_of(const char *path)
{
	int fd = path[0] ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	uint64_t id;

	if (fd < 0)
		return 0;
	id = ztu_crypt_id_of(fd);
	close(fd);
	return id;
}

void zd_maint_tier_adopted(struct zd_stack *s)
{
	const struct zt_maint *m = zd_maint_keys(s);
	struct zg_dev dev;
	char bd[ZT_PATH_MAX] = "";
	int id = zd_maint_zram(s);

	memset(&s->maint, 0, sizeof(s->maint));
	s->maint.idle_marked = s->maint.budget_left = -1;
	s->maint.last_ms = zd_maint_clock(CLOCK_MONOTONIC);
	if (!m || id < 0 || zg_attach(&dev, id))
		return;
	s->maint.can_wb = s->maint.wb_built = m->wb_idle_age && m->writeback_device[0] &&
		!zg_backing_dev(&dev, bd, sizeof(bd)) && bd[0];
	if (s->maint.can_wb)
		s->maint.crypt_id = crypt_of(m->writeback_device);
	s->maint.can_recomp = s->maint.recomp_built = m->recomp_idle_age &&
						      m->recomp_algorithm[0];
}
