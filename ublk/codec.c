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
 *
 * Dictionary: a page is then compressed again with zstd dictionary 1
 * (codec_dict.h), raw literals, and that frame kept when it is at most
 * DICT_MAX_LOSS bytes longer.  The dictionary's entropy tables are what
 * a page's frame then repeats, so a read builds none: decoding LL, ML and
 * OF tables for every page was 22% of a text page's read (callgrind,
 * tests/bench/callgrind-readpath.sh).
 *
 * Formats, told apart by their first bytes (no other state needed, so
 * the store, spill files and recovered states read as before):
 *   - a standard zstd frame (magic 0xFD2FB528): no dictionary; what every
 *     ztier before the dictionary stored, and still what a page gets when
 *     the dictionary does not fit it;
 *   - a magicless frame (ZSTD_f_zstd1_magicless) naming its dictionary's
 *     id in its header: its first byte is a frame header descriptor, never
 *     0x28 (that would set the reserved bit 3).
 * An older ztier cannot read the second kind: a state or spill file
 * written by this one is not for a downgrade.
 */
#define ZSTD_STATIC_LINKING_ONLY
#include <errno.h>
#include <lz4.h>
#include <pthread.h>
#define LZ4_HC_STATIC_LINKING_ONLY
#include <lz4hc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "ublk/codec.h"
#include "ublk/codec_dict.h"

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

/* At most this much longer than the page's frame without a dictionary (a
 * page ratio of about 1/4: +0.8%).  On the corpus (tests/bench/b_readpath.c,
 * default policy), against no dictionary: read instructions -10% and all
 * stored bytes +0.37% at 32 (+0.62% at 40, +0.88% at 48: -12%, -13%),
 * -3% and -0.1% at 0, -15% and +1.5% at 64.  At 32, CPU time per read
 * -11% (host, median of 3 runs); writes compress twice (+88% instructions). */
#define DICT_MAX_LOSS 32

#define LEVELS 23                   /* 0 and zstd's 1..22 (ZSTD_maxCLevel) */

/* Dictionary 1, made once per process for every context: a DDict, and a
 * CDict for each level a context asked for (each with its level's
 * parameters for a 4 KiB page).  Read-only once made; never freed. */
static struct {
	pthread_mutex_t lock;
	ZSTD_DDict *ddict;
	ZSTD_CDict *cdict[LEVELS];
} dict1 = { .lock = PTHREAD_MUTEX_INITIALIZER };

struct zu_codec_ctx {
	int max_level;
	int level;                  /* the CCtx's compression level now */
	void *lz4_state;
	void *lz4hc_state;          /* NULL until zu_codec_ctx_enable_lz4hc */
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
	ZSTD_DCtx *ddctx;           /* dictionary 1's frames only */
	void *cbuf, *dbuf, *ddbuf;
	size_t cbytes, dbytes;
	unsigned char page[LZ4_COMPRESSBOUND(ZT_PAGE_SIZE)];   /* any lz4 output */
	unsigned char alt[ZT_PAGE_SIZE];    /* the Huffman-literals attempt */
};

/* The largest workspace of levels 1..max_level, with and without the
 * dictionary attached. */
static size_t cctx_bytes_for(int max_level)
{
	size_t need = 0;
	int l;

	for (l = 1; l <= max_level; l++) {
		for (size_t d = 0; d <= ZU_CODEC_DICT1_BYTES; d += ZU_CODEC_DICT1_BYTES) {
			ZSTD_compressionParameters cp = ZSTD_getCParams(l, ZT_PAGE_SIZE, d);
			size_t n = ZSTD_estimateCCtxSize_usingCParams(cp);

			if (n > need)
				need = n;
		}
	}
	return need;
}

/* Dictionary 1's DDict and CDicts for levels 1..max_level, the ones not
 * made yet (by reference: the bytes are static). */
static int dict1_make(int max_level)
{
	int err = 0;

	pthread_mutex_lock(&dict1.lock);
	if (!dict1.ddict)
		dict1.ddict = ZSTD_createDDict_advanced(zu_codec_dict1, ZU_CODEC_DICT1_BYTES,
							ZSTD_dlm_byRef, ZSTD_dct_fullDict,
							ZSTD_defaultCMem);
	err = dict1.ddict ? 0 : -ENOMEM;
	for (int l = 1; !err && l <= max_level; l++) {
		if (!dict1.cdict[l])
			dict1.cdict[l] = ZSTD_createCDict_advanced(
				zu_codec_dict1, ZU_CODEC_DICT1_BYTES, ZSTD_dlm_byRef,
				ZSTD_dct_fullDict,
				ZSTD_getCParams(l, ZT_PAGE_SIZE, ZU_CODEC_DICT1_BYTES),
				ZSTD_defaultCMem);
		err = dict1.cdict[l] ? 0 : -ENOMEM;
	}
	pthread_mutex_unlock(&dict1.lock);
	return err;
}

/* A static DCtx in a buffer of its own: *dctx, or -ENOMEM. */
static int static_dctx(void **buf, ZSTD_DCtx **dctx, size_t bytes)
{
	*buf = aligned_alloc(64, bytes);
	*dctx = *buf ? ZSTD_initStaticDCtx(*buf, bytes) : NULL;
	return *dctx ? 0 : -ENOMEM;
}

/* The DCtxs always (any thread may read a zstd page); the CCtx if asked.
 * Dictionary frames get a DCtx of their own: zstd takes a dictionary it
 * did not use for the last frame as cold and decodes with prefetching,
 * 6% slower on the corpus when every other frame had none. */
static int init_zstd(struct zu_codec_ctx *ctx, int max_level)
{
	ctx->dbytes = (ZSTD_estimateDCtxSize() + 63) & ~(size_t)63;
	if (static_dctx(&ctx->dbuf, &ctx->dctx, ctx->dbytes) ||
	    static_dctx(&ctx->ddbuf, &ctx->ddctx, ctx->dbytes) ||
	    ZSTD_isError(ZSTD_DCtx_setParameter(ctx->ddctx, ZSTD_d_format,
						ZSTD_f_zstd1_magicless)) ||
	    dict1_make(max_level))
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

	if (max_zstd_level < 0 || max_zstd_level > ZSTD_maxCLevel() || max_zstd_level >= LEVELS) {
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
	free(ctx->ddbuf);
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
	return sizeof(*ctx) + (size_t)LZ4_sizeofState() + ctx->cbytes + 2 * ctx->dbytes +
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

/* The page with dictionary 1 and raw literals into ctx->alt, in at most
 * cap bytes; the CCtx is left as zstd_run wants it (standard frames, no
 * dictionary). */
static size_t zstd_dict_run(struct zu_codec_ctx *ctx, int level, const void *page, size_t cap)
{
	ZSTD_CCtx *c = ctx->cctx;
	size_t r = ZSTD_CCtx_reset(c, ZSTD_reset_session_only);

	if (!ZSTD_isError(r))
		r = ZSTD_CCtx_setParameter(c, ZSTD_c_literalCompressionMode, ZSTD_ps_disable);
	if (!ZSTD_isError(r))
		r = ZSTD_CCtx_setParameter(c, ZSTD_c_format, ZSTD_f_zstd1_magicless);
	if (!ZSTD_isError(r))
		r = ZSTD_CCtx_refCDict(c, dict1.cdict[level]);
	if (!ZSTD_isError(r))
		r = ZSTD_compress2(c, ctx->alt, cap, page, ZT_PAGE_SIZE);
	ZSTD_CCtx_reset(c, ZSTD_reset_session_only);
	ZSTD_CCtx_refCDict(c, NULL);
	ZSTD_CCtx_setParameter(c, ZSTD_c_format, ZSTD_f_zstd1);
	return r;
}

/* The page's frame with dictionary 1 instead of the n bytes in dst, when
 * it is at most DICT_MAX_LOSS longer.  zstd wants room to spare (its bit
 * streams stop 8 bytes short of the end): the attempt gets CAP_SLACK more. */
static int prefer_dict(struct zu_codec_ctx *ctx, int level, const void *page, void *dst,
		       size_t dst_cap, int n)
{
	enum { CAP_SLACK = 32 };
	size_t cap = (size_t)n + DICT_MAX_LOSS + CAP_SLACK, d;

	if (n < 0)
		return n;
	d = zstd_dict_run(ctx, level, page, cap < sizeof(ctx->alt) ? cap : sizeof(ctx->alt));
	if (ZSTD_isError(d) || d > (size_t)n + DICT_MAX_LOSS || d > dst_cap)
		return n;
	memcpy(dst, ctx->alt, d);
	return (int)d;
}

/* Raw literals, or Huffman ones when they save more than HUF_MIN_GAIN. */
static int compress_plain(struct zu_codec_ctx *ctx, const void *page, void *dst,
			  size_t dst_cap)
{
	size_t raw, huf;

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

static int compress_zstd(struct zu_codec_ctx *ctx, int level, const void *page,
			 void *dst, size_t dst_cap)
{
	if (!ctx->cctx || level < 1 || level > ctx->max_level)
		return -EINVAL;
	if (level != ctx->level) {
		ZSTD_CCtx_reset(ctx->cctx, ZSTD_reset_session_only);
		if (ZSTD_isError(ZSTD_CCtx_setParameter(ctx->cctx, ZSTD_c_compressionLevel, level)))
			return -EIO;
		ctx->level = level;
	}
	return prefer_dict(ctx, level, page, dst, dst_cap,
			   compress_plain(ctx, page, dst, dst_cap));
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
	if (level == 0) {
		/* Into the context's own buffer, which holds any output, lz4
		 * runs unbounded and the length is checked after: its bounded
		 * mode checks for room at every sequence, 4% more instructions
		 * a page (callgrind, b_corpus write).  A page that does not fit
		 * then costs its whole compression instead of the part up to
		 * the cap: random pages rarely get here (the classifier). */
		bool roomy = dst == ctx->page;

		n = LZ4_compress_fast_extState(ctx->lz4_state, page, dst, ZT_PAGE_SIZE,
					       roomy ? (int)sizeof(ctx->page) : (int)dst_cap, 1);
		if (n > (int)dst_cap)
			n = 0;
	} else if (ctx->lz4hc_state && level <= LZ4HC_CLEVEL_MAX) {
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

/* A standard frame without a dictionary, or a magicless one with
 * dictionary 1 (the header comment). */
static int decompress_zstd(struct zu_codec_ctx *ctx, const void *src, size_t len, void *page)
{
	size_t n;

	if (ZSTD_isFrame(src, len))
		n = ZSTD_decompressDCtx(ctx->dctx, page, ZT_PAGE_SIZE, src, len);
	else
		n = ZSTD_decompress_usingDDict(ctx->ddctx, page, ZT_PAGE_SIZE, src, len,
					       dict1.ddict);
	return !ZSTD_isError(n) && n == ZT_PAGE_SIZE ? 0 : -EIO;
}

int zu_codec_decompress(struct zu_codec_ctx *ctx, enum zt_codec_kind kind,
			const void *src, size_t len, void *page)
{
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
		return decompress_zstd(ctx, src, len, page);
	default:
		return -EINVAL;
	}
}
