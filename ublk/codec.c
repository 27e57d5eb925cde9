/*
 * codec.c — per-thread lz4/zstd page codec (see codec.h).
 *
 * zstd's static contexts (ZSTD_initStaticCCtx/DCtx) live in one buffer we
 * allocate at create; a static context fails instead of allocating, which
 * is what the I/O path needs.  The CCtx buffer is sized as the largest
 * estimate over levels 1..max for a 4 KiB source, so any level up to max
 * fits.  ZSTD_compress2 takes a whole page in one call, which tells zstd
 * the source size, so it picks parameters for a 4 KiB input.
 *
 * Literals: a zstd page keeps Huffman-coded literals only when they save
 * more than HUF_MIN_GAIN bytes over raw ones.  Decoding them means building
 * a Huffman table for every page: on the corpus's text pages (real process
 * memory, tests/bench/b_readpath.c) a page decodes in 38% fewer cycles
 * with raw literals, and 87% of the pages gain under 128 bytes from
 * Huffman (HUF_MIN_GAIN is 256).  Each page is compressed with raw literals first (cheaper than
 * with Huffman); only when the raw literals' entropy says Huffman could
 * save more than HUF_MIN_GAIN is it compressed again with them, and the
 * smaller kept.
 * Both are standard zstd frames: any zstd decoder (an older ztier too)
 * reads them, so the store's recovered data needs nothing.
 */
#define ZSTD_STATIC_LINKING_ONLY
#include <errno.h>
#include <lz4.h>
#define LZ4_HC_STATIC_LINKING_ONLY
#include <lz4hc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "ublk/codec.h"

/* 256 bytes: under that, Huffman literals cost readers more than the
 * memory they save is worth.  On the corpus (tests/bench/b_readpath.c,
 * default policy), against Huffman whenever zstd takes it: at 128 bytes
 * all pages +0.9% bytes (mixed ones in lz4hc:3), reads -20% instructions
 * and -14% time under qemu's TCG (user mode); at 64 bytes +1.4% text
 * bytes, -18% and -10%.  256 bytes, on the host: +1.1% bytes more than at
 * 128 for 7% less read time (512: +3.8%; never Huffman: +4.4%, -19%).  In
 * the VM (tests/vm/bench-mem.sh, 6.12, same boot) the default policy then
 * read 1.307x as fast as kernel zram with zstd (5 rounds, 1.256-1.333) for
 * 1.031x its memory, where 128 bytes gave 1.275x (1.013-1.326) and 1.013x. */
#define HUF_MIN_GAIN (ZT_PAGE_SIZE / 16)
#define BLOCK_HDR 3                 /* a zstd block header's bytes */

struct zu_codec_ctx {
	int max_level;
	int level;                  /* the CCtx's compression level now */
	void *lz4_state;
	void *lz4hc_state;          /* NULL until zu_codec_ctx_enable_lz4hc */
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
	void *cbuf, *dbuf;
	size_t cbytes, dbytes;
	unsigned char page[ZT_PAGE_SIZE];
	unsigned char alt[ZT_PAGE_SIZE];    /* the Huffman-literals attempt */
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
	free(ctx->lz4hc_state);
	free(ctx->cbuf);
	free(ctx->dbuf);
	free(ctx);
}

int zu_codec_ctx_enable_lz4hc(struct zu_codec_ctx *ctx)
{
	if (ctx->lz4hc_state)
		return 0;
	ctx->lz4hc_state = malloc((size_t)LZ4_sizeofStateHC());
	if (!ctx->lz4hc_state || !LZ4_initStreamHC(ctx->lz4hc_state, (size_t)LZ4_sizeofStateHC())) {
		free(ctx->lz4hc_state);
		ctx->lz4hc_state = NULL;
		return -ENOMEM;
	}
	return 0;
}

size_t zu_codec_ctx_bytes(const struct zu_codec_ctx *ctx)
{
	return sizeof(*ctx) + (size_t)LZ4_sizeofState() + ctx->cbytes + ctx->dbytes +
	       (ctx->lz4hc_state ? (size_t)LZ4_sizeofStateHC() : 0);
}

void *zu_codec_buf(struct zu_codec_ctx *ctx)
{
	return ctx->page;
}

/* The raw literals of a one-block zstd frame (RFC 8878 3.1.1: frame
 * header, block header, literals section header): false if the frame is
 * not that shape. */
static bool raw_literals(const unsigned char *f, size_t len, const unsigned char **lit,
			 size_t *n)
{
	static const unsigned char did_len[4] = { 0, 1, 2, 4 }, fcs_len[4] = { 0, 2, 4, 8 };
	unsigned fhd, single;
	size_t at, hl;
	const unsigned char *l;

	if (len < ZSTD_FRAMEHEADERSIZE_PREFIX(ZSTD_f_zstd1) + 1)
		return false;
	fhd = f[4];
	single = fhd >> 5 & 1;
	at = 5 + !single + did_len[fhd & 3] + (fhd >> 6 ? fcs_len[fhd >> 6] : single);
	if (len < at + BLOCK_HDR + 3 || (f[at] >> 1 & 3) != 2)
		return false;                         /* not a compressed block */
	l = f + at + BLOCK_HDR;
	if ((l[0] & 3) != 0)
		return false;                         /* literals not raw */
	switch (l[0] >> 2 & 3) {
	case 1:  hl = 2; *n = (size_t)(l[0] >> 4) | (size_t)l[1] << 4; break;
	case 3:  hl = 3; *n = (size_t)(l[0] >> 4) | (size_t)l[1] << 4 | (size_t)l[2] << 12; break;
	default: hl = 1; *n = (size_t)(l[0] >> 3); break;
	}
	*lit = l + hl;
	return *n <= len - (size_t)(*lit - f);
}

/* log2(x) for x >= 1 in 1/256ths, integers only (a CPU emulator runs
 * floating point in software): the integer part from the top bit, the
 * fraction a bit at a time by squaring the mantissa. */
static uint32_t log2_256(uint32_t x)
{
	unsigned top = 31 - (unsigned)__builtin_clz(x);
	uint64_t m = (uint64_t)x << (31 - top);          /* [1, 2) in Q31 */
	uint32_t r = top << 8;

	for (unsigned bit = 128; bit; bit >>= 1) {
		m = (m * m) >> 31;
		if (m >> 32) {
			r |= bit;
			m >>= 1;
		}
	}
	return r;
}

/* What Huffman coding could save on n literal bytes, roughly: their
 * order-0 entropy, less a table of about half a byte per symbol used. */
static int64_t huf_gain(const unsigned char *lit, size_t n)
{
	uint32_t count[256] = { 0 }, used = 0;
	uint64_t bits256 = (uint64_t)n * log2_256((uint32_t)n);

	for (size_t i = 0; i < n; i++)
		count[lit[i]]++;
	for (unsigned s = 0; s < 256; s++) {
		if (count[s]) {
			used++;
			bits256 -= (uint64_t)count[s] * log2_256(count[s]);
		}
	}
	return (int64_t)n - (int64_t)(bits256 / (8 * 256)) - used / 2;
}

/* Worth compressing again with Huffman literals?  Yes when unsure. */
static bool try_huf(const unsigned char *frame, size_t len)
{
	const unsigned char *lit;
	size_t n;

	if (!raw_literals(frame, len, &lit, &n))
		return true;
	return huf_gain(lit, n) > HUF_MIN_GAIN;
}

/* A failed compression leaves the CCtx mid-frame, where it takes no
 * parameter: the reset ends that frame. */
static size_t zstd_run(struct zu_codec_ctx *ctx, ZSTD_paramSwitch_e literals,
		       const void *page, void *dst, size_t dst_cap)
{
	size_t r = ZSTD_CCtx_reset(ctx->cctx, ZSTD_reset_session_only);

	if (!ZSTD_isError(r))
		r = ZSTD_CCtx_setParameter(ctx->cctx, ZSTD_c_literalCompressionMode, literals);
	return ZSTD_isError(r) ? r : ZSTD_compress2(ctx->cctx, dst, dst_cap, page, ZT_PAGE_SIZE);
}

static int zstd_result(size_t n)
{
	if (!ZSTD_isError(n))
		return (int)n;
	if (ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall)
		return -E2BIG;
	return -EIO;
}

/* Raw literals, or Huffman ones when they save more than HUF_MIN_GAIN. */
static int compress_zstd(struct zu_codec_ctx *ctx, int level, const void *page,
			 void *dst, size_t dst_cap)
{
	size_t raw, huf;

	if (!ctx->cctx || level < 1 || level > ctx->max_level)
		return -EINVAL;
	if (level != ctx->level) {
		ZSTD_CCtx_reset(ctx->cctx, ZSTD_reset_session_only);
		if (ZSTD_isError(ZSTD_CCtx_setParameter(ctx->cctx, ZSTD_c_compressionLevel, level)))
			return -EIO;
		ctx->level = level;
	}
	raw = zstd_run(ctx, ZSTD_ps_disable, page, dst, dst_cap);
	if (ZSTD_isError(raw))             /* too long raw: Huffman may fit */
		return zstd_result(zstd_run(ctx, ZSTD_ps_auto, page, dst, dst_cap));
	if (!try_huf(dst, raw))
		return (int)raw;
	huf = zstd_run(ctx, ZSTD_ps_auto, page, ctx->alt,
		       raw < sizeof(ctx->alt) ? raw : sizeof(ctx->alt));
	if (ZSTD_isError(huf) || huf + HUF_MIN_GAIN >= raw)
		return (int)raw;
	memcpy(dst, ctx->alt, huf);
	return (int)huf;
}

/* level 0: lz4; 1..12: lz4hc, whose output lz4 reads.  lz4hc's one-shot
 * call (LZ4_compress_HC_extStateHC) clears its 256 KiB of tables on every
 * page: 1.5 us of 14 on the host, 150 of 205 under qemu's TCG (mixed pages
 * of the corpus at level 3).  A fast reset instead moves the window past
 * the old entries (lz4hc clears them when its offsets pass 1 GiB, about
 * every 15000 pages, or after a page that did not fit). */
static int compress_lz4(struct zu_codec_ctx *ctx, int level, const void *page, void *dst,
			size_t dst_cap)
{
	int n;

	if (dst_cap > ZT_PAGE_SIZE * 2)
		dst_cap = ZT_PAGE_SIZE * 2;
	if (level == 0)
		n = LZ4_compress_fast_extState(ctx->lz4_state, page, dst, ZT_PAGE_SIZE,
					       (int)dst_cap, 1);
	else if (ctx->lz4hc_state && level <= LZ4HC_CLEVEL_MAX) {
		LZ4_resetStreamHC_fast(ctx->lz4hc_state, level);
		n = LZ4_compress_HC_continue(ctx->lz4hc_state, page, dst, ZT_PAGE_SIZE,
					     (int)dst_cap);
	} else
		return -EINVAL;
	return n > 0 ? n : -E2BIG;
}

int zu_codec_compress(struct zu_codec_ctx *ctx, const struct zt_codec *c,
		      const void *page, void *dst, size_t dst_cap)
{
	switch (c->kind) {
	case ZT_CODEC_LZ4:
		return compress_lz4(ctx, c->level, page, dst, dst_cap);
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
