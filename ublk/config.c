/*
 * config.c — a server's configuration: resolved once from a policy and
 * checked (saved and loaded: config_text.c).
 *
 * The policy gives the defaults (device size, queues, depth, memory limit,
 * zram tier, spill target); command-line flags override them afterwards.
 * RAM fractions are resolved here, against one reading of MemTotal on the
 * machine that runs the server; downstream (server, target, tiers) reads
 * only bytes.  A memory limit of 0 ("none") still needs a bound for the
 * store's address range: all of RAM, which the store can never exceed.
 * The server takes only what it serves from the policy (name, thresholds,
 * rules, whether it commits upfront): not its file names.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "policy/common/common.h"
#include "ublk/ztublk.h"

void ztu_zram_resolve(const struct zt_zram_spec *s, uint64_t ram, struct zg_spec *z)
{
	snprintf(z->algorithm, sizeof(z->algorithm), "%s", s->algorithm);
	snprintf(z->params, sizeof(z->params), "%s", s->params);
	z->disksize = zt_size_resolve(&s->size, ram) & ~(uint64_t)(ZT_PAGE_SIZE - 1);
	z->mem_limit = zt_size_resolve(&s->mem_limit, ram);
}

uint32_t ztu_io_buf_bytes(unsigned queues, unsigned depth)
{
	uint64_t tags = (uint64_t)queues * depth;
	uint32_t b = ZTU_IO_BUF_MAX;

	if (!tags || tags * ZT_PAGE_SIZE > ZTU_IO_BUF_BUDGET)
		return 0;
	while (tags * b > ZTU_IO_BUF_BUDGET)
		b /= 2;
	return b;
}

void ztu_config_from_policy(struct ztu_config *cfg, const struct zt_policy *p)
{
	uint64_t ram = zt_ram_bytes();

	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->name, sizeof(cfg->name), "%s", p->name);
	cfg->target = ZTU_TARGET_TIERED;
	cfg->size = zt_size_resolve(&p->device.size, ram) & ~(uint64_t)(ZT_PAGE_SIZE - 1);
	cfg->queues = p->device.queues ? p->device.queues : 1;
	cfg->depth = p->device.depth ? p->device.depth : 128;
	cfg->io_buf_bytes = ztu_io_buf_bytes(cfg->queues, cfg->depth);
	cfg->mem_limit = zt_size_resolve(&p->device.mem_limit, ram);
	if (!cfg->mem_limit)
		cfg->mem_limit = ram & ~(uint64_t)(ZT_PAGE_SIZE - 1);
	cfg->commit_upfront = zt_policy_commits_upfront(p);
	cfg->thresholds = p->thresholds;
	memcpy(cfg->rule, p->rule, sizeof(cfg->rule));
	ztu_zram_resolve(&p->zram, ram, &cfg->zram);
	zt_spill_path(p, cfg->spill_path, sizeof(cfg->spill_path));
	if (cfg->spill_path[0])
		cfg->spill_size = zt_size_resolve(&p->spill.size, ram);
	cfg->spill_encrypt = p->spill.encrypt;
	/* Demotion needs both ends: a store to take from, a spill to put in. */
	if (cfg->spill_path[0]) {
		cfg->demote_age = p->maint.wb_idle_age;
		cfg->demote_budget = p->maint.wb_budget;
	}
}

bool ztu_config_wants_zram(const struct ztu_config *cfg)
{
	for (int c = 0; c < ZT_CLASS_COUNT; c++)
		if (cfg->rule[c].tier == ZT_TIER_ZRAM || cfg->rule[c].fallback == ZT_TIER_ZRAM)
			return true;
	return false;
}

/* ---- checks ------------------------------------------------------------ */

/* The per-tag buffers are locked (mlockall) and the server is exempt from
 * the OOM killer: all of them fit ZTU_IO_BUF_BUDGET, whatever queues and
 * depth (ztublk.h), and a buffer holds at least one page. */
static bool buffers_too_big(const struct ztu_config *cfg, char *msg, size_t len)
{
	uint64_t bytes = (uint64_t)cfg->queues * cfg->depth * cfg->io_buf_bytes;

	if (cfg->io_buf_bytes >= ZT_PAGE_SIZE && cfg->io_buf_bytes <= ZTU_IO_BUF_MAX &&
	    bytes <= ZTU_IO_BUF_BUDGET)
		return false;
	snprintf(msg, len, "queues %u x depth %u = %llu tags: a device locks at most %u MiB "
		 "of request buffers, at least 4 KiB a tag, so at most %u tags; lower queues "
		 "or depth", cfg->queues, cfg->depth,
		 (unsigned long long)cfg->queues * cfg->depth, ZTU_IO_BUF_BUDGET >> 20,
		 ZTU_IO_BUF_BUDGET / ZT_PAGE_SIZE);
	return true;
}

int ztu_config_check(const struct ztu_config *cfg, char *msg, size_t len)
{
	if (cfg->size < ZT_PAGE_SIZE)
		return zt_fail(msg, len, -EINVAL, "device size %llu: must be at least 4096 bytes",
			   (unsigned long long)cfg->size);
	if (cfg->size % ZT_PAGE_SIZE)
		return zt_fail(msg, len, -EINVAL, "device size %llu: not a multiple of 4096",
			   (unsigned long long)cfg->size);
	if (cfg->queues < 1 || cfg->queues > ZTU_MAX_QUEUES)
		return zt_fail(msg, len, -EINVAL, "queues %u: must be 1 to 16", cfg->queues);
	if (cfg->depth < 1 || cfg->depth > 4096)
		return zt_fail(msg, len, -EINVAL, "depth %u: must be 1 to 4096", cfg->depth);
	if (buffers_too_big(cfg, msg, len))
		return -EINVAL;
	if (cfg->target == ZTU_TARGET_TIERED && cfg->mem_limit < (256u << 10))
		return zt_fail(msg, len, -EINVAL, "memory limit %llu: must be at least 256K",
			   (unsigned long long)cfg->mem_limit);
	return 0;
}
