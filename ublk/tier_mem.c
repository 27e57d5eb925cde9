/*
 * tier_mem.c — the in-memory tiers: meta (same-filled pages) and store
 * (compressed pages in the userspace store).
 *
 * meta keeps no data at all: the entry's payload is the fill code
 * (fillvals.h), so a zero page costs its 8-byte entry and nothing else.  Only
 * SAMEFILL pages are accepted.  A rare fill word that does not fit the small
 * table goes to the store, lz4-compressed to a few dozen bytes, whatever the
 * policy's fallback: "the fill table is full" is meta's own limit, not one a
 * policy should have to plan for (without this, a workload with more than a
 * few thousand distinct fill words got write errors).
 *
 * store compresses with the class's codec (the queue's own context: no
 * allocation) and refuses, with -E2BIG, a page that does not fit in 3/4 of a
 * page so that it goes to the fallback tier; when the store is the last tier
 * to try, the page is kept raw instead.  -ENOSPC is the memory limit.  The
 * entry records the codec, so a policy change never misreads old pages.
 *
 * Swap: committing a store chunk on the I/O path can wait in reclaim for
 * good under swap pressure (a queue thread has PF_MEMALLOC_NOIO: its reclaim
 * neither writes to swap nor invokes the OOM killer; the guest livelocked).
 * So the server gives the store a reserve of committed chunks refilled by a
 * housekeeper thread (store.h), and put takes only from it while the page
 * has a fallback tier; the last tier a page can go to (last) may still
 * commit a chunk itself, so a burst that outruns the refill never fails a
 * write that has nowhere else to go.  Swap policies give the store a
 * fallback (spill) and keep the I/O path free of commits.
 */
#include <errno.h>
#include <string.h>

#include "ublk/tier.h"

static int store_put(struct ztu_tier_ctx *c, enum zt_tier tier, const void *page,
		     const struct zt_page_class *cls, const struct zt_codec *codec, bool last,
		     uint64_t *entry);

/* ---- meta ---------------------------------------------------------------- */

static int meta_put(struct ztu_tier_ctx *c, enum zt_tier tier, const void *page, const struct zt_page_class *cls,
		    const struct zt_codec *codec, bool last, uint64_t *entry)
{
	uint64_t code;
	int ret;

	if (cls->cls != ZT_CLASS_SAMEFILL)
		return -E2BIG;
	ret = zu_fill_get(c->t->fills, cls->fill, &code);
	if (ret == -ENOSPC) {
		static const struct zt_codec lz4 = { ZT_CODEC_LZ4, 0 };
		return store_put(c, ZT_TIER_STORE, page, cls, &lz4, true, entry);
	}
	if (ret)
		return ret;
	*entry = zu_pte_meta(code);
	return 0;
}

static int meta_get(struct ztu_tier_ctx *c, uint64_t entry, void *page)
{
	zu_fill_page(page, zu_fill_word(c->t->fills, zu_pte_payload(entry)));
	return 0;
}

static void meta_drop(struct ztu_tier_ctx *c, uint64_t entry)
{
	zu_fill_put(c->t->fills, zu_pte_payload(entry));
}

static int mem_io_fd(struct ztu_tier_ctx *c, uint64_t entry, off_t *off)
{
	return -1;
}

const struct ztu_tier_ops ztu_tier_meta = {
	.name = "meta",
	.put = meta_put,
	.get = meta_get,
	.drop = meta_drop,
	.io_fd = mem_io_fd,
};

/* ---- store --------------------------------------------------------------- */

static void count_store(struct ztu_tier_ctx *c, uint64_t handle, int sign)
{
	ztu_ctr_add(&c->st->store_pages, sign);
	ztu_ctr_add(&c->st->store_bytes, sign * (int64_t)zu_store_handle_len(handle));
}

static int store_raw(struct ztu_tier_ctx *c, const void *page, bool last, uint64_t *entry)
{
	uint64_t handle;
	int ret = last ? zu_store_put_raw_last(c->t->store, page, &handle)
		       : zu_store_put_raw(c->t->store, page, &handle);

	if (ret)
		return ret;
	count_store(c, handle, 1);
	*entry = zu_pte_store(handle, ZT_CODEC_RAW);
	return 0;
}

static int store_put(struct ztu_tier_ctx *c, enum zt_tier tier, const void *page, const struct zt_page_class *cls,
		     const struct zt_codec *codec, bool last, uint64_t *entry)
{
	void *dst = zu_codec_buf(c->codec);
	uint64_t handle;
	int len, ret;

	if (!c->t->store)
		return -ENOSPC;
	if (codec->kind == ZT_CODEC_RAW)
		return store_raw(c, page, last, entry);
	len = zu_codec_compress(c->codec, codec, page, dst, ZU_STORE_MAX_COMPRESSED);
	if (len == -E2BIG)
		return last ? store_raw(c, page, true, entry) : -E2BIG;
	if (len < 0)
		return len;
	ret = last ? zu_store_put_last(c->t->store, dst, (size_t)len, &handle)
		   : zu_store_put(c->t->store, dst, (size_t)len, &handle);
	if (ret)
		return ret;
	count_store(c, handle, 1);
	*entry = zu_pte_store(handle, codec->kind);
	return 0;
}

static int store_get(struct ztu_tier_ctx *c, uint64_t entry, void *page)
{
	uint64_t handle = zu_pte_store_handle(entry);
	size_t len;
	const void *src = zu_store_data(c->t->store, handle, &len);

	return zu_codec_decompress(c->codec, zu_pte_store_codec(entry), src, len, page);
}

static void store_drop(struct ztu_tier_ctx *c, uint64_t entry)
{
	uint64_t handle = zu_pte_store_handle(entry);

	count_store(c, handle, -1);
	zu_store_free(c->t->store, handle);
}

const struct ztu_tier_ops ztu_tier_store = {
	.name = "store",
	.put = store_put,
	.get = store_get,
	.drop = store_drop,
	.io_fd = mem_io_fd,
};

const struct ztu_tier_ops *ztu_tier_ops(enum zt_tier t)
{
	switch (t) {
	case ZT_TIER_META:  return &ztu_tier_meta;
	case ZT_TIER_STORE: return &ztu_tier_store;
	case ZT_TIER_SPILL:
	case ZT_TIER_ZRAM:  return &ztu_tier_blk;
	default:            return NULL;
	}
}
