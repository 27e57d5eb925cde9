/*
 * fillvals.h — same-fill values for META page-table entries.
 *
 * A same-filled page is one 64-bit word repeated (policy.h zt_page_samefill).
 * Its META entry has a 60-bit payload, the "fill code":
 *
 *   bit 59 = 0  inline: the word is one 32-bit value repeated (hi == lo);
 *               code = that value.  Zero pages are code 0 and every
 *               byte-fill (0xff..., 0x5a...) is inline too: no table entry,
 *               no lock, no refcount.
 *   bit 59 = 1  table: code = 1<<59 | index into a small refcounted table of
 *               the rare other words (e.g. a pointer value repeated).
 *
 * The table is a fixed array (capacity at create, e.g. 4096), one mutex:
 * only the rare table path takes it, never the zero or byte-fill path.  A
 * full table returns -ENOSPC and the caller stores the page another way
 * (compressed, a same-filled page is a few bytes).  Each table code returned
 * by zu_fill_get holds one reference; zu_fill_put drops it (inline codes:
 * no-op).  Values and indexes only, no pointers: shared-memory friendly.
 */
#ifndef ZU_FILLVALS_H
#define ZU_FILLVALS_H

#include <stdbool.h>
#include <stdint.h>

#define ZU_FILL_TABLE_BIT (UINT64_C(1) << 59)
#define ZU_FILL_ZERO      UINT64_C(0)

struct zu_fills;

struct zu_fills *zu_fills_create(uint32_t capacity);   /* NULL on ENOMEM */
void zu_fills_destroy(struct zu_fills *f);

/* The table in a caller's region (a shared-memory state, state.h) of
 * zu_fills_region_bytes(capacity): entries only, the lock stays in the
 * process.  Nothing is written to it until zu_fills_adopt_commit, which
 * must come before any get: at once on a fresh (zeroed) region, after
 * zu_fills_adopt of every META code the page table names on an attach.
 * adopt: 0, or -EUCLEAN (a table code that names no word). */
uint64_t zu_fills_region_bytes(uint32_t capacity);
struct zu_fills *zu_fills_create_in(void *area, uint32_t capacity);
int zu_fills_adopt(struct zu_fills *f, uint64_t code);
void zu_fills_adopt_commit(struct zu_fills *f);

/* True when the word needs no table entry (zero, byte or 32-bit fills). */
static inline bool zu_fill_is_inline(uint64_t word)
{
	return (uint32_t)word == (uint32_t)(word >> 32);
}

/* Code for a fill word, taking a reference for table codes.
 * 0 or -ENOSPC (table full).  f may be NULL for inline words. */
int zu_fill_get(struct zu_fills *f, uint64_t word, uint64_t *code);
/* Drop the reference a code holds (no-op for inline codes). */
void zu_fill_put(struct zu_fills *f, uint64_t code);
/* The 64-bit word a code stands for. */
uint64_t zu_fill_word(const struct zu_fills *f, uint64_t code);

/* Table entries in use (distinct non-inline words referenced). */
uint32_t zu_fills_used(struct zu_fills *f);
uint64_t zu_fills_bytes(const struct zu_fills *f);      /* metadata bytes */

/* Fill a 4 KiB page with a word (for reads of META pages). */
void zu_fill_page(void *page, uint64_t word);

#endif
