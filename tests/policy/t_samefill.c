/*
 * t_samefill.c — every same-fill scanner against the scalar one.
 *
 * The vector paths must give the scalar answer (and fill word) on every
 * page: zero and patterned pages, random pages, and adversarial pages that
 * differ from a same-filled page in exactly one word (first, last, every
 * position) or one byte (every position), at aligned and unaligned
 * addresses.  ISAs the CPU lacks are reported and skipped.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "policy/samefill_isa.h"
#include "tests/tap.h"

#define WORDS (ZT_PAGE_SIZE / 8)

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void fill_words(unsigned char *page, uint64_t w)
{
	for (size_t i = 0; i < WORDS; i++)
		memcpy(page + 8 * i, &w, 8);
}

/* Does fn agree with scalar (answer and fill) on this page? */
static bool agrees(zt_samefill_fn fn, const unsigned char *page)
{
	zt_samefill_fn scalar = zt_samefill_impl(ZT_ISA_SCALAR);
	uint64_t fa = 0xdead, fb = 0xdead;
	bool a = scalar(page, &fa), b = fn(page, &fb);

	return a == b && (!a || fa == fb);
}

static void test_isa(enum zt_isa isa, unsigned char *buf)
{
	static const uint64_t patterns[] = {
		0, ~0ull, 0x0123456789abcdefull, 0xffull, 0x8000000000000000ull,
	};
	zt_samefill_fn fn = zt_samefill_impl(isa);
	const char *name = zt_isa_name(isa);
	unsigned char *page = buf;
	uint64_t fill;
	int bad;

	if (!fn) {
		tap_diag("%s: not supported by this CPU, skipped", name);
		return;
	}
	for (size_t p = 0; p < sizeof(patterns) / sizeof(patterns[0]); p++) {
		fill_words(page, patterns[p]);
		fill = ~patterns[p];
		ok(fn(page, &fill) && fill == patterns[p],
		   "%s: page of 0x%016" PRIx64 " is samefill with that fill", name, patterns[p]);
	}

	bad = 0;
	for (size_t p = 0; p < sizeof(patterns) / sizeof(patterns[0]); p++) {
		for (size_t w = 0; w < WORDS; w++) {
			fill_words(page, patterns[p]);
			uint64_t other = patterns[p] ^ (1ull << (w % 64));
			memcpy(page + 8 * w, &other, 8);
			bad += fn(page, &fill) || !agrees(fn, page);
		}
	}
	is_int(bad, 0, "one differing word at every position (first, middle, last) is never samefill");

	bad = 0;
	for (size_t b = 0; b < ZT_PAGE_SIZE; b++) {
		memset(page, 0, ZT_PAGE_SIZE);
		page[b] = 1;
		bad += fn(page, &fill) || !agrees(fn, page);
	}
	is_int(bad, 0, "zero page with one non-zero byte anywhere is never samefill");

	fill_words(page, 7);
	page[ZT_PAGE_SIZE - 1] = 8;
	ok(!fn(page, &fill), "%s: mismatch only in the last byte is found", name);
	fill_words(page, 7);
	page[0] = 8;
	ok(!fn(page, &fill), "%s: mismatch only in the first byte is found", name);

	bad = 0;
	for (int i = 0; i < 2000; i++) {
		for (size_t w = 0; w < WORDS; w++) {
			uint64_t r = next_random();
			memcpy(page + 8 * w, &r, 8);
		}
		bad += !agrees(fn, page);
	}
	is_int(bad, 0, "random pages: same answer as scalar");

	/* Unaligned pages: the vector paths must not assume alignment. */
	bad = 0;
	for (size_t off = 1; off < 64; off += 7) {
		fill_words(buf + off, 0x5555555555555555ull);
		bad += !fn(buf + off, &fill) || fill != 0x5555555555555555ull;
		buf[off + 2048] ^= 1;
		bad += fn(buf + off, &fill) != false;
	}
	is_int(bad, 0, "unaligned pages give the same answers");
}

int main(void)
{
	unsigned char *buf = aligned_alloc(64, 2 * ZT_PAGE_SIZE);
	uint64_t fill;

	ok(buf != NULL, "allocated test pages");
	ok(zt_samefill_impl(ZT_ISA_SCALAR) != NULL, "scalar path always exists");
	ok(zt_samefill_impl(ZT_ISA_COUNT) == NULL, "unknown ISA gives NULL");
	is_str(zt_isa_name(ZT_ISA_AVX2), "avx2", "ISA names");
	for (int isa = 0; isa < ZT_ISA_COUNT; isa++)
		test_isa((enum zt_isa)isa, buf);

	memset(buf, 0, ZT_PAGE_SIZE);
	ok(zt_page_samefill(buf, &fill) && fill == 0, "dispatched: zero page");
	buf[100] = 1;
	ok(!zt_page_samefill(buf, &fill), "dispatched: non-uniform page");
	free(buf);
	return tap_done();
}
