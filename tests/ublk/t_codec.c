/*
 * t_codec.c — lz4, lz4hc and zstd page codec: round trips of text-like, mixed,
 * zero and random pages at several zstd levels, the 3/4-page cap (-E2BIG),
 * corrupt input (-EIO), and the level bound of a context.  Every zstd
 * level up to the context's maximum must compress with its static
 * workspace (a static context errors rather than allocate).  zstd pages
 * keep Huffman-coded literals only when worth 1/32 of a page (codec.c): never
 * more than that above zstd's own frame, and as small as it when the
 * literals are most of the data; a frame zstd itself made (what an older
 * ztier stored) still reads.  Dictionary 1 (codec.c): pages like a heap's
 * take it, its frames read back, name it and are told from standard ones
 * by their first byte; a wrong id or a cut frame is -EIO.
 */
#define ZSTD_STATIC_LINKING_ONLY
#include <errno.h>
#include <zstd.h>

#include "tests/tap.h"
#include "ublk/codec.h"
#include "ublk/codec_dict.h"
#include "ublk/store.h"

static uint64_t rng = 88172645463325252ull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void page_text(unsigned char *p)
{
	static const char *words[] = { "the ", "page ", "memory ", "swap ", "zram ",
				       "tier ", "of ", "and ", "compressed ", "ublk\n" };
	size_t n = 0;

	while (n < ZT_PAGE_SIZE) {
		const char *w = words[next_rand() % 10];

		while (*w && n < ZT_PAGE_SIZE)
			p[n++] = (unsigned char)*w++;
	}
}

static void page_random(unsigned char *p)
{
	size_t i;

	for (i = 0; i < ZT_PAGE_SIZE; i += 8) {
		uint64_t r = next_rand();

		memcpy(p + i, &r, 8);
	}
}

/* Small integers in 32-bit words: compressible binary data. */
static void page_mixed(unsigned char *p)
{
	size_t i;

	for (i = 0; i < ZT_PAGE_SIZE; i += 4) {
		uint32_t v = (uint32_t)(next_rand() % 300);

		memcpy(p + i, &v, 4);
	}
}

static int roundtrip(struct zu_codec_ctx *ctx, const struct zt_codec *c,
		     const unsigned char *page, size_t cap, int *clen)
{
	static unsigned char comp[2 * ZT_PAGE_SIZE], out[ZT_PAGE_SIZE];
	int n = zu_codec_compress(ctx, c, page, comp, cap);

	*clen = n;
	if (n < 0)
		return n;
	if (zu_codec_decompress(ctx, c->kind, comp, (size_t)n, out))
		return -EIO;
	return memcmp(out, page, ZT_PAGE_SIZE) ? -EILSEQ : 0;
}

static void test_roundtrips(struct zu_codec_ctx *ctx)
{
	static unsigned char page[ZT_PAGE_SIZE];
	static const struct zt_codec codecs[] = {
		{ ZT_CODEC_LZ4, 0 }, { ZT_CODEC_LZ4, 3 }, { ZT_CODEC_LZ4, 12 },
		{ ZT_CODEC_ZSTD, 1 }, { ZT_CODEC_ZSTD, 3 },
		{ ZT_CODEC_ZSTD, 9 }, { ZT_CODEC_ZSTD, 19 },
	};
	static void (*const gen[])(unsigned char *) = { page_text, page_mixed };
	static const char *gname[] = { "text", "mixed" };
	unsigned c, g;
	char name[16];
	int len;

	for (c = 0; c < sizeof(codecs) / sizeof(codecs[0]); c++) {
		zt_codec_format(&codecs[c], name, sizeof(name));
		for (g = 0; g < 2; g++) {
			gen[g](page);
			ok(roundtrip(ctx, &codecs[c], page, ZU_STORE_MAX_COMPRESSED, &len) == 0,
			   "%s: %s page round trip", name, gname[g]);
			tap_diag("  %s page with %s: %d bytes", gname[g], name, len);
		}
		memset(page, 0, sizeof(page));
		g = (unsigned)roundtrip(ctx, &codecs[c], page, ZU_STORE_MAX_COMPRESSED, &len);
		ok(g == 0 && len < 64, "%s: zero page round trip, %d bytes", name, len);
		page_random(page);
		ok(roundtrip(ctx, &codecs[c], page, ZU_STORE_MAX_COMPRESSED, &len) == -E2BIG,
		   "%s: random page over the 3/4 cap: -E2BIG", name);
	}
}

/* lz4 into the context's own buffer runs unbounded (codec.c): the same
 * bytes as the bounded mode, and the cap still holds. */
static void test_own_buffer(struct zu_codec_ctx *ctx)
{
	static unsigned char page[ZT_PAGE_SIZE], comp[ZT_PAGE_SIZE], out[ZT_PAGE_SIZE];
	struct zt_codec lz4 = { ZT_CODEC_LZ4, 0 };
	unsigned char *own = zu_codec_buf(ctx);
	int n, m;

	page_mixed(page);
	n = zu_codec_compress(ctx, &lz4, page, comp, ZU_STORE_MAX_COMPRESSED);
	m = zu_codec_compress(ctx, &lz4, page, own, ZU_STORE_MAX_COMPRESSED);
	ok(n > 0 && m == n && !memcmp(own, comp, (size_t)n),
	   "lz4 into zu_codec_buf: the bounded mode's %d bytes (%d)", n, m);
	ok(m > 0 && !zu_codec_decompress(ctx, ZT_CODEC_LZ4, own, (size_t)m, out) &&
	   !memcmp(out, page, ZT_PAGE_SIZE), "and they decompress to the page");
	is_int(zu_codec_compress(ctx, &lz4, page, own, (size_t)n - 1), -E2BIG,
	       "a cap one byte short: -E2BIG");
	page_random(page);
	is_int(zu_codec_compress(ctx, &lz4, page, own, ZU_STORE_MAX_COMPRESSED), -E2BIG,
	       "a random page over the 3/4 cap: -E2BIG");
}

static void test_errors(struct zu_codec_ctx *ctx)
{
	static unsigned char page[ZT_PAGE_SIZE], comp[ZT_PAGE_SIZE], out[ZT_PAGE_SIZE];
	struct zt_codec lz4 = { ZT_CODEC_LZ4, 0 }, z = { ZT_CODEC_ZSTD, 3 };
	struct zt_codec raw = { ZT_CODEC_RAW, 0 }, z20 = { ZT_CODEC_ZSTD, 20 };
	int n;

	page_text(page);
	n = zu_codec_compress(ctx, &lz4, page, comp, sizeof(comp));
	comp[n / 2] ^= 0x5a;
	comp[n / 3] ^= 0xa5;
	ok(zu_codec_decompress(ctx, ZT_CODEC_LZ4, comp, (size_t)n, out) != 0 ||
	   memcmp(out, page, ZT_PAGE_SIZE) != 0, "corrupt lz4 is not taken for the page");
	is_int(zu_codec_decompress(ctx, ZT_CODEC_LZ4, comp, 3, out), -EIO,
	       "truncated lz4: -EIO");
	n = zu_codec_compress(ctx, &z, page, comp, sizeof(comp));
	is_int(zu_codec_decompress(ctx, ZT_CODEC_ZSTD, comp, (size_t)n - 1, out), -EIO,
	       "truncated zstd: -EIO");
	is_int(zu_codec_compress(ctx, &raw, page, comp, sizeof(comp)), -EINVAL,
	       "compress RAW: -EINVAL");
	is_int(zu_codec_compress(ctx, &z20, page, comp, sizeof(comp)), -EINVAL,
	       "zstd level above the context's maximum: -EINVAL");
	is_int(zu_codec_decompress(ctx, ZT_CODEC_RAW, page, ZT_PAGE_SIZE, out), 0,
	       "raw decompress copies");
	ok(!memcmp(out, page, ZT_PAGE_SIZE), "raw copy is the page");
	is_int(zu_codec_decompress(ctx, ZT_CODEC_RAW, page, 100, out), -EIO,
	       "raw of the wrong length: -EIO");
}

/* Random letters of a 16-letter alphabet (4 bits each under Huffman,
 * little to match) in the first n bytes, then those n bytes again. */
static void page_letters(unsigned char *p, size_t n)
{
	for (size_t i = 0; i < ZT_PAGE_SIZE; i++)
		p[i] = i < n ? (unsigned char)('a' + next_rand() % 16) : p[i % n];
}

/* Ours against ZSTD_compress at the same level: bytes more (negative:
 * fewer); the plain frame must read back through the codec too. */
static int over_plain_zstd(struct zu_codec_ctx *ctx, const unsigned char *page, int *ours)
{
	static unsigned char comp[2 * ZT_PAGE_SIZE], out[ZT_PAGE_SIZE];
	const struct zt_codec z = { ZT_CODEC_ZSTD, 3 };
	size_t plain = ZSTD_compress(comp, sizeof(comp), page, ZT_PAGE_SIZE, 3);

	if (ZSTD_isError(plain) || zu_codec_decompress(ctx, ZT_CODEC_ZSTD, comp, plain, out) ||
	    memcmp(out, page, ZT_PAGE_SIZE) || roundtrip(ctx, &z, page, ZT_PAGE_SIZE, ours))
		return INT32_MAX;
	return *ours - (int)plain;
}

static void test_literals(struct zu_codec_ctx *ctx)
{
	static unsigned char page[ZT_PAGE_SIZE];
	int len, d;

	page_text(page);
	d = over_plain_zstd(ctx, page, &len);
	ok(d <= (int)ZT_PAGE_SIZE / 32, "text page: %d bytes, %d over zstd's own frame (at most 1/32 "
	   "of a page)", len, d);
	page_letters(page, ZT_PAGE_SIZE / 2);
	d = over_plain_zstd(ctx, page, &len);
	ok(d <= 0 && len < (int)ZT_PAGE_SIZE * 3 / 8, "half-literal page: Huffman kept (%d bytes, %d "
	   "over zstd's own frame)", len, d);
	page_letters(page, ZT_PAGE_SIZE);
	d = over_plain_zstd(ctx, page, &len);
	ok(d <= 0 && len < (int)ZU_STORE_MAX_COMPRESSED, "all-literal page (too long with raw "
	   "literals): Huffman (%d bytes, %d over zstd's own frame)", len, d);
}

/* Pieces of dictionary 1's content (its last 1 KiB: content ends a zstd
 * dictionary) with a random word between them: pages that the dictionary
 * fits as it fits the heap pages it was made from. */
static void page_heap(unsigned char *p)
{
	const unsigned char *content = zu_codec_dict1 + ZU_CODEC_DICT1_BYTES - 1024;

	for (size_t i = 0; i < ZT_PAGE_SIZE; i += 256) {
		uint64_t r = next_rand();

		memcpy(p + i, content + r % 768, 248);
		memcpy(p + i + 248, &r, 8);
	}
}

/* A frame of each format: the page through the codec and back, with the
 * count of dictionary frames (first byte not zstd's magic). */
static int dict_frames(struct zu_codec_ctx *ctx, int level, int pages, int *bad)
{
	static unsigned char page[ZT_PAGE_SIZE], comp[ZT_PAGE_SIZE], out[ZT_PAGE_SIZE];
	const struct zt_codec z = { ZT_CODEC_ZSTD, level };
	int dict = 0;

	for (int i = 0; i < pages; i++) {
		int n;

		page_heap(page);
		n = zu_codec_compress(ctx, &z, page, comp, ZU_STORE_MAX_COMPRESSED);
		*bad += n <= 0 || zu_codec_decompress(ctx, ZT_CODEC_ZSTD, comp, (size_t)n, out) ||
			memcmp(out, page, ZT_PAGE_SIZE);
		dict += n > 0 && !ZSTD_isFrame(comp, (size_t)n);
	}
	return dict;
}

static void test_dict(struct zu_codec_ctx *ctx)
{
	static unsigned char page[ZT_PAGE_SIZE], comp[ZT_PAGE_SIZE], out[ZT_PAGE_SIZE];
	const struct zt_codec z = { ZT_CODEC_ZSTD, 3 };
	int bad = 0, n = 0, levels[] = { 1, 3, 9, 19 };
	ZSTD_frameHeader h;
	size_t id_at;

	for (unsigned i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		int dict = dict_frames(ctx, levels[i], 50, &bad);

		ok(dict > 0, "zstd:%d: heap pages take dictionary 1 (%d of 50)", levels[i], dict);
	}
	is_int(bad, 0, "zstd:1, 3, 9, 19: heap pages read back, with or without it");
	for (int tries = 0; tries < 100; tries++) {
		page_heap(page);
		n = zu_codec_compress(ctx, &z, page, comp, sizeof(comp));
		if (n > 0 && !ZSTD_isFrame(comp, (size_t)n))
			break;
	}
	ok(n > 0 && !ZSTD_getFrameHeader_advanced(&h, comp, (size_t)n, ZSTD_f_zstd1_magicless) &&
	   h.dictID == 1 && (comp[0] & 3) == 1, "a dictionary frame: magicless, names dictionary "
	   "1 in one byte (descriptor 0x%02x)", comp[0]);
	id_at = 1 + !(comp[0] >> 5 & 1);              /* after the window byte, if any */
	is_int(zu_codec_decompress(ctx, ZT_CODEC_ZSTD, comp, (size_t)n - 1, out), -EIO,
	       "a cut dictionary frame: -EIO");
	comp[id_at] = 2;
	is_int(zu_codec_decompress(ctx, ZT_CODEC_ZSTD, comp, (size_t)n, out), -EIO,
	       "a dictionary frame naming dictionary 2 (unknown): -EIO");
}

/* What ztier stored before dictionaries, raw literals in a standard
 * frame (and Huffman ones: over_plain_zstd), reads at every level. */
static void test_old_frames(struct zu_codec_ctx *ctx)
{
	static unsigned char page[ZT_PAGE_SIZE], comp[ZT_PAGE_SIZE], out[ZT_PAGE_SIZE];
	ZSTD_CCtx *c = ZSTD_createCCtx();
	int bad = 0;

	for (int level = 1; level <= 19; level++) {
		size_t n;

		page_heap(page);
		ZSTD_CCtx_reset(c, ZSTD_reset_session_and_parameters);
		ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
		ZSTD_CCtx_setParameter(c, ZSTD_c_literalCompressionMode, ZSTD_ps_disable);
		n = ZSTD_compress2(c, comp, sizeof(comp), page, ZT_PAGE_SIZE);
		bad += ZSTD_isError(n) || zu_codec_decompress(ctx, ZT_CODEC_ZSTD, comp, n, out) ||
		       memcmp(out, page, ZT_PAGE_SIZE);
	}
	ZSTD_freeCCtx(c);
	is_int(bad, 0, "standard frames with raw literals (older ztier's), levels 1..19, read");
}

/* Every level 1..19 fits the static workspace sized at create. */
static void test_levels(struct zu_codec_ctx *ctx)
{
	static unsigned char page[ZT_PAGE_SIZE];
	struct zt_codec z = { ZT_CODEC_ZSTD, 0 };
	int bad = 0, len;

	page_text(page);
	for (z.level = 1; z.level <= 19; z.level++)
		bad += roundtrip(ctx, &z, page, ZT_PAGE_SIZE, &len) != 0;
	is_int(bad, 0, "zstd levels 1..19 all work in the static context");
	/* Both literal modes and a failed attempt in between: a page that
	 * does not fit, then one that does, at every level. */
	for (z.level = 1; z.level <= 19; z.level++) {
		page_random(page);
		bad += roundtrip(ctx, &z, page, ZU_STORE_MAX_COMPRESSED, &len) != -E2BIG;
		page_letters(page, ZT_PAGE_SIZE / 2);
		bad += roundtrip(ctx, &z, page, ZU_STORE_MAX_COMPRESSED, &len) != 0;
		page_mixed(page);
		bad += roundtrip(ctx, &z, page, ZU_STORE_MAX_COMPRESSED, &len) != 0;
	}
	is_int(bad, 0, "zstd levels 1..19: random -E2BIG, then literal-heavy and mixed pages");
}

/* lz4hc reuses its state from page to page (codec.c): pages that fit and
 * pages that do not, in turn, each read back right. */
static void test_lz4hc_reuse(struct zu_codec_ctx *ctx)
{
	static unsigned char page[ZT_PAGE_SIZE];
	const struct zt_codec hc = { ZT_CODEC_LZ4, 3 };
	int bad = 0, len;

	for (int i = 0; i < 100; i++) {
		page_random(page);
		bad += roundtrip(ctx, &hc, page, ZU_STORE_MAX_COMPRESSED, &len) != -E2BIG;
		page_text(page);
		bad += roundtrip(ctx, &hc, page, ZU_STORE_MAX_COMPRESSED, &len) != 0;
		page_mixed(page);
		bad += roundtrip(ctx, &hc, page, ZU_STORE_MAX_COMPRESSED, &len) != 0;
		bad += roundtrip(ctx, &hc, page, ZU_STORE_MAX_COMPRESSED, &len) != 0;
	}
	is_int(bad, 0, "lz4hc: 100 rounds of random (-E2BIG), text and mixed pages twice");
}

int main(void)
{
	struct zu_codec_ctx *ctx = zu_codec_ctx_create(19), *lz;
	char buf[ZT_PAGE_SIZE];

	ok(ctx != NULL && zu_codec_ctx_enable_lz4hc(ctx) == 0,
	   "context for zstd up to level 19 and lz4hc");
	tap_diag("context bytes (max level 19, lz4hc): %zu", zu_codec_ctx_bytes(ctx));
	test_roundtrips(ctx);
	test_errors(ctx);
	test_own_buffer(ctx);
	test_levels(ctx);
	test_literals(ctx);
	test_dict(ctx);
	test_old_frames(ctx);
	test_lz4hc_reuse(ctx);
	lz = zu_codec_ctx_create(0);
	ok(lz != NULL, "context without zstd compression");
	tap_diag("context bytes (no zstd compression): %zu", zu_codec_ctx_bytes(lz));
	page_text((unsigned char *)buf);
	is_int(zu_codec_compress(lz, &(struct zt_codec){ ZT_CODEC_ZSTD, 1 }, buf,
				 zu_codec_buf(lz), ZT_PAGE_SIZE),
	       -EINVAL, "no zstd compression in a level-0 context");
	is_int(zu_codec_compress(lz, &(struct zt_codec){ ZT_CODEC_LZ4, 3 }, buf,
				 zu_codec_buf(lz), ZT_PAGE_SIZE),
	       -EINVAL, "no lz4hc before zu_codec_ctx_enable_lz4hc");
	zu_codec_ctx_destroy(lz);
	zu_codec_ctx_destroy(ctx);
	return tap_done();
}
