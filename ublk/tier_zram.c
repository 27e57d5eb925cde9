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
 *   - creation: zram loaded through libkmod with num_devices=0 (we never
 *     take a device someone else configured), hot_add, then the policy's
 *     algorithm, params, disksize and mem_limit in the kernel's order
 *     (zramctl-glue), and the node opened through ztu_blk_open.  Any failure
 *     resets and removes the device: nothing is left half-created.
 *   - discard: a freed slot (overwrite, discard, a failed write) is
 *     discarded with BLKDISCARD so zram frees its compressed copy at once;
 *     otherwise the memory would stay used until the slot is rewritten.  The
 *     ioctl is synchronous but cheap on zram (it frees an in-memory object).
 *   - teardown: close both fds, reset, hot_remove (zramctl-glue waits out
 *     udev's probe lock).
 *   - list: the kernel's own mm_stat figures next to ztier's counters.
 */
#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "ublk/stats.h"
#include "ublk/tier_zram.h"
#include "zramctl-glue/zram_glue.h"

struct ztu_zram {
	struct zg_dev dev;
	int fd;                 /* for BLKDISCARD (the data fd is tier_blk's) */
	atomic_bool full;       /* the kernel refused a write; no free since */
};

static int fail(char *msg, size_t len, struct zg_dev *dev, int err)
{
	char buf[512];

	snprintf(msg, len, "zram tier: %s", zg_strerror(&dev->err, buf, sizeof(buf)));
	return err;
}

static int configure(struct ztu_zram *z, const struct ztu_zram_conf *zc, char *msg,
		     size_t len)
{
	struct zg_config cfg = {
		.algorithm = zc->algorithm[0] ? zc->algorithm : NULL,
		.algorithm_params = zc->params[0] ? zc->params : NULL,
		.disksize = zc->disksize,
		.mem_limit = zc->mem_limit,
	};
	int ret;

	if (cfg.disksize < ZT_PAGE_SIZE) {
		snprintf(msg, len, "zram tier: [zram] size is not set (a class goes to zram)");
		return -EINVAL;
	}
	ret = zg_apply(&z->dev, &cfg);
	if (ret)
		return fail(msg, len, &z->dev, ret);
	z->fd = zg_open_node(&z->dev, O_RDWR);
	if (z->fd < 0)
		return fail(msg, len, &z->dev, z->fd);
	return 0;
}

int ztu_zram_create(struct ztu_tiers *t, const struct ztu_zram_conf *zc, char *msg,
		    size_t len)
{
	struct zg_module mod;
	struct ztu_zram *z;
	char node[64], why[256];
	int ret = zg_module_load("zram", "num_devices=0", &mod);

	if (ret) {
		snprintf(msg, len, "zram tier: %s", zg_module_message(&mod, why, sizeof(why)));
		return ret;
	}
	z = calloc(1, sizeof(*z));
	if (!z)
		return -ENOMEM;
	z->fd = -1;
	z->dev.id = -1;
	t->zram = z;
	ret = zg_hot_add(&z->dev);
	if (ret < 0) {
		fail(msg, len, &z->dev, ret);
		ztu_zram_destroy(t);
		return ret;
	}
	ret = configure(z, zc, msg, len);
	if (!ret)
		ret = ztu_blk_open(&t->blk[ZT_TIER_ZRAM], ZT_TIER_ZRAM,
				   zg_node_path(&z->dev, node, sizeof(node)), 0, msg, len);
	if (ret)
		ztu_zram_destroy(t);
	return ret;
}

void ztu_zram_destroy(struct ztu_tiers *t)
{
	struct ztu_zram *z = t ? t->zram : NULL;

	if (!z)
		return;
	ztu_blk_close(t->blk[ZT_TIER_ZRAM]);
	t->blk[ZT_TIER_ZRAM] = NULL;
	if (z->fd >= 0)
		close(z->fd);
	if (z->dev.id >= 0) {
		char buf[512];

		if (zg_reset(&z->dev) || zg_hot_remove(&z->dev))
			fprintf(stderr, "ztier-ublk: zram tier: %s\n",
				zg_strerror(&z->dev.err, buf, sizeof(buf)));
	}
	free(z);
	t->zram = NULL;
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

/* ---- list ------------------------------------------------------------------ */

static double ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 0.0;
}

static void print_mm(FILE *o, const struct zg_mm_stat *m, bool json)
{
	if (json) {
		fprintf(o, ",\"pages\":%llu,\"orig_data_size\":%llu,\"compr_data_size\":%llu,"
			"\"mem_used\":%llu,\"mem_limit\":%llu,\"same_pages\":%llu,"
			"\"huge_pages\":%llu,\"ratio\":%.2f,\"mem_ratio\":%.2f",
			(unsigned long long)(m->orig_data_size / ZT_PAGE_SIZE),
			(unsigned long long)m->orig_data_size, (unsigned long long)m->compr_data_size,
			(unsigned long long)m->mem_used_total, (unsigned long long)m->mem_limit,
			(unsigned long long)m->same_pages, (unsigned long long)m->huge_pages,
			ratio(m->orig_data_size, m->compr_data_size),
			ratio(m->orig_data_size, m->mem_used_total));
		return;
	}
	fprintf(o, " pages %llu orig_bytes %llu compr_bytes %llu mem_used %llu mem_limit %llu"
		" same_pages %llu ratio %.2f mem_ratio %.2f",
		(unsigned long long)(m->orig_data_size / ZT_PAGE_SIZE),
		(unsigned long long)m->orig_data_size, (unsigned long long)m->compr_data_size,
		(unsigned long long)m->mem_used_total, (unsigned long long)m->mem_limit,
		(unsigned long long)m->same_pages, ratio(m->orig_data_size, m->compr_data_size),
		ratio(m->orig_data_size, m->mem_used_total));
}

void ztu_zram_print(FILE *o, int dev_id, bool json)
{
	struct ztu_zram_info zi;
	struct zg_dev dev = { .id = -1 };
	struct zg_stats st;
	bool mm;

	if (ztu_stats_read_zram(dev_id, &zi) || zi.id < 0)
		return;
	mm = zg_attach(&dev, zi.id) == 0 && zg_read_stats(&dev, &st) == 0 && st.mm.present;
	if (json)
		fprintf(o, ",\"zram\":{\"device\":\"/dev/zram%d\",\"slots_used\":%llu,"
			"\"slots_total\":%llu,\"fallbacks\":%llu,\"rereads\":%llu", zi.id,
			(unsigned long long)zi.slots_used, (unsigned long long)zi.slots_total,
			(unsigned long long)zi.fallbacks, (unsigned long long)zi.rereads);
	else
		fprintf(o, "\tzram /dev/zram%d slots %llu/%llu fallbacks %llu rereads %llu", zi.id,
			(unsigned long long)zi.slots_used, (unsigned long long)zi.slots_total,
			(unsigned long long)zi.fallbacks, (unsigned long long)zi.rereads);
	if (mm)
		print_mm(o, &st.mm, json);
	fputs(json ? "}" : "\n", o);
}
