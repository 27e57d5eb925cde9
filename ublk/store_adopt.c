/*
 * store_adopt.c — the store in a caller's region (state.h): wrapped with
 * nothing written, each handle of the page table checked, then the segment
 * headers rebuilt from what the table names.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

#include "ublk/store_int.h"

/* ---- in a caller's region (state.h) ------------------------------------------------- */

/* The caller mapped the arena (MAP_SHARED).  Upfront (fd < 0): populated,
 * nothing to map.  On demand: the arena is a range of fd from off, whose
 * segments are committed and given back in the file (store_seg.c).
 * Nothing is written to the arena here: a fresh (zeroed) arena has no
 * segment header, and an attach first adopts. */
struct zu_store *zu_store_create_in(void *arena, uint64_t bytes, int fd, uint64_t off)
{
	struct zu_store *st = arena ? zus_new(bytes, arena) : NULL;

	if (!st)
		return NULL;
	st->adopt_live = calloc(st->max_segs, sizeof(uint32_t));
	if (!st->adopt_live || (fd >= 0 && (st->arena_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0)) {
		int err = st->adopt_live ? errno : ENOMEM;

		zu_store_destroy(st);
		errno = err;
		return NULL;
	}
	st->arena_off = off;
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
 * (what a dead thread added or subtracted is gone), or free.  A free
 * segment of an on-demand arena is not written (its page may be a hole,
 * and a write would commit it): it is punched out after, which zeroes it. */
static void adopt_seg(struct zu_store *st, uint32_t s)
{
	struct seg_hdr *h = hdr(st, s);
	uint32_t live = st->adopt_live[s];

	if (!live) {
		if (st->arena_fd < 0) {
			h->magic = 0;
			atomic_store_explicit(&h->lw, 0, memory_order_relaxed);
		}
		st->spare[st->nspare++] = s;
		return;
	}
	h->lane = LANE_PUT;
	atomic_store_explicit(&h->lw, live | SEALED, memory_order_relaxed);
	bit_set(st->inuse, s);
	atomic_fetch_add_explicit(&st->nused, 1, memory_order_relaxed);
}

/* On demand from here on (seg_lock held): only the segments with pages
 * are committed; the store grows and shrinks like a local on-demand one
 * (zu_store_reserve comes next). */
static void go_on_demand_locked(struct zu_store *st)
{
	uint32_t words = (st->max_segs + 63) / 64;

	for (uint32_t w = 0; w < words; w++)
		st->committed[w] = st->inuse[w];
	st->nspare = 0;
	st->low_free = 0;
	st->target = st->low = 0;
	st->reserve_mode = false;
	st->upfront = false;
	atomic_store(&st->ncommitted, atomic_load(&st->nused));
}

/* Punch out every run of free segments: 0 or -errno. */
static int punch_free(struct zu_store *st)
{
	uint32_t s = 0, n = st->max_segs;

	while (s < n) {
		uint32_t e;

		for (; s < n && bit_test(st->inuse, s); s++)
			;
		for (e = s; e < n && !bit_test(st->inuse, e); e++)
			;
		if (e > s && fallocate(st->arena_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				       (off_t)(st->arena_off + (uint64_t)s * SEG),
				       (off_t)((uint64_t)(e - s) * SEG)))
			return -errno;
		s = e;
	}
	return 0;
}

int zu_store_adopt_commit(struct zu_store *st)
{
	if (!st->adopt_live)
		return 0;
	pthread_mutex_lock(&st->seg_lock);
	st->nspare = 0;
	for (uint32_t s = st->max_segs; s > 0; s--)
		adopt_seg(st, s - 1);
	if (st->arena_fd >= 0)
		go_on_demand_locked(st);
	pthread_mutex_unlock(&st->seg_lock);
	free(st->adopt_live);
	st->adopt_live = NULL;
	return st->arena_fd >= 0 ? punch_free(st) : 0;
}
