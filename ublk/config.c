/*
 * config.c — a server's configuration from a policy, and its sanity checks.
 *
 * The policy gives the defaults (device size, queues, depth, memory limit,
 * spill target); command-line flags override them afterwards.  Sizes that
 * are RAM fractions are resolved here, on the machine that runs the server.
 * A memory limit of 0 ("none") still needs a bound for the store's address
 * range: all of RAM, which the store can never exceed anyway.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ublk/ztublk.h"

#define IO_BUF_BYTES (512u << 10)

static void spill_from_policy(struct ztu_config *cfg, const struct zt_policy *p)
{
	const char *t = p->spill.target;

	if (!t[0] || strcmp(t, "none") == 0)
		return;
	if (t[0] == '/')
		snprintf(cfg->spill_path, sizeof(cfg->spill_path), "%s", t);
	else
		snprintf(cfg->spill_path, sizeof(cfg->spill_path), "/dev/disk/by-id/%.4000s", t);
	cfg->spill_size = zt_size_resolve(&p->spill.size, 0);
}

void ztu_config_from_policy(struct ztu_config *cfg, const struct zt_policy *p)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->policy = *p;
	cfg->target = ZTU_TARGET_TIERED;
	cfg->size = zt_size_resolve(&p->device.size, 0) & ~(uint64_t)(ZT_PAGE_SIZE - 1);
	cfg->queues = p->device.queues ? p->device.queues : 1;
	cfg->depth = p->device.depth ? p->device.depth : 128;
	cfg->io_buf_bytes = IO_BUF_BYTES;
	cfg->mem_limit = zt_size_resolve(&p->device.mem_limit, 0);
	if (!cfg->mem_limit) {
		struct zt_size ram = { .ram_num = 1, .ram_den = 1 };
		cfg->mem_limit = zt_size_resolve(&ram, 0);
	}
	spill_from_policy(cfg, p);
}

static int bad(char *msg, size_t len, const char *fmt, unsigned long long v)
{
	snprintf(msg, len, fmt, v);
	return -EINVAL;
}

/* The per-tag buffers are locked (mlockall) and the server is exempt from
 * the OOM killer, so they must stay a small part of RAM: at most 1 GiB and
 * at most RAM/8 (queues x depth x buffer size). */
static bool buffers_too_big(const struct ztu_config *cfg, char *msg, size_t len)
{
	const struct zt_size eighth = { .ram_num = 1, .ram_den = 8 };
	uint64_t bytes = (uint64_t)cfg->queues * cfg->depth * cfg->io_buf_bytes;
	uint64_t cap = zt_size_resolve(&eighth, 0);

	if (!cap || cap > (UINT64_C(1) << 30))
		cap = UINT64_C(1) << 30;
	if (bytes <= cap)
		return false;
	snprintf(msg, len, "queues %u x depth %u x %u KiB buffers = %llu MiB of locked "
		 "memory: at most %llu MiB (1 GiB and RAM/8); lower queues or depth",
		 cfg->queues, cfg->depth, cfg->io_buf_bytes >> 10,
		 (unsigned long long)(bytes >> 20), (unsigned long long)(cap >> 20));
	return true;
}

int ztu_config_check(const struct ztu_config *cfg, char *msg, size_t len)
{
	if (cfg->size < ZT_PAGE_SIZE)
		return bad(msg, len, "device size %llu: must be at least 4096 bytes",
			   (unsigned long long)cfg->size);
	if (cfg->size % ZT_PAGE_SIZE)
		return bad(msg, len, "device size %llu: not a multiple of 4096",
			   (unsigned long long)cfg->size);
	if (cfg->queues < 1 || cfg->queues > ZTU_MAX_QUEUES)
		return bad(msg, len, "queues %llu: must be 1 to 16", cfg->queues);
	if (cfg->depth < 1 || cfg->depth > 4096)
		return bad(msg, len, "depth %llu: must be 1 to 4096", cfg->depth);
	if (buffers_too_big(cfg, msg, len))
		return -EINVAL;
	if (cfg->target == ZTU_TARGET_TIERED && cfg->mem_limit < (256u << 10))
		return bad(msg, len, "memory limit %llu: must be at least 256K",
			   (unsigned long long)cfg->mem_limit);
	return 0;
}
