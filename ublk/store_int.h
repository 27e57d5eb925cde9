/*
 * store_int.h — internal to the store (store.c, store_seg.c, store_adopt.c,
 * store_compact.c): its structure, segment header and the calls the files
 * make to each other.  The design is in store.h; what each field guards is
 * in the comment of store.c.
 */
#ifndef ZU_STORE_INT_H
#define ZU_STORE_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "ublk/store.h"

#define SEG           ZU_STORE_CHUNK
#define SEG_MAGIC     0x7a747332u     /* "zts2" */
#define HDR_BYTES     32u
#define SEG_DATA      (SEG - HDR_BYTES)
#define OFF_BITS      44
#define SEALED        (UINT64_C(1) << 62)
#define VICTIM        (UINT64_C(1) << 61)
#define LIVE_MASK     (VICTIM - 1)
#define NO_SEG        UINT32_MAX
#define SPARE_MAX     2u              /* spares kept without a reserve   */
#define RESERVE_SHIFT 5               /* reserve goal: in use / 32       */
#define MAX_VICTIMS   1024u           /* per pass: 64 MiB evacuated      */
#define BUCKETS       16u             /* utilization sixteenths          */
#define COMPACT_START 10u             /* compact when holes > data / 10  */
#define COMPACT_GOAL  20u             /* ... down to data / 20           */
#define NUDGE_LIVE    (SEG_DATA - SEG_DATA / BUCKETS) /* a free below: nudge */
#define HK_WAIT_S     1               /* housekeeper's bounded wait      */
#define HK_STACK      (64u << 10)
#define ENOSPC_RESERVE (-EBUSY)       /* internal: the reserve was empty */
#define COMMIT_ONE    (-EAGAIN)       /* internal: commit a new segment  */
#define GS_COMMIT     1u              /* zus_get_segment may commit one  */
#define GS_CLEANER    2u              /* ... for the compactor           */

enum { LANE_PUT, LANE_MOVE, NLANES };

struct seg_hdr {                      /* at the start of a segment in use */
	uint32_t magic;
	uint16_t lane;                /* the lane that opened it            */
	uint16_t pad;
	uint32_t top;                 /* bytes used, this header included   */
	uint32_t pad2;
	_Atomic uint64_t lw;          /* live bytes | SEALED | VICTIM       */
	uint64_t pad3;
};
_Static_assert(sizeof(struct seg_hdr) == HDR_BYTES, "segment header size");

struct lane {
	pthread_mutex_t lock;
	uint32_t seg;                 /* open segment, NO_SEG if none       */
} __attribute__((aligned(64)));

struct zu_store {
	unsigned char *base;
	uint32_t max_segs;
	pthread_mutex_t seg_lock;
	uint64_t *committed;          /* bitmap of committed segments       */
	uint64_t *inuse;              /* bitmap of segments with a header   */
	uint32_t low_free;            /* no uncommitted segment below this  */
	uint32_t *spare;              /* empty committed segments: reserve  */
	uint32_t nspare;              /* and spares, one stack              */
	uint32_t target, low;         /* reserve mode: caps of goal and low */
	bool reserve_mode;            /* put never commits, free never unmaps */
	bool upfront;                 /* everything committed at start      */
	bool external;                /* base is a caller's region (state.h) */
	int arena_fd;                 /* on demand in a state: its file, else -1 */
	uint64_t arena_off;           /* the arena's offset in that file    */
	uint32_t *adopt_live;         /* attach: live bytes per segment     */
	bool hk_running, hk_stop;
	bool hk_kick;                 /* work asked for since the round began */
	pthread_cond_t hk_cond;       /* with seg_lock: wakes the housekeeper */
	pthread_t hk;
	void (*tick)(void *ctx);      /* zu_store_set_tick                  */
	void *tick_ctx;
	struct lane lane[NLANES];
	struct zu_store_mover mover;
	bool has_mover;
	pthread_mutex_t compact_lock; /* one pass at a time; guards below   */
	uint64_t *victim;             /* bitmap of this pass's victims      */
	uint32_t *victims, nvictims;
	uint64_t pass_moved;
	int pass_err;
	_Atomic uint64_t ncommitted, nused, released, refilled;
	_Atomic uint64_t enospc_reserve, enospc_limit;
	_Atomic uint64_t pages, raw_pages, live;
	_Atomic uint64_t compactions, moved_pages, moved_bytes, freed_segs, raced;
};

static inline struct seg_hdr *hdr(const struct zu_store *st, uint32_t s)
{
	return (struct seg_hdr *)(st->base + (size_t)s * SEG);
}

static inline uint64_t make_handle(uint64_t off, size_t len)
{
	return off << 12 | (len - 1);
}

static inline uint64_t handle_off(uint64_t h)
{
	return (h >> 12) & ((UINT64_C(1) << OFF_BITS) - 1);
}

static inline bool bit_test(const uint64_t *map, uint32_t i)
{
	return map[i / 64] >> (i % 64) & 1;
}

static inline void bit_set(uint64_t *map, uint32_t i)
{
	map[i / 64] |= UINT64_C(1) << (i % 64);
}

static inline void bit_clear(uint64_t *map, uint32_t i)
{
	map[i / 64] &= ~(UINT64_C(1) << (i % 64));
}

static inline void count_page(struct zu_store *st, size_t len, int sign)
{
	atomic_fetch_add_explicit(&st->pages, (uint64_t)(int64_t)sign, memory_order_relaxed);
	atomic_fetch_add_explicit(&st->live, (uint64_t)((int64_t)sign * (int64_t)len),
				  memory_order_relaxed);
	if (len == ZT_PAGE_SIZE)
		atomic_fetch_add_explicit(&st->raw_pages, (uint64_t)(int64_t)sign,
					  memory_order_relaxed);
}

/* store.c */
struct zu_store *zus_new(uint64_t mem_limit, void *arena);
/* Room for len bytes in lane li (its lock held): the arena offset, or a
 * negative error. */
int64_t zus_lane_alloc(struct zu_store *st, unsigned li, size_t len, unsigned flags);

/* store_seg.c: segments, the spare stack and the reserve */
uint32_t zus_reserve_goal(const struct zu_store *st);
bool zus_hk_has_work_locked(struct zu_store *st);
uint64_t zus_free_segs_locked(struct zu_store *st);
int64_t zus_get_segment(struct zu_store *st, unsigned flags);
void zus_release_seg(struct zu_store *st, uint32_t s);
void zus_all_spare(struct zu_store *st);
void zus_hk_kick_locked(struct zu_store *st);
void zus_trim_excess(struct zu_store *st);

/* store_compact.c */
int zus_compact_due_locked(struct zu_store *st);
void zus_compact_nudge(struct zu_store *st);

#endif
