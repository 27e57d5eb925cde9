/*
 * t_classify.c — zt_classify on pages of known kind, thresholds, names.
 */
#include <errno.h>
#include <string.h>

#include "policy/policy.h"
#include "tests/tap.h"

static uint64_t rng = 0xC0FFEE1234567ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static enum zt_class classify(const unsigned char *page, const struct zt_thresholds *t)
{
	struct zt_page_class pc;

	zt_classify(page, t, &pc);
	return pc.cls;
}

/* Uniform over `a` symbols starting at `base`. */
static void fill_alphabet(unsigned char *p, unsigned a, unsigned base)
{
	for (unsigned i = 0; i < ZT_PAGE_SIZE; i++)
		p[i] = (unsigned char)(base + rnd() % a);
}

static void fill_english(unsigned char *p)
{
	static const char *const words[] = {
		"the", "page", "memory", "of", "a", "swap", "kernel", "and", "is",
		"compressed", "to", "which", "tier", "policy", "zram", "in", "store",
	};
	size_t n = 0;
	while (n < ZT_PAGE_SIZE) {
		const char *w = words[rnd() % (sizeof(words) / sizeof(words[0]))];
		for (; *w && n < ZT_PAGE_SIZE; w++)
			p[n++] = (unsigned char)*w;
		if (n < ZT_PAGE_SIZE)
			p[n++] = rnd() % 9 ? ' ' : '\n';
	}
}

static void test_classes(void)
{
	struct zt_thresholds t;
	unsigned char page[ZT_PAGE_SIZE];
	struct zt_page_class pc;

	zt_thresholds_default(&t);
	ok(t.text_entropy == 5.0 && t.random_entropy == 7.5 && t.text_byteset == 64,
	   "default thresholds 5.0 / 7.5 / 64");

	memset(page, 0, sizeof(page));
	zt_classify(page, &t, &pc);
	ok(pc.cls == ZT_CLASS_SAMEFILL && pc.fill == 0 && pc.entropy == 0,
	   "zero page: samefill, fill 0, entropy 0");
	for (unsigned i = 0; i < ZT_PAGE_SIZE / 8; i++)
		memcpy(page + 8 * i, &(uint64_t){ 0xfeedfacecafebeefull }, 8);
	zt_classify(page, &t, &pc);
	ok(pc.cls == ZT_CLASS_SAMEFILL && pc.fill == 0xfeedfacecafebeefull,
	   "patterned page: samefill with its word");

	for (unsigned i = 0; i < ZT_PAGE_SIZE; i++)
		page[i] = (unsigned char)rnd();
	zt_classify(page, &t, &pc);
	ok(pc.cls == ZT_CLASS_RANDOM && pc.entropy > 7.5f, "random page: random (%.2f)",
	   pc.entropy);

	for (unsigned i = 0; i < ZT_PAGE_SIZE; i++)
		page[i] = (unsigned char)i;
	for (int i = (int)ZT_PAGE_SIZE - 1; i > 0; i--) {   /* shuffle: near-uniform */
		int j = (int)(rnd() % (uint64_t)(i + 1));
		unsigned char x = page[i];
		page[i] = page[j];
		page[j] = x;
	}
	is_int(classify(page, &t), ZT_CLASS_RANDOM, "every byte value 16 times: random");

	fill_english(page);
	is_int(classify(page, &t), ZT_CLASS_TEXT, "English-like text: text");

	fill_alphabet(page, 128, 0);        /* 7 bits/byte, >= 64 distinct */
	is_int(classify(page, &t), ZT_CLASS_MIXED, "uniform over 128 symbols: mixed");

	fill_alphabet(page, 40, 32);        /* 5.3 bits/byte, 40 distinct */
	is_int(classify(page, &t), ZT_CLASS_TEXT, "40 symbols (5.3 bits): text by byte set");
	t.text_byteset = 0;
	is_int(classify(page, &t), ZT_CLASS_MIXED, "same page, byte-set test off: mixed");
	t.text_byteset = 64;

	for (unsigned i = 0; i < ZT_PAGE_SIZE; i++)
		page[i] = (unsigned char)rnd();
	t.random_entropy = 8.0;
	is_int(classify(page, &t), ZT_CLASS_MIXED, "random page, random-entropy 8: mixed");
	zt_thresholds_default(&t);

	memset(page, 0, sizeof(page));
	page[4095] = 1;
	is_int(classify(page, &t), ZT_CLASS_TEXT, "zero page but the last byte: text");
}

static void test_names(void)
{
	for (int c = 0; c < ZT_CLASS_COUNT; c++)
		is_int(zt_class_from_name(zt_class_name((enum zt_class)c)), c,
		       zt_class_name((enum zt_class)c));
	is_int(zt_class_from_name("bogus"), -EINVAL, "unknown class name");
	for (int t = 0; t < ZT_TIER_COUNT; t++)
		is_int(zt_tier_from_name(zt_tier_name((enum zt_tier)t)), t,
		       zt_tier_name((enum zt_tier)t));
	is_int(zt_tier_from_name("disk"), -EINVAL, "unknown tier name");

	ok(zt_tier_accepts(ZT_TIER_META, ZT_CLASS_SAMEFILL), "meta takes samefill");
	ok(!zt_tier_accepts(ZT_TIER_META, ZT_CLASS_TEXT), "meta refuses text");
	ok(!zt_tier_accepts(ZT_TIER_META, ZT_CLASS_RANDOM), "meta refuses random");
	ok(zt_tier_accepts(ZT_TIER_STORE, ZT_CLASS_MIXED), "store takes mixed");
	ok(zt_tier_accepts(ZT_TIER_ZRAM, ZT_CLASS_TEXT), "zram takes text");
	ok(zt_tier_accepts(ZT_TIER_SPILL, ZT_CLASS_RANDOM), "spill takes random");
	ok(!zt_tier_accepts(ZT_TIER_NONE, ZT_CLASS_SAMEFILL), "none holds nothing");
}

static void codec_ok(const char *s, const char *formatted)
{
	struct zt_codec c;
	char buf[32];

	ok(zt_codec_parse(s, &c) == 0 &&
	   strcmp(zt_codec_format(&c, buf, sizeof(buf)), formatted) == 0,
	   "codec '%s' -> %s", s, formatted);
}

static void test_codecs(void)
{
	struct zt_codec c;

	codec_ok("lz4", "lz4");
	codec_ok("raw", "raw");
	codec_ok("zstd", "zstd:3");
	codec_ok("zstd:1", "zstd:1");
	codec_ok("zstd:19", "zstd:19");
	is_int(zt_codec_parse("zstd:0", &c), -ERANGE, "zstd:0 out of range");
	is_int(zt_codec_parse("zstd:20", &c), -ERANGE, "zstd:20 out of range");
	is_int(zt_codec_parse("zstd:", &c), -EINVAL, "zstd: without level");
	is_int(zt_codec_parse("zstd:3x", &c), -EINVAL, "zstd:3x");
	is_int(zt_codec_parse("zstd:-1", &c), -EINVAL, "zstd:-1");
	codec_ok("lz4hc", "lz4hc:9");
	codec_ok("lz4hc:1", "lz4hc:1");
	codec_ok("lz4hc:12", "lz4hc:12");
	is_int(zt_codec_parse("lz4hc:0", &c), -ERANGE, "lz4hc:0 out of range");
	is_int(zt_codec_parse("lz4hc:13", &c), -ERANGE, "lz4hc:13 out of range");
	is_int(zt_codec_parse("lz4hc:", &c), -EINVAL, "lz4hc: without level");
	is_int(zt_codec_parse("lz4:3", &c), -EINVAL, "lz4 takes no level");
	is_int(zt_codec_parse("zstdx", &c), -EINVAL, "zstdx");
	is_int(zt_codec_parse("gzip", &c), -EINVAL, "unknown codec");
	is_int(zt_codec_parse("LZ4", &c), -EINVAL, "codec names are lower case");
}

int main(void)
{
	test_classes();
	test_names();
	test_codecs();
	return tap_done();
}
