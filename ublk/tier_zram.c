/*
 * tier_zram.c — the zram tier: a kernel zram device owned by one ztier device.
 *
 * ztier cooperates with the kernel instead of competing with it: pages whose
 * class the policy sends to zram are compressed by the kernel's zram, not by
 * our store.  The data path is the generic block tier (tier_blk.c: 4 KiB slots
 * that ztier allocates, O_DIRECT, io_uring on the queue's ring), so a zram
 * slot is not the ublk page's offset: the device only needs to be as big as
 * the pages the policy lets it hold ([zram] size), and its memory limit is
 * the kernel's own ([zram] mem-limit).
 *
 * This file owns what is zram-specific around that:
 *   - creation: zg_create_optional (zramctl-glue: module, hot_add, the
 *     resolved spec in the kernel's order, undone on failure), then the
 *     node opened through ztu_blk_open.  Any failure resets and removes
 *     the device: nothing is left half-created.  The spec may carry what
 *     only maintenance needs and the kernel takes only before disksize
 *     (a backing device for writeback, a secondary algorithm: ztierd fills
 *     them from the policy's [maintenance]); one the kernel refuses is left
 *     out, not the tier.
 *   - discard: a freed slot (overwrite, discard, a failed write) is
 *     discarded so zram frees its compressed copy; otherwise the memory
 *     would stay used until the slot is rewritten.  The slot is freed for
 *     reuse only after its discard returned (discards.h), and no queue
 *     thread waits for it: the discarder (zram_discard.c) does it on the
 *     queues' rings or from its own thread.
 *   - a device with a state (state.h): the device's id is in the state's
 *     header and its slot map in the state's region, so the pages it holds
 *     outlive the server as the region does.  A recovering server reopens
 *     that device (ztu_zram_reopen: it must exist, be initialised and have
 *     the config's size) and discards every slot no entry names (what the
 *     dead server wrote and never published, or unpublished and never
 *     discarded).  A take-over that fails closes it and leaves it there.
 *   - teardown: close both fds, zg_destroy (reset, hot_remove; zramctl-glue
 *     waits out udev's probe lock); a device that cannot be removed stays
 *     named in the stats file for the deleter to reap, never printed.
 *   - the target's hooks for other processes: reap (a killed server's
 *     device removed by `del`), list sections (the kernel's own mm_stat
 *     figures next to ztier's counters), owned (ztierctl: "tier of").
 */
#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "policy/common/common.h"
#include "ublk/srv.h"
#include "ublk/stats.h"
#include "ublk/tier_zram.h"
#include "zramctl-glue/zramctl_glue.h"

struct ztu_zram {
	struct zg_dev dev;
	int fd;                 /* for BLKDISCARD (the data fd is tier_blk's) */
	atomic_bool full;       /* the kernel refused a write; no free since */
	bool in_memory;         /* no backing device: a read never waits for
	                           a disk (read_run.c reads single pages on
	                           the queue thread)                        */
	struct ztu_discarder *dc;   /* NULL: released slots discarded at once */
};

static int fail(char *msg, size_t len, struct zg_dev *dev, int err)
{
	char buf[512];

	return zt_fail(msg, len, err, "zram tier: %s", zg_strerror(&dev->err, buf, sizeof(buf)));
}

/* A backing device or secondary algorithm the kernel refuses: the tier is
 * made without it (ztierd's maintenance sees that and says so once). */
static void say_refused(void *ctx, const struct zg_err *err)
{
	char buf[512];

	(void)ctx;
	fprintf(stderr, "ztier-ublk: zram tier: %s: made without it\n",
		zg_strerror(err, buf, sizeof(buf)));
}

/* Without CONFIG_ZRAM_WRITEBACK there is none either. */
static bool no_backing_dev(struct ztu_zram *z)
{
	char bd[ZT_PATH_MAX];
	int ret = zg_backing_dev(&z->dev, bd, sizeof(bd));

	return ret == -EOPNOTSUPP || (!ret && (!bd[0] || strcmp(bd, "none") == 0));
}

bool ztu_zram_in_memory(const struct ztu_tiers *t)
{
	return t->zram && t->zram->in_memory;
}

int ztu_zram_create(struct ztu_tiers *t, const struct zg_spec *spec, char *msg, size_t len)
{
	struct zg_spec want = *spec;
	struct ztu_zram *z;
	char node[64];
	int ret;

	if (spec->disksize < ZT_PAGE_SIZE)
		return zt_fail(msg, len, -EINVAL,
			       "zram tier: [zram] size is not set (a class goes to zram)");
	z = calloc(1, sizeof(*z));
	if (!z)
		return -ENOMEM;
	z->fd = -1;
	t->zram = z;
	ret = zg_create_optional(&z->dev, &want, say_refused, NULL);
	if (ret) {
		fail(msg, len, &z->dev, ret);
		ztu_zram_destroy(t, NULL);    /* retries an undo that failed */
		return ret;
	}
	z->fd = zg_open_node(&z->dev, O_RDWR);
	z->in_memory = no_backing_dev(z);
	ret = z->fd < 0 ? fail(msg, len, &z->dev, z->fd)
		: ztu_blk_open(&t->blk[ZT_TIER_ZRAM], ZT_TIER_ZRAM,
			       zg_node_path(&z->dev, node, sizeof(node)), 0, msg, len);
	if (ret)
		ztu_zram_destroy(t, NULL);
	return ret;
}

/* Check the device a state names before using it: there, initialised,
 * and of the size this config makes (the state's slots cover it). */
static int reopen_check(struct ztu_tiers *t, const struct zg_spec *spec, char *msg,
			size_t len)
{
	struct ztu_zram *z = t->zram;
	uint64_t want = (spec->disksize + ZT_PAGE_SIZE - 1) / ZT_PAGE_SIZE;
	uint64_t got = ztu_blk_total(t->blk[ZT_TIER_ZRAM]);

	if (zg_initstate(&z->dev) != 1)
		return zt_fail(msg, len, -ENODEV, "zram tier: /dev/zram%d is not initialised: "
			       "not the device the state's pages are on", z->dev.id);
	if (got != want)
		return zt_fail(msg, len, -ESTALE, "zram tier: /dev/zram%d holds %llu slots, "
			       "this config's tier %llu: not the device the state's pages "
			       "are on", z->dev.id, (unsigned long long)got,
			       (unsigned long long)want);
	return 0;
}

int ztu_zram_reopen(struct ztu_tiers *t, const struct zg_spec *spec, int id, char *msg,
		    size_t len)
{
	struct ztu_zram *z;
	char node[64];
	int ret;

	if (id < 0)
		return zt_fail(msg, len, -EBADMSG, "zram tier: the state names no zram device");
	z = calloc(1, sizeof(*z));
	if (!z)
		return -ENOMEM;
	z->fd = -1;
	t->zram = z;
	ret = zg_attach(&z->dev, id);
	if (ret)
		ret = zt_fail(msg, len, ret, "zram tier: /dev/zram%d, which holds the state's "
			      "pages, is gone: %s", id, strerror(-ret));
	if (!ret && (z->fd = zg_open_node(&z->dev, O_RDWR)) < 0)
		ret = fail(msg, len, &z->dev, z->fd);
	z->in_memory = !ret && no_backing_dev(z);
	if (!ret)
		ret = ztu_blk_open(&t->blk[ZT_TIER_ZRAM], ZT_TIER_ZRAM,
				   zg_node_path(&z->dev, node, sizeof(node)), 0, msg, len);
	if (!ret)
		ret = reopen_check(t, spec, msg, len);
	if (ret)
		ztu_zram_close(t);
	return ret;
}

void ztu_zram_close(struct ztu_tiers *t)
{
	struct ztu_zram *z = t ? t->zram : NULL;

	if (!z)
		return;
	ztu_discarder_stop(z->dc);          /* the queues have ended */
	ztu_blk_close(t->blk[ZT_TIER_ZRAM]);
	t->blk[ZT_TIER_ZRAM] = NULL;
	if (z->fd >= 0)
		close(z->fd);
	free(z);
	t->zram = NULL;
}

int ztu_zram_destroy(struct ztu_tiers *t, struct ztu_tiered_stats *st)
{
	struct zg_dev dev;
	int ret;

	if (!t || !t->zram)
		return 0;
	dev = t->zram->dev;
	ztu_zram_close(t);
	if (st)
		ztu_ctr_set(&st->zram_id1, 0);
	ret = zg_destroy(&dev);
	if (ret && st)
		ztu_ctr_set(&st->zram_id1, dev.id + 1);
	return ret;
}

/* zram frees a range's compressed copies now (best effort). */
static void discard_range(struct ztu_zram *z, uint64_t slot, uint64_t n)
{
	uint64_t range[2] = { slot * ZT_PAGE_SIZE, n * ZT_PAGE_SIZE };

	(void)ioctl(z->fd, BLKDISCARD, range);
}

uint64_t ztu_zram_discard_free(struct ztu_tiers *t, const struct zu_slots *sl)
{
	uint64_t n = zu_slots_total(sl), start = 0, ranges = 0;

	if (!t->zram || t->zram->fd < 0)
		return 0;
	for (uint64_t s = 0; s <= n; s++) {
		if (s < n && !zu_slots_in_use(sl, s))
			continue;
		if (s > start) {
			discard_range(t->zram, start, s - start);
			ranges++;
		}
		start = s + 1;
	}
	return ranges;
}

void ztu_zram_discard(struct ztu_tiers *t, uint64_t slot)
{
	uint64_t range[2] = { slot * ZT_PAGE_SIZE, ZT_PAGE_SIZE };

	if (!t->zram || t->zram->fd < 0)
		return;
	(void)ioctl(t->zram->fd, BLKDISCARD, range);   /* best effort */
	if (atomic_load_explicit(&t->zram->full, memory_order_relaxed))
		atomic_store_explicit(&t->zram->full, false, memory_order_relaxed);
}

int ztu_zram_start_discards(struct ztu_tiers *t, bool swap, char *msg, size_t len)
{
	struct ztu_zram *z = t->zram;
	int ret;

	if (!z)
		return 0;
	ret = ztu_discarder_start(&z->dc, z->fd, ztu_blk_slots(t->blk[ZT_TIER_ZRAM]),
				  &z->full, swap);
	if (ret) {
		ztu_discarder_stop(z->dc);
		z->dc = NULL;
		return zt_fail(msg, len, ret, "zram tier: discard thread: %s", strerror(-ret));
	}
	return 0;
}

void ztu_zram_release(struct ztu_tiers *t, uint64_t slot)
{
	if (t->zram && t->zram->dc) {
		ztu_discarder_release(t->zram->dc, slot);
		return;
	}
	ztu_zram_discard(t, slot);
	zu_slots_free(ztu_blk_slots(t->blk[ZT_TIER_ZRAM]), slot);
}

struct ztu_discarder *ztu_zram_discarder(const struct ztu_tiers *t)
{
	return t->zram ? t->zram->dc : NULL;
}

void ztu_zram_mark_full(struct ztu_tiers *t)
{
	if (t->zram)
		atomic_store_explicit(&t->zram->full, true, memory_order_relaxed);
}

bool ztu_zram_full(const struct ztu_tiers *t)
{
	return t->zram && atomic_load_explicit(&t->zram->full, memory_order_relaxed);
}

int ztu_zram_id(const struct ztu_tiers *t)
{
	return t && t->zram ? t->zram->dev.id : -1;
}

/* ---- hooks for other processes (the target's block of the stats file) ---- */

void ztu_zram_publish(const struct ztu_tiers *t, struct ztu_tiered_stats *st)
{
	ztu_ctr_set(&st->zram_id1, ztu_zram_id(t) + 1);
	ztu_ctr_set(&st->zram_used, (int64_t)ztu_blk_used(t->blk[ZT_TIER_ZRAM]));
	ztu_ctr_set(&st->zram_total, (int64_t)ztu_blk_total(t->blk[ZT_TIER_ZRAM]));
	ztu_ctr_set(&st->zram_fallbacks, ztu_ctr_get(&t->zram_fallbacks));
	ztu_ctr_set(&st->rereads, ztu_ctr_get(&t->rereads));
	ztu_ctr_set(&st->zram_discarded, (int64_t)ztu_discarder_count(ztu_zram_discarder(t)));
	ztu_ctr_set(&st->zram_ring, ztu_discarder_ring(ztu_zram_discarder(t)));
}

static int published_id(const void *tgt_stats)
{
	const struct ztu_tiered_stats *st = tgt_stats;

	return (int)ztu_ctr_get(&st->zram_id1) - 1;
}

/* A server killed before its teardown leaves its zram device behind,
 * holding every page it had: remove it with the ublk device. */
int ztu_zram_reap(const void *tgt_stats, char *msg, size_t len)
{
	struct zg_dev z;
	char buf[512];
	int id = published_id(tgt_stats), ret;

	if (id < 0 || zg_attach(&z, id))
		return 0;
	ret = zg_destroy(&z);
	return ret ? zt_fail(msg, len, ret, "zram tier of a dead server: %s",
			     zg_strerror(&z.err, buf, sizeof(buf))) : 0;
}

int ztu_zram_owned(const void *tgt_stats, char names[][ZTU_DEVNAME_MAX], int max)
{
	int id = published_id(tgt_stats);

	if (id < 0 || max < 1)
		return 0;
	snprintf(names[0], ZTU_DEVNAME_MAX, "zram%d", id);
	return 1;
}

static double ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 0.0;
}

/* The kernel's own figures for the device (mm_stat), read live. */
static void mm_fields(struct ztu_section *sec, const struct zg_mm_stat *m)
{
	ztu_field_num(sec, "pages", (int64_t)(m->orig_data_size / ZT_PAGE_SIZE));
	ztu_field_num(sec, "orig_bytes", (int64_t)m->orig_data_size);
	ztu_field_num(sec, "compr_bytes", (int64_t)m->compr_data_size);
	ztu_field_num(sec, "mem_used", (int64_t)m->mem_used_total);
	ztu_field_num(sec, "mem_limit", (int64_t)m->mem_limit);
	ztu_field_num(sec, "same_pages", (int64_t)m->same_pages);
	ztu_field_num(sec, "huge_pages", (int64_t)m->huge_pages);
	ztu_field_ratio(sec, "ratio", ratio(m->orig_data_size, m->compr_data_size));
	ztu_field_ratio(sec, "mem_ratio", ratio(m->orig_data_size, m->mem_used_total));
}

unsigned ztu_zram_sections(const void *tgt_stats, struct ztu_section *out, unsigned max)
{
	const struct ztu_tiered_stats *st = tgt_stats;
	struct zg_dev dev = { .id = -1 };
	struct zg_stats zs;
	char node[64];
	int id = published_id(tgt_stats);

	if (id < 0 || max < 1)
		return 0;
	out->name = "zram";
	out->n = 0;
	snprintf(node, sizeof(node), "/dev/zram%d", id);
	ztu_field_text(out, "device", node, true);
	ztu_field_pair(out, "slots", ztu_ctr_get(&st->zram_used), ztu_ctr_get(&st->zram_total));
	ztu_field_num(out, "fallbacks", ztu_ctr_get(&st->zram_fallbacks));
	ztu_field_num(out, "rereads", ztu_ctr_get(&st->rereads));
	ztu_field_num(out, "discarded", ztu_ctr_get(&st->zram_discarded));
	ztu_field_text(out, "discard", ztu_ctr_get(&st->zram_ring) ? "ring" : "batched", false);
	if (zg_attach(&dev, id) == 0 && zg_read_stats(&dev, &zs) == 0 && zs.mm.present)
		mm_fields(out, &zs.mm);
	return 1;
}
