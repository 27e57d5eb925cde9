/*
 * codec.c — per-thread lz4/zstd page codec (see codec.h).
 *
 * zstd's static contexts (ZSTD_initStaticCCtx/DCtx) live in one buffer we
 * allocate at create; a static context fails instead of allocating, which
 * is what the I/O path needs.  The CCtx buffer is sized as the largest
 * estimate over levels 1..max for a 4 KiB source, so any level up to max
 * fits.  The source-size hint is passed on each call (ZSTD_compressCCtx
 * does it), so zstd picks parameters for a 4 KiB input.
 */
#define ZSTD_STATIC_LINKING_ONLY
#include <errno.h>
#include <lz4.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "ublk/codec.h"

struct zu_codec_ctx {
	int max_level;
	void *lz4_state;
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
	void *cbuf, *dbuf;
	size_t cbytes, dbytes;
	unsigned char page[ZT_PAGE_SIZE];
};

static size_t cctx_bytes_for(int max_level)
{
	size_t need = 0;
	int l;

	for (l = 1; l <= max_level; l++) {
		ZSTD_compressionParameters cp = ZSTD_getCParams(l, ZT_PAGE_SIZE, 0);
		size_t n = ZSTD_estimateCCtxSize_usingCParams(cp);

		if (n > need)
			need = n;
	}
	return need;
}

/* The DCtx always (any thread may read a zstd page); the CCtx if asked. */
static int init_zstd(struct zu_codec_ctx *ctx, int max_level)
{
	ctx->dbytes = (ZSTD_estimateDCtxSize() + 63) & ~(size_t)63;
	ctx->dbuf = aligned_alloc(64, ctx->dbytes);
	if (!ctx->dbuf || !(ctx->dctx = ZSTD_initStaticDCtx(ctx->dbuf, ctx->dbytes)))
		return -ENOMEM;
	if (max_level == 0)
		return 0;
	ctx->cbytes = (cctx_bytes_for(max_level) + 63) & ~(size_t)63;
	ctx->cbuf = aligned_alloc(64, ctx->cbytes);
	if (!ctx->cbuf || !(ctx->cctx = ZSTD_initStaticCCtx(ctx->cbuf, ctx->cbytes)))
		return -ENOMEM;
	return 0;
}

struct zu_codec_ctx *zu_codec_ctx_create(int max_zstd_level)
{
	struct zu_codec_ctx *ctx;
	int err = 0;

	if (max_zstd_level < 0 || max_zstd_level > ZSTD_maxCLevel()) {
		errno = EINVAL;
		return NULL;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return NULL;
	ctx->max_level = max_zstd_level;
	ctx->lz4_state = malloc((size_t)LZ4_sizeofState());
	if (!ctx->lz4_state)
		err = -ENOMEM;
	if (!err)
		err = init_zstd(ctx, max_zstd_level);
	if (err) {
		zu_codec_ctx_destroy(ctx);
		errno = -err;
		return NULL;
	}
	return ctx;
}

void zu_codec_ctx_destroy(struct zu_codec_ctx *ctx)
{
	if (!ctx)
		return;
	free(ctx->lz4_state);
	free(ctx->cbuf);
	free(ctx->dbuf);
	free(ctx);
}

size_t zu_codec_ctx_bytes(const struct zu_codec_ctx *ctx)
{
	return sizeof(*ctx) + (size_t)LZ4_sizeofState() + ctx->cbytes + ctx->dbytes;
}

void *zu_codec_buf(struct zu_codec_ctx *ctx)
{
	return ctx->page;
}

static int compress_zstd(struct zu_codec_ctx *ctx, int level, const void *page,
			 void *dst, size_t dst_cap)
{
	size_t n;

	if (!ctx->cctx || level < 1 || level > ctx->max_level)
		return -EINVAL;
	n = ZSTD_compressCCtx(ctx->cctx, dst, dst_cap, page, ZT_PAGE_SIZE, level);
	if (!ZSTD_isError(n))
		return (int)n;
	if (ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall)
		return -E2BIG;
	return -EIO;
}

int zu_codec_compress(struct zu_codec_ctx *ctx, const struct zt_codec *c,
		      const void *page, void *dst, size_t dst_cap)
{
	int n;

	switch (c->kind) {
	case ZT_CODEC_LZ4:
		if (dst_cap > ZT_PAGE_SIZE * 2)
			dst_cap = ZT_PAGE_SIZE * 2;
		n = LZ4_compress_fast_extState(ctx->lz4_state, page, dst, ZT_PAGE_SIZE,
					       (int)dst_cap, 1);
		return n > 0 ? n : -E2BIG;
	case ZT_CODEC_ZSTD:
		return compress_zstd(ctx, c->level, page, dst, dst_cap);
	default:
		return -EINVAL;
	}
}

int zu_codec_decompress(struct zu_codec_ctx *ctx, enum zt_codec_kind kind,
			const void *src, size_t len, void *page)
{
	size_t n;

	switch (kind) {
	case ZT_CODEC_RAW:
		if (len != ZT_PAGE_SIZE)
			return -EIO;
		memcpy(page, src, ZT_PAGE_SIZE);
		return 0;
	case ZT_CODEC_LZ4:
		if (len > INT32_MAX)
			return -EIO;
		return LZ4_decompress_safe(src, page, (int)len, ZT_PAGE_SIZE) ==
		       (int)ZT_PAGE_SIZE ? 0 : -EIO;
	case ZT_CODEC_ZSTD:
		if (!ctx->dctx)
			return -EIO;
		n = ZSTD_decompressDCtx(ctx->dctx, page, ZT_PAGE_SIZE, src, len);
		return !ZSTD_isError(n) && n == ZT_PAGE_SIZE ? 0 : -EIO;
	default:
		return -EINVAL;
	}
}
