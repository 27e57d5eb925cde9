/*
 * t_fillvals.c — fill codes for META entries: zero and byte/32-bit fills
 * are inline (no table), other words take refcounted table entries that
 * are shared, released, reused, and refused with -ENOSPC when full.
 */
#include <errno.h>

#include "tests/tap.h"
#include "ublk/fillvals.h"
#include "ublk/pagetable.h"

/* Freed entries in a probe run must not hide the words after them. */
static void test_probing(void)
{
	struct zu_fills *f = zu_fills_create(8);
	uint64_t code[8], again;
	unsigned i, bad = 0;

	for (i = 0; i < 8; i++)
		bad += zu_fill_get(f, UINT64_C(0x100000000) * (i + 1) + 5, &code[i]) != 0;
	is_int(bad, 0, "fill all 8 entries");
	for (i = 0; i < 8; i += 2)
		zu_fill_put(f, code[i]);
	for (i = 1; i < 8; i += 2) {
		bad += zu_fill_get(f, UINT64_C(0x100000000) * (i + 1) + 5, &again) != 0;
		bad += again != code[i];
	}
	is_int(bad, 0, "after freeing every other entry the rest are still found");
	is_int(zu_fills_used(f), 4, "4 entries used");
	zu_fills_destroy(f);
}

int main(void)
{
	struct zu_fills *f = zu_fills_create(2);
	uint64_t a, b, c, d;
	static uint64_t page[ZT_PAGE_SIZE / 8];

	ok(f != NULL, "create a 2-entry table");
	is_int(zu_fill_get(NULL, 0, &a), 0, "zero fill needs no table");
	is_int(a, ZU_FILL_ZERO, "zero fill is code 0");
	is_int(zu_pte_meta(a), zu_pte_make(ZT_TIER_META, 0), "zero META entry");
	is_int(zu_fill_get(NULL, UINT64_MAX, &a), 0, "0xff.. fill needs no table");
	is_int(zu_fill_word(NULL, a), UINT64_MAX, "0xff.. decodes back");
	is_int(zu_fill_get(f, UINT64_C(0x1234567812345678), &a), 0, "32-bit repeat inline");
	is_int(zu_fill_word(f, a), UINT64_C(0x1234567812345678), "32-bit repeat decodes");
	is_int(zu_fills_used(f), 0, "inline codes use no table entry");

	is_int(zu_fill_get(f, UINT64_C(0xdeadbeef00000001), &a), 0, "a pointer-like word");
	ok(a & ZU_FILL_TABLE_BIT, "it is a table code");
	ok(a <= ZU_PTE_PAYLOAD_MASK, "table code fits a 60-bit payload");
	is_int(zu_fill_get(f, UINT64_C(0xdeadbeef00000001), &b), 0, "same word again");
	is_int(b, a, "shares the table entry");
	is_int(zu_fill_get(f, UINT64_C(0x00000001deadbeef), &c), 0, "a second word");
	is_int(zu_fills_used(f), 2, "2 entries used");
	is_int(zu_fill_get(f, 7, &d), -ENOSPC, "a third word: -ENOSPC");
	is_int(zu_fill_word(f, c), UINT64_C(0x00000001deadbeef), "second word decodes");
	zu_fill_put(f, a);
	is_int(zu_fills_used(f), 2, "one reference left: still used");
	zu_fill_put(f, b);
	is_int(zu_fills_used(f), 1, "last reference dropped: entry free");
	is_int(zu_fill_get(f, 7, &d), 0, "the free entry is reused");
	is_int(zu_fill_word(f, d), 7, "and decodes to the new word");
	zu_fill_put(f, 0);                     /* inline: no-op */
	zu_fill_page(page, UINT64_C(0x0102030405060708));
	ok(page[0] == UINT64_C(0x0102030405060708) &&
	   page[ZT_PAGE_SIZE / 8 - 1] == UINT64_C(0x0102030405060708), "fill a page");
	tap_diag("table bytes for 2 entries: %llu", (unsigned long long)zu_fills_bytes(f));
	zu_fills_destroy(f);
	test_probing();
	return tap_done();
}
