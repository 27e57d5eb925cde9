/*
 * demote_model.h — test helpers for demotion (ublk/demote.h): pages whose
 * bytes say which page and which write they are, stored the way the tiered
 * target stores them, and read back from the store or a packed spill slot
 * (tests/ublk/t_demote.c, t_demote_kill.c).
 */
#ifndef ZT_TESTS_DEMOTE_MODEL_H
#define ZT_TESTS_DEMOTE_MODEL_H

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ublk/codec.h"
#include "ublk/demote.h"

/* Page idx's write ver: idx and ver first, then text (compressible) or,
 * for every fifth version, bytes no codec shrinks (stored raw). */
static inline void dm_page(unsigned char *p, uint64_t idx, uint64_t ver)
{
	static const char words[] = "idle page cold store spill demote ";
	uint64_t x = idx * 0x9e3779b97f4a7c15ull + ver;

	memcpy(p, &idx, 8);
	memcpy(p + 8, &ver, 8);
	for (unsigned i = 16; i < ZT_PAGE_SIZE; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		p[i] = ver % 5 == 4 ? (unsigned char)(x >> 56)
				    : (unsigned char)words[(i + ver) % (sizeof(words) - 1)];
	}
}

/* Store page (idx, ver) as the target does: compressed (lz4 or zstd by
 * version), raw when the codec cannot shrink it.  0 and *e, or -errno. */
static inline int dm_store(struct zu_store *st, struct zu_codec_ctx *cx, uint64_t idx,
			   uint64_t ver, uint64_t *e)
{
	static const struct zt_codec lz4 = { ZT_CODEC_LZ4, 0 }, zstd = { ZT_CODEC_ZSTD, 3 };
	const struct zt_codec *c = ver % 2 ? &zstd : &lz4;
	unsigned char page[ZT_PAGE_SIZE];
	void *dst = zu_codec_buf(cx);
	uint64_t h;
	int len, ret;

	dm_page(page, idx, ver);
	len = zu_codec_compress(cx, c, page, dst, ZU_STORE_MAX_COMPRESSED);
	if (len == -E2BIG) {
		if ((ret = zu_store_put_raw(st, page, &h)))
			return ret;
		*e = zu_pte_store(h, ZT_CODEC_RAW);
		return 0;
	}
	if (len < 0)
		return len;
	if ((ret = zu_store_put(st, dst, (size_t)len, &h)))
		return ret;
	*e = zu_pte_store(h, c->kind);
	return 0;
}

/* Decode entry e (its lock held, or no other thread) into page: a store
 * page, or a packed spill page read from fd.  0 or -errno. */
static inline int dm_load(struct zu_store *st, struct zu_codec_ctx *cx, int fd, uint64_t e,
			  void *page)
{
	static __thread unsigned char slot[ZT_PAGE_SIZE];
	const void *src;
	size_t len;

	if (zu_pte_tier(e) == ZT_TIER_STORE) {
		src = zu_store_data(st, zu_pte_store_handle(e), &len);
		return zu_codec_decompress(cx, zu_pte_store_codec(e), src, len, page);
	}
	if (!zu_pte_is_packed(e))
		return -EINVAL;
	if (pread(fd, slot, ZT_PAGE_SIZE, (off_t)(zu_pte_slot_nr(e) * ZT_PAGE_SIZE)) !=
	    ZT_PAGE_SIZE)
		return -EIO;
	return zu_packed_decode(cx, e, slot, page);
}

/* Does page hold a whole write of page idx?  Its version in *ver. */
static inline bool dm_check(const unsigned char *page, uint64_t idx, uint64_t *ver)
{
	unsigned char want[ZT_PAGE_SIZE];
	uint64_t i2;

	memcpy(&i2, page, 8);
	memcpy(ver, page + 8, 8);
	if (i2 != idx)
		return false;
	dm_page(want, idx, *ver);
	return memcmp(page, want, ZT_PAGE_SIZE) == 0;
}

/* A spill file of n slots (a regular file: the tier can use one). */
static inline int dm_spill_file(uint64_t nslots)
{
	char path[] = "/tmp/t_demote.XXXXXX";
	int fd = mkstemp(path);

	if (fd >= 0) {
		unlink(path);
		if (ftruncate(fd, (off_t)(nslots * ZT_PAGE_SIZE))) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

#endif
