/*
 * stats.h — internal: the statistics a server shares with any reader.
 *
 * The server maps a small file /run/ztier/ublk/ID.stats (MAP_SHARED) and each
 * queue thread bumps only its own block of counters, so the I/O path takes no
 * lock and shares no cache line; a reader (ztier-ublk list, ztierd) maps the
 * same file read-only and sums the blocks.  Gauges (pages per tier, store
 * bytes) are per-queue deltas: a page written by queue 0 and overwritten by
 * queue 1 leaves +1/-1, the sum is right.  Device-wide figures the queues do
 * not own (store memory, spill slots) are refreshed by the main thread.
 * Fields are relaxed atomics: single writer, torn-free reads.
 */
#ifndef ZT_UBLK_STATS_H
#define ZT_UBLK_STATS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ublk/ztublk.h"

#define ZTU_STATS_MAGIC   0x7a747562u   /* "ztub" */
#define ZTU_STATS_VERSION 5u      /* 5: demotion, the housekeeper's block */
#define ZTU_TGT_STATS_MAX 256u          /* bytes the target owns in the file */

typedef _Atomic int64_t ztu_ctr;

struct ztu_qstats {
	ztu_ctr pages[ZT_TIER_COUNT];
	ztu_ctr class_writes[ZT_CLASS_COUNT];
	ztu_ctr reads, writes, discards, flushes, write_zeroes, errors, enospc;
	ztu_ctr store_pages, store_bytes;
	ztu_ctr demoted, demoted_bytes;   /* store -> spill (housekeeper)      */
	ztu_ctr promoted;                 /* spill -> store on a read          */
	ztu_ctr zc_reads;                 /* pages read into a request's own
	                                     pages, no copy (zerocopy.c)      */
} __attribute__((aligned(64)));

struct ztu_stats_shm {
	uint32_t magic, version;
	int32_t dev_id, pid;
	char target[16];
	char policy[ZT_NAME_MAX];
	uint64_t size;
	uint32_t nr_queues;
	ztu_ctr mem_used, mem_limit, spill_used, spill_total;
	/* The store's own figures (zu_store_stats, main thread). */
	ztu_ctr mem_in_use, mem_reserve, mem_meta;
	ztu_ctr fallback_reserve, fallback_limit;
	ztu_ctr compactions, compact_pages, compact_bytes, compact_freed, compact_raced;
	struct ztu_qstats q[ZTU_MAX_QUEUES];
	/* The store's housekeeper moves pages between tiers (demotion): its
	 * own block, summed with the queues'. */
	struct ztu_qstats hk;
	ztu_ctr demote_age, demote_budget_left;   /* -1: no demotion / limit */
	/* The target's own figures, laid out by the target (its publish hook
	 * writes them; its reap/sections/owned hooks read them): the core
	 * never looks inside. */
	_Alignas(64) unsigned char tgt[ZTU_TGT_STATS_MAX];
};

static inline void ztu_ctr_add(ztu_ctr *c, int64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}
static inline void ztu_ctr_set(ztu_ctr *c, int64_t v)
{
	atomic_store_explicit(c, v, memory_order_relaxed);
}
static inline int64_t ztu_ctr_get(const ztu_ctr *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* Map dev_id's stats file read-only (ztu_stats_unmap after); 0 or -errno:
 * -ESRCH when its server is gone, unless dead_ok. */
int ztu_stats_map(int dev_id, const struct ztu_stats_shm **out, bool dead_ok);
void ztu_stats_unmap(const struct ztu_stats_shm *s);
/* Is the server that wrote s gone? */
bool ztu_stats_dead(const struct ztu_stats_shm *s);

/* Create (server) and remove the stats file for dev_id. */
struct ztu_stats_shm *ztu_stats_create(int dev_id, int *err);
void ztu_stats_remove(int dev_id, struct ztu_stats_shm *shm);

#endif
