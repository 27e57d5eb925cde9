/*
 * store.h — the userspace compressed store: compressed 4 KiB pages packed
 * end to end in 64 KiB segments, under a hard memory limit, kept dense by
 * a compactor.
 *
 * Why not size classes.  The store used to give each of 97 size classes
 * (32 B steps) its own 256 KiB chunks: every class with a page pinned a
 * chunk, so 23 MB were spent before the data mattered (2.2 MB of data held
 * 25.7 MB, issue #11), and churn left half-empty chunks that nothing gave
 * back.  Smaller per-class spans (zsmalloc's 1-4 page zspages) still leave
 * one partly used span per class: about 1.25 pages x ~50 live classes =
 * 250 KB, 11% at 2.2 MB of data, before any commit granularity.  So the
 * store has no classes at all.
 *
 * Layout.  One virtual range of mem_limit bytes (rounded down to whole
 * segments), committed a ZU_STORE_CHUNK (64 KiB segment) at a time, so
 * segment i is always at offset i * ZU_STORE_CHUNK.  A segment in use
 * starts with a 32-byte header (magic, its lane, top = bytes used, live
 * bytes with the SEALED/VICTIM flags); pages follow back to back with no
 * alignment and no per-page header.  Puts append to one open segment (the
 * put lane); when a page does not fit, that segment is sealed and a new one
 * opened.  A free only subtracts from the live bytes of the page's
 * segment; a sealed segment whose live bytes reach 0 is empty and goes
 * back at once (spare stack, or unmapped).  Everything persistent is an
 * offset or a number, never a pointer, so the arena can be a shared
 * region that a restarted server maps again (zu_store_create_in, with the
 * live bytes rebuilt from the page table: zu_store_adopt, state.h).
 *
 * Handle (56 bits, fits a STORE page-table entry):
 *   bits 0..11 length-1 | bits 12..55 byte offset in the arena
 * The exact length lives in the handle (decompressors need it), so the
 * store keeps nothing per page.  The offset limits the store to 16 TiB.
 *
 * Compaction.  Holes left by frees in sealed segments are never reused in
 * place: the compactor (zu_store_compact, run by the housekeeper thread,
 * never by a queue thread) picks the sealed segments with the least live
 * data as victims (flag VICTIM: nobody releases them meanwhile), asks its
 * owner to walk the page table (struct zu_store_mover: the store does not
 * know the table), and for each page whose handle lies in a victim copies
 * the bytes to its own lane's open segment, then asks relocate() to point
 * the entry at the copy if, under the entry lock, it still names the old
 * handle.  A reader holds that lock while it copies out, so it sees the
 * old or the new location, both whole; a page rewritten meanwhile keeps
 * its new handle and the copy is freed.  Only then is the old copy freed.
 * A kill at any point leaves the entry naming one whole copy: nothing is
 * lost, at worst a copy leaks until the store is rebuilt from the table.
 * Moved pages are cold, so they share segments with each other, not with
 * fresh writes (the log-structured memory rule: segregate by age).
 *
 * Overhead (memory used - data bytes), what it is made of and its bound:
 *   - per page: 0 B (no header, no alignment, no size-class rounding);
 *   - per segment: the 32 B header (0.05%) and the tail a page did not fit
 *     in (about half a page's length: ~0.4% at 480 B pages; raw pages
 *     alone fit 15 to a segment: 6.6%, against 1.6% in the old raw size
 *     class; only a policy without a spill tier stores many raw pages);
 *   - constant: the two open segments (put lane, move lane): < 128 KiB;
 *     the store's malloc'd tables: 4.4 B per segment of the limit (3 bits
 *     + a spare-stack slot) + 5 KiB; nothing per queue;
 *   - the reserve (on demand): 1/32 of the segments in use, at least
 *     ZU_STORE_RESERVE_MIN (64 KiB), at most the target given (the server:
 *     32 = 2 MiB); after discarding everything the store holds just that;
 *   - holes left by frees, until the compactor takes them back: it runs
 *     when they pass 1/10 of the data (+ 1 segment) and packs the least
 *     used segments until they are under 1/20; a pass gives each victim
 *     back as it empties it (beyond the reserve goal), not at its end;
 *   - with a mover, the last segment of the limit is kept for the
 *     compactor (a full store could not be packed without one): the limit
 *     for pages is one segment less.
 * The bound (issue #11: <= 10% at any fill, <= 15% after churn) is on
 * memory used = arena_bytes (committed) in the on-demand and plain modes.
 * In upfront mode (swap) the whole limit is committed by design ("memory
 * reserved"); there the bound is on in_use_bytes, the segments holding
 * pages or open.  Measured (tests/ublk/t_store_compact.c test_fill_churn and
 * tests/bench/b_store.c; lengths log-normal around 300 B, mean ~480 B, 1%
 * raw, like the 9:1 swap pages), overhead / stored:
 *                 16 MiB  64 MiB  256 MiB  1 GiB  4 GiB  churn  -1/4
 *   on demand       7.0%    3.5%     4.2%   2.7%   1.4%   9.9%  5.4%
 *   upfront, in use 3.6%    1.0%     1.1%   1.0%     -    8.1%  2.9%
 * (churn: overwrite half at random with other lengths; -1/4: then discard
 * a quarter at random.)  Under 16 MiB stored the constant terms dominate:
 * 192 KiB (two open segments + the minimum reserve) is 10% of 1.9 MB.
 * With the housekeeper thread on its own, as in the server, on the VM's
 * corpus of real heap pages under the default policy and bench-mem.sh's
 * steps (tests/bench/b_store_churn.c, host): 1 GiB 1.5-1.7%, after churn
 * 9.2-10.6%, first 256 MiB discarded 5.0-9.1%, each settled within 0.1 s;
 * everything discarded: the 64 KiB reserve within 0.06 s.
 * Was (size classes): 1045% / 368% / 70% / 17%, 35% after churn.
 * Cost: a put or free is 170-230 ns (b_store); uniformly random
 * overwrites, the worst case for packing, cost ~6 pages moved per page
 * written (1.3 us of housekeeper time per page at 1M pages: a pass walks
 * the whole table, ~25 ms).
 *
 * Limit: a segment is committed only if committed segments stay <= the
 * limit; otherwise put returns -ENOSPC and the caller applies the policy
 * fallback.  The store never grows past it; the reserve counts toward it.
 *
 * Upfront (a swap device, zu_store_commit_all): the whole limit is committed
 * at start in one mapping and every segment goes on the spare stack; put
 * only pops, free only pushes, nothing is mapped or unmapped again.  A full
 * store is -ENOSPC at once, put_last included: the kernel keeps the page
 * and tries again later or elsewhere.  Any allocation of a swap server
 * under memory pressure can wait for reclaim, which waits for swap-out to
 * this very device.  The housekeeper may still run there, but only to
 * compact: it copies within committed memory and never maps or unmaps.
 *
 * Reserve (on demand, a file system): committing a segment means mmap and
 * faulting it in, which under memory pressure can wait forever in a queue
 * thread (PR_SET_IO_FLUSHER: its reclaim cannot write to swap, and the OOM
 * killer does not pick it).  So after zu_store_reserve(st, target, low) put
 * never commits: it takes empty segments only from a reserve of committed,
 * populated ones and returns -ENOSPC (the policy's fallback takes the page)
 * when it is empty.  Free never unmaps either.  A housekeeper thread
 * (zu_store_housekeeper_start; not a queue thread), woken by a condition
 * variable from put/free and every second, refills the reserve, unmaps the
 * excess and compacts, holding no lock while it faults memory in.  A wake
 * that comes while it works makes it go round again at once (else it
 * slept up to a second with the work pending: after a discard of
 * everything 32 segments stayed committed that long, and a reading then
 * saw 2.1 MB for an empty store); a free that takes a sealed segment below
 * 15/16 full wakes it if that makes a pass due (once per segment); the
 * excess is unmapped down to the goal as it falls, read at every step.  Without
 * a reserve (tests, tools) put commits segments itself (under the put
 * lane's lock) and up to 2 emptied segments are kept as spares.
 * Compressed data longer than ZU_STORE_MAX_COMPRESSED is -E2BIG: use
 * zu_store_put_raw or another tier.
 *
 * Threads: one put lane for all queues (a lane per queue would cost a
 * 64 KiB open segment each, 3% at 16 MiB stored); its mutex is held only
 * to bump the top of the open segment (the copy happens outside it); a free is one atomic subtraction
 * (plus the lane lock in the rare case that it empties the open segment);
 * segment_lock guards the spare stack and the committed/in-use bitmaps.
 * The caller keeps a page alive while it reads it (it holds the page-table
 * entry lock): get does not lock.  relocate() is called with no store lock
 * held, so a queue thread may hold an entry lock and call put or free.
 *
 * Memory back: released segments are mapped PROT_NONE again (works on
 * mlocked memory, where MADV_DONTNEED does not).  Whole segments, not
 * pages: committing in 4 KiB units costs 1381 ns/KiB against 390 in 64 KiB
 * units, releasing 1052 against 145 (b_store), and every hole punched in
 * the arena splits a mapping.  Under
 * mlockall(MCL_FUTURE) the PROT_NONE reservation is not populated
 * (tests/ublk/r_mlock.c) but the kernel counts its full size in VmLck and
 * against RLIMIT_MEMLOCK: the server needs CAP_IPC_LOCK or
 * LimitMEMLOCK=infinity (it needs them for mlockall anyway).
 *
 * Errors: negative errno.
 */
#ifndef ZU_STORE_H
#define ZU_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"

#define ZU_STORE_CHUNK           (64u * 1024u)   /* one segment */
#define ZU_STORE_MAX_COMPRESSED  3072u           /* 3/4 of ZT_PAGE_SIZE */
#define ZU_STORE_HANDLE_BITS     56
#define ZU_STORE_RESERVE_MIN     1u              /* segments */

struct zu_store;

/* A store that never uses more than mem_limit bytes of arena (>= one
 * segment, < 16 TiB).  NULL with errno set on failure (EINVAL). */
struct zu_store *zu_store_create(uint64_t mem_limit);
void zu_store_destroy(struct zu_store *st);

/* The store in a caller's region (a shared-memory state, state.h): arena
 * is bytes long and mapped shared by the caller (its segment headers are
 * what survives a server).  fd < 0: the caller populated it and the store
 * runs in upfront mode on it.  fd >= 0: on demand (a file system's state:
 * its memory follows what it stores): the arena is fd's range from off,
 * a segment is committed by fallocate and given back by punching a hole
 * (holes read as zeros: no segment header), and after the commit below
 * only segments with pages are committed; zu_store_reserve comes next, as
 * for a local on-demand store.  (The store keeps its own dup of fd.)
 * Nothing is written to the arena until zu_store_adopt_commit, which must
 * come before any put: on a fresh (zeroed) arena at once, on a state a
 * dead server left after zu_store_adopt of every handle its page table
 * names.  NULL with errno set (EINVAL, ENOMEM, EBADF). */
struct zu_store *zu_store_create_in(void *arena, uint64_t bytes, int fd, uint64_t off);
/* Check one handle of the table, reading only: it lies in the data of a
 * segment whose header is ours and covers it.  0, or -EUCLEAN (the table
 * and the store disagree: the caller refuses the state). */
int zu_store_adopt(struct zu_store *st, uint64_t handle);
/* Rebuild from the adopted handles: a segment's live bytes are the sum of
 * its handles' lengths (what a dead thread allocated and never published
 * is freed, what it freed after unpublishing is gone), every segment with
 * pages is sealed, the others are free.  Writes the segment headers; on
 * demand, punches the free segments out instead.  0, or -errno of a punch
 * (the store is then consistent but holds memory it does not use). */
int zu_store_adopt_commit(struct zu_store *st);

/* Copy len (1..ZU_STORE_MAX_COMPRESSED) bytes of compressed data into the
 * store.  0 and *handle, -E2BIG (too long: store raw or elsewhere), -ENOSPC
 * (limit reached, or the reserve is empty), -EINVAL (len 0). */
int zu_store_put(struct zu_store *st, const void *data, size_t len, uint64_t *handle);
/* Store one uncompressed ZT_PAGE_SIZE page.  0, -ENOSPC. */
int zu_store_put_raw(struct zu_store *st, const void *page, uint64_t *handle);
/* The same, for a caller with no other place for the page (no fallback):
 * in reserve mode an empty reserve does not refuse the page, a segment is
 * committed here as without a reserve (-ENOSPC only at the limit).  A
 * transient empty reserve must not fail a write that has nowhere else to
 * go; a swap device should give the store a fallback tier (spill). */
int zu_store_put_last(struct zu_store *st, const void *data, size_t len, uint64_t *handle);
int zu_store_put_raw_last(struct zu_store *st, const void *page, uint64_t *handle);

/* Where a handle's bytes are, and how many (ZT_PAGE_SIZE for raw pages);
 * not aligned.  Valid until zu_store_free(handle) or, for a page the
 * compactor may move, until the caller drops the page's entry lock. */
const void *zu_store_data(struct zu_store *st, uint64_t handle, size_t *len);
static inline size_t zu_store_handle_len(uint64_t handle)
{
	return (size_t)(handle & 0xfff) + 1;
}

void zu_store_free(struct zu_store *st, uint64_t handle);

/* Unmap the spare segments now, e.g. after a big discard; in reserve mode
 * down to the reserve goal, in upfront mode none.
 * 0, or -ENOMEM if the kernel refused an unmap. */
int zu_store_trim(struct zu_store *st);

/* Reserve mode: keep up to target empty segments committed (the goal is
 * 1/32 of the segments in use, at least ZU_STORE_RESERVE_MIN, at most
 * target and the limit); refill when fewer than min(low, goal / 2 rounded
 * up) are left; put then never commits.  Fills the reserve now (call it
 * before the I/O starts).  0, -EINVAL (target 0, low > target, or already
 * set), -ENOMEM (no segment could be mapped). */
int zu_store_reserve(struct zu_store *st, uint32_t target, uint32_t low);
/* Commit segments until the reserve holds its goal (or the limit is
 * reached), then unmap spares beyond it.  What the housekeeper runs; not
 * for a queue thread.  Segments committed, or -ENOMEM if none could be. */
int zu_store_refill(struct zu_store *st);
/* Upfront commit (a store on the swap path): the whole limit committed
 * now, in one populated mapping, and every segment put on the spare stack;
 * put then never maps memory (an empty stack means the limit is reached:
 * -ENOSPC at once, also for put_last) and free never unmaps.  Call before
 * any put.  0, -EINVAL (already in use), -errno of the mmap. */
int zu_store_commit_all(struct zu_store *st);

/* What the compactor needs from the owner of the page table. */
typedef void (*zu_store_visit_fn)(struct zu_store *st, uint64_t pgno, uint64_t handle);
struct zu_store_mover {
	/* Call visit(st, pgno, handle) for every page whose entry names a
	 * store handle (a racy snapshot is fine; stale handles are ignored). */
	void (*walk)(void *ctx, struct zu_store *st, zu_store_visit_fn visit);
	/* Under page pgno's entry lock: if the entry still names old_handle,
	 * make it name new_handle (same codec) and return true; else change
	 * nothing and return false.  Called with no store lock held. */
	bool (*relocate)(void *ctx, uint64_t pgno, uint64_t old_handle,
			 uint64_t new_handle);
	void *ctx;
};
/* Enable compaction (before the first put and the housekeeper: it also
 * sets one segment of the limit aside for the compactor).  0, -EINVAL. */
int zu_store_set_mover(struct zu_store *st, const struct zu_store_mover *m);
/* One compaction pass if holes pass 1/10 of the data (force: any hole):
 * victims chosen, one walk, pages moved.  Pages moved (0: nothing worth
 * it), -EINVAL (no mover), -ENOSPC (no segment to move into).  The
 * housekeeper calls it; a test may.  Never from a queue thread. */
int zu_store_compact(struct zu_store *st, bool force);

/* Something else for the housekeeper to run (the tiered target's
 * demotion, demote.h): fn(ctx) once a round, at least every HK_WAIT_S
 * (1 s), with no store lock held.  Before zu_store_housekeeper_start.
 * 0, -EINVAL (already running). */
int zu_store_set_tick(struct zu_store *st, void (*fn)(void *ctx), void *ctx);

/* Start the housekeeper thread (after zu_store_reserve or
 * zu_store_commit_all; upfront it only compacts, so it is started only
 * with a mover); zu_store_destroy stops it.  0, -EINVAL, -errno. */
int zu_store_housekeeper_start(struct zu_store *st);
/* Stop it now (before what its tick uses goes away); destroy does too. */
void zu_store_housekeeper_stop(struct zu_store *st);

struct zu_store_stats {
	uint64_t pages;                /* pages stored (compressed + raw)       */
	uint64_t raw_pages;            /* of which raw (4096 B)                 */
	uint64_t data_bytes;           /* sum of stored lengths: compressed bytes */
	uint64_t arena_bytes;          /* committed segments: memory used       */
	uint64_t in_use_bytes;         /* segments holding pages or open        */
	uint64_t limit_bytes;          /* the limit, rounded down to segments   */
	uint64_t meta_bytes;           /* the store's own malloc'd bookkeeping  */
	uint64_t spare_bytes;          /* empty committed segments: reserve + spares */
	uint64_t reserve_target_bytes; /* reserve goal now, 0 without a reserve */
	uint64_t chunks_refilled;      /* segments committed by refills, total  */
	uint64_t chunks_released;      /* segments given back to the OS, total  */
	uint64_t enospc;               /* puts refused, total (the two below)   */
	uint64_t enospc_reserve;       /* ... because the reserve was empty     */
	uint64_t enospc_limit;         /* ... because of the memory limit       */
	uint64_t compactions;          /* compaction passes that moved pages    */
	uint64_t compact_pages;        /* pages moved                           */
	uint64_t compact_bytes;        /* bytes copied by those moves           */
	uint64_t compact_freed_bytes;  /* segments emptied by compaction, bytes */
	uint64_t compact_raced;        /* moves dropped: the page changed       */
};

/* Overhead in percent of the data: (used - data) / data; 0 without data. */
static inline double zu_store_overhead_pct(uint64_t used, uint64_t data)
{
	return data ? 100.0 * ((double)used - (double)data) / (double)data : 0.0;
}

/* A snapshot (counters are read one by one, the sum is not atomic). */
void zu_store_stats(struct zu_store *st, struct zu_store_stats *out);
/* Just the arena bytes (committed segments): one atomic load, no locks. */
uint64_t zu_store_arena_bytes(const struct zu_store *st);

#endif
