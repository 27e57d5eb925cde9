/*
 * fillvals.c — the refcounted table of non-inline fill words (see fillvals.h).
 *
 * An open-addressed hash table (linear probing) under one mutex: it holds
 * the rare words that are not a repeated 32-bit value, and zero/byte fills
 * never get here.  An entry with refs == 0 is free; "ever" marks entries
 * that were once used, so a probe stops only at a never-used entry and a
 * freed entry in the middle of a run does not hide the words after it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "policy/policy.h"
#include "ublk/fillvals.h"

struct zu_fill_ent {                  /* the layout a region keeps */
	uint64_t word;
	uint64_t refs;
	uint32_t ever;
	uint32_t pad;
};
_Static_assert(sizeof(struct zu_fill_ent) == 24, "fill entry layout");

struct zu_fills {
	pthread_mutex_t lock;
	uint32_t capacity;
	uint32_t used;
	struct zu_fill_ent *ent;
	bool external;                /* ent is a caller's region        */
	uint64_t *adopt_refs;         /* attach: references per entry    */
};

struct zu_fills *zu_fills_create(uint32_t capacity)
{
	struct zu_fills *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->capacity = capacity;
	f->ent = calloc(capacity ? capacity : 1, sizeof(*f->ent));
	if (!f->ent) {
		free(f);
		return NULL;
	}
	pthread_mutex_init(&f->lock, NULL);
	return f;
}

void zu_fills_destroy(struct zu_fills *f)
{
	if (!f)
		return;
	pthread_mutex_destroy(&f->lock);
	if (!f->external)
		free(f->ent);
	free(f->adopt_refs);
	free(f);
}

static uint32_t home(const struct zu_fills *f, uint64_t word)
{
	word ^= word >> 33;
	word *= UINT64_C(0xff51afd7ed558ccd);
	word ^= word >> 33;
	return (uint32_t)(word % f->capacity);
}

/* Index of word, or of a free entry when absent, or capacity when full. */
static uint32_t find(const struct zu_fills *f, uint64_t word)
{
	uint32_t i = home(f, word), n, hole = f->capacity;

	for (n = 0; n < f->capacity; n++, i = (i + 1) % f->capacity) {
		const struct zu_fill_ent *e = &f->ent[i];

		if (e->refs && e->word == word)
			return i;
		if (!e->refs && hole == f->capacity)
			hole = i;
		if (!e->ever)
			break;
	}
	return hole;
}

int zu_fill_get(struct zu_fills *f, uint64_t word, uint64_t *code)
{
	uint32_t i;

	if (zu_fill_is_inline(word)) {
		*code = (uint32_t)word;
		return 0;
	}
	if (!f)
		return -ENOSPC;
	pthread_mutex_lock(&f->lock);
	i = f->capacity ? find(f, word) : 0;
	if (f->capacity == 0 || i == f->capacity) {
		pthread_mutex_unlock(&f->lock);
		return -ENOSPC;
	}
	if (!f->ent[i].refs) {
		f->ent[i].word = word;
		f->ent[i].ever = 1;
		f->used++;
	}
	f->ent[i].refs++;
	pthread_mutex_unlock(&f->lock);
	*code = ZU_FILL_TABLE_BIT | i;
	return 0;
}

void zu_fill_put(struct zu_fills *f, uint64_t code)
{
	uint64_t i = code & ~ZU_FILL_TABLE_BIT;

	if (!(code & ZU_FILL_TABLE_BIT) || !f || i >= f->capacity)
		return;
	pthread_mutex_lock(&f->lock);
	if (f->ent[i].refs && --f->ent[i].refs == 0)
		f->used--;
	pthread_mutex_unlock(&f->lock);
}

uint64_t zu_fill_word(const struct zu_fills *f, uint64_t code)
{
	uint64_t i = code & ~ZU_FILL_TABLE_BIT;

	if (!(code & ZU_FILL_TABLE_BIT))
		return (code & 0xffffffffu) * UINT64_C(0x100000001);
	/* The holder of the code holds a reference: the word cannot change. */
	return f && i < f->capacity ? f->ent[i].word : 0;
}

uint32_t zu_fills_used(struct zu_fills *f)
{
	uint32_t n;

	pthread_mutex_lock(&f->lock);
	n = f->used;
	pthread_mutex_unlock(&f->lock);
	return n;
}

uint64_t zu_fills_bytes(const struct zu_fills *f)
{
	return sizeof(*f) + (uint64_t)f->capacity * sizeof(*f->ent);
}

void zu_fill_page(void *page, uint64_t word)
{
	uint64_t *p = page;
	unsigned i;

	for (i = 0; i < ZT_PAGE_SIZE / sizeof(*p); i++)
		p[i] = word;
}

/* ---- in a caller's region (state.h) ------------------------------------- */

uint64_t zu_fills_region_bytes(uint32_t capacity)
{
	return (uint64_t)(capacity ? capacity : 1) * sizeof(struct zu_fill_ent);
}

struct zu_fills *zu_fills_create_in(void *area, uint32_t capacity)
{
	struct zu_fills *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->capacity = capacity;
	f->ent = area;
	f->external = true;
	f->adopt_refs = calloc(capacity ? capacity : 1, sizeof(uint64_t));
	if (!f->adopt_refs) {
		free(f);
		return NULL;
	}
	pthread_mutex_init(&f->lock, NULL);
	return f;
}

int zu_fills_adopt(struct zu_fills *f, uint64_t code)
{
	uint64_t i = code & ~ZU_FILL_TABLE_BIT;

	if (!(code & ZU_FILL_TABLE_BIT))
		return code >> 32 ? -EUCLEAN : 0;   /* inline: a 32-bit value */
	if (!f->adopt_refs || i >= f->capacity || !f->ent[i].ever)
		return -EUCLEAN;                    /* no word was ever put there */
	f->adopt_refs[i]++;
	return 0;
}

/* refs become the references the table holds: a dead thread's get that
 * was never published, or a put it never made, is forgotten.  "ever" is
 * kept: clearing it could cut a probe run short. */
void zu_fills_adopt_commit(struct zu_fills *f)
{
	if (!f->adopt_refs)
		return;
	f->used = 0;
	for (uint32_t i = 0; i < f->capacity; i++) {
		f->ent[i].refs = f->adopt_refs[i];
		f->used += f->adopt_refs[i] != 0;
	}
	free(f->adopt_refs);
	f->adopt_refs = NULL;
}
