/*
 * store_adopt.c — the store in a caller's region (state.h): wrapped with
 * nothing written, each handle of the page table checked, then the segment
 * headers rebuilt from what the table names.
 */
#include <errno.h>
#include <stdlib.h>

#include "ublk/store_int.h"

/* ---- in a caller's region (state.h) ------------------------------------------------- */

/* The caller mapped and populated the arena (MAP_SHARED): upfront mode
 * with nothing to map.  Nothing is written to the arena here: a fresh
 * (zeroed) arena has no segment header, and an attach first adopts. */
struct zu_store *zu_store_create_in(void *arena, uint64_t bytes)
{
	struct zu_store *st = arena ? zus_new(bytes, arena) : NULL;

	if (!st)
		return NULL;
	st->adopt_live = calloc(st->max_segs, sizeof(uint32_t));
	if (!st->adopt_live) {
		zu_store_destroy(st);
		errno = ENOMEM;
		return NULL;
	}
	zus_all_spare(st);
	return st;
}

/* A handle is adoptable if it lies wholly in the data of a segment whose
 * header is one of ours and covers it (top).  Read-only. */
int zu_store_adopt(struct zu_store *st, uint64_t handle)
{
	uint64_t off = handle_off(handle), len = zu_store_handle_len(handle);
	uint32_t s = (uint32_t)(off / SEG);
	const struct seg_hdr *h;

	if (!st->adopt_live || off >= (uint64_t)st->max_segs * SEG)
		return -EUCLEAN;
	h = hdr(st, s);
	if (off % SEG < HDR_BYTES || h->magic != SEG_MAGIC || h->top > SEG ||
	    off % SEG + len > h->top || st->adopt_live[s] + len > SEG_DATA)
		return -EUCLEAN;
	st->adopt_live[s] += (uint32_t)len;
	count_page(st, len, 1);   /* process counters: dropped with a refusal */
	return 0;
}

/* One segment after adoption: sealed with the live bytes the table names
 * (what a dead thread added or subtracted is gone), or free. */
static void adopt_seg(struct zu_store *st, uint32_t s)
{
	struct seg_hdr *h = hdr(st, s);
	uint32_t live = st->adopt_live[s];

	if (!live) {
		h->magic = 0;
		atomic_store_explicit(&h->lw, 0, memory_order_relaxed);
		st->spare[st->nspare++] = s;
		return;
	}
	h->lane = LANE_PUT;
	atomic_store_explicit(&h->lw, live | SEALED, memory_order_relaxed);
	bit_set(st->inuse, s);
	atomic_fetch_add_explicit(&st->nused, 1, memory_order_relaxed);
}

void zu_store_adopt_commit(struct zu_store *st)
{
	if (!st->adopt_live)
		return;
	pthread_mutex_lock(&st->seg_lock);
	st->nspare = 0;
	for (uint32_t s = st->max_segs; s > 0; s--)
		adopt_seg(st, s - 1);
	pthread_mutex_unlock(&st->seg_lock);
	free(st->adopt_live);
	st->adopt_live = NULL;
}
