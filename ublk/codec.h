/*
 * codec.h — compress and decompress one 4 KiB page with lz4, lz4hc or zstd.
 *
 * One context per queue thread (not shareable).  It holds everything a call
 * needs, made once at create: an lz4 state (LZ4_compress_fast_extState), an
 * lz4hc state if enabled, a static zstd CCtx sized for the highest level the
 * policy uses and a static zstd DCtx (ZSTD_initStaticCCtx/DCtx: a static
 * context can never allocate), a page-sized output buffer and one for zstd's
 * second attempt (codec.c: which literals a zstd page keeps), and a second
 * static DCtx for pages compressed with zstd dictionary 1 (codec_dict.h;
 * codec.c says when a page takes it).  The dictionary's DDict and a CDict
 * per zstd level asked for are made once per process, shared by every
 * context (read-only) and not counted by zu_codec_ctx_bytes (about 64 KiB
 * per level for a 4 KiB page, 27 KiB for the DDict).  No call allocates.
 *
 * Compression stops at dst_cap bytes: a page that does not fit is -E2BIG
 * (pass ZU_STORE_MAX_COMPRESSED to get the store's 3/4-of-a-page rule for
 * free, without finishing a useless compression).
 */
#ifndef ZU_CODEC_H
#define ZU_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"

struct zu_codec_ctx;

/* max_zstd_level: the highest zstd level this thread will be asked for
 * (1..19; 0: no zstd).  NULL with errno set on failure. */
struct zu_codec_ctx *zu_codec_ctx_create(int max_zstd_level);
void zu_codec_ctx_destroy(struct zu_codec_ctx *ctx);
/* Room for lz4hc (an lz4 codec with a level): its state is 256 KiB, so only
 * a context that will be asked for it has one.  0 or -ENOMEM. */
int zu_codec_ctx_enable_lz4hc(struct zu_codec_ctx *ctx);
/* Bytes the context holds (for memory accounting). */
size_t zu_codec_ctx_bytes(const struct zu_codec_ctx *ctx);

/* A scratch buffer owned by ctx, a page or more: as dst below it holds
 * any lz4 output, which lets lz4 run its faster unbounded mode. */
void *zu_codec_buf(struct zu_codec_ctx *ctx);

/* Compress one ZT_PAGE_SIZE page into dst (at most dst_cap bytes; lz4
 * into zu_codec_buf may write up to the whole buffer before -E2BIG).
 * Returns the compressed length (> 0), -E2BIG if it does not fit in
 * dst_cap, -EINVAL for ZT_CODEC_RAW, a zstd level above the context's
 * maximum, lz4hc without zu_codec_ctx_enable_lz4hc, or an unknown kind. */
int zu_codec_compress(struct zu_codec_ctx *ctx, const struct zt_codec *c,
		      const void *page, void *dst, size_t dst_cap);

/* Decompress len bytes into one ZT_PAGE_SIZE page.  RAW copies (len must be
 * ZT_PAGE_SIZE).  0, or -EIO when the data is corrupt or does not make
 * exactly one page, -EINVAL for an unknown kind. */
int zu_codec_decompress(struct zu_codec_ctx *ctx, enum zt_codec_kind kind,
			const void *src, size_t len, void *page);

#endif
