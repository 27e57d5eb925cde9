/*
 * store.h — the userspace compressed store: compressed 4 KiB pages in
 * size-classed slots of large arenas, under a hard memory limit.
 *
 * Layout.  The store reserves one virtual range of mem_limit bytes (rounded
 * down to whole chunks) and commits it a 256 KiB chunk at a time, so chunk i
 * is always at offset i * ZU_STORE_CHUNK.  Each committed chunk belongs to
 * one size class and describes itself: a header at its start (magic, class,
 * slot count, used count, partial-list links as chunk numbers, a slot
 * bitmap), then the slots.  Everything persistent is an offset or a number,
 * so the arena could be a memfd mapped by a restarted server.
 *
 * Size classes: 32 B steps from 32 to ZU_STORE_MAX_COMPRESSED (3072 = 3/4 of
 * a page), plus one 4096 B class for raw pages: 97 classes.  Waste is under
 * 32 B per page plus at most one partly used chunk per class.  Chunk size is
 * 256 KiB (not 2 MiB) so that 97 partly used chunks cost at most ~24 MiB.
 * The raw class loses one slot of 64 to the chunk header (1.6%).
 * Measured (tests/ublk/t_store.c, lz4/zstd:3 pages averaging 2661 B):
 * 10000 pages 33% over the data (partly used chunks dominate), 100000
 * pages 4.1% = 110 B/page (class rounding 11.7, free slots in partly used
 * chunks 76, chunk headers 22).
 *
 * Handle (56 bits, fits a STORE page-table entry):
 *   bits 0..11 length-1 | bits 12..27 slot | bits 28..55 chunk
 * The exact compressed length lives in the handle (decompressors need it)
 * and picks the class, so the store keeps no per-page header: store
 * overhead is the class rounding and the chunk header only.
 *
 * Limit: a chunk is committed only if committed chunks stay <= the limit;
 * otherwise put returns -ENOSPC and the caller applies the policy fallback.
 * The store never grows past it; the reserve below counts toward it.
 *
 * Upfront (a swap device, zu_store_commit_all): the whole limit is committed
 * at start in one mapping and every chunk goes on the reserve stack; put
 * only pops, free only pushes, nothing is mapped or unmapped again and no
 * housekeeper runs.  A full store is -ENOSPC at once, put_last included: the
 * kernel keeps the page and tries again later or elsewhere.  This is what a
 * swap device needs: any allocation of its server under memory pressure can
 * wait for reclaim, which waits for swap-out to this very device.
 *
 * Reserve (on demand, a file system): committing a chunk means mmap and
 * faulting 64 pages in, which under memory pressure can wait forever in a
 * queue thread (PR_SET_IO_FLUSHER: its reclaim cannot write to swap, and
 * the OOM killer does not pick it): the guest livelocked.  So after
 * zu_store_reserve(st, target, low) put never commits: it takes empty
 * chunks only from a reserve of committed, populated chunks, and returns
 * -ENOSPC (the policy's fallback takes the page) when the reserve is empty.
 * Free never unmaps either: emptied chunks go back to the same stack.  A
 * housekeeper thread (zu_store_housekeeper_start; not a queue thread),
 * woken by a condition variable from put/free when the reserve falls below
 * low (or holds more than max(target, 4) chunks), refills it to target or
 * unmaps the excess, holding no lock while it faults memory in.  Without
 * a reserve (the default) put commits chunks itself, as before.  Compressed data longer than
 * ZU_STORE_MAX_COMPRESSED is -E2BIG: use zu_store_put_raw or another tier.
 *
 * Threads: one mutex per size class (taken for the slot bitmap, never during
 * the data copy); a global mutex only to commit or release a whole chunk
 * (once per 8..8000 pages).  The caller keeps a slot alive while it reads it
 * (it holds the page-table entry lock): get does not lock.
 *
 * Memory back: when a chunk's last slot is freed the chunk is released
 * (mmap MAP_FIXED PROT_NONE over it: works on mlocked memory, where
 * MADV_DONTNEED does not), so discard returns memory to the OS (in reserve
 * mode the housekeeper does the unmapping).  Up to 4
 * emptied chunks (1 MiB) are kept as spares for the next class that needs
 * a chunk: without them a class hovering at 0/1 pages would mmap and unmap
 * on every put/free (measured: 48k releases in a 4-thread test).
 * zu_store_trim gives the spares back too.  Only the store's arenas are
 * ever released this way.  Under mlockall(MCL_FUTURE) the PROT_NONE
 * reservation is not populated (tests/ublk/t_mlock.c) but the kernel counts
 * its full size in VmLck and against RLIMIT_MEMLOCK: the server needs
 * CAP_IPC_LOCK or LimitMEMLOCK=infinity (it needs them for mlockall anyway).
 *
 * Errors: negative errno.
 */
#ifndef ZU_STORE_H
#define ZU_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"

#define ZU_STORE_CHUNK           (256u * 1024u)
#define ZU_STORE_CLASS_STEP      32u
#define ZU_STORE_MAX_COMPRESSED  3072u     /* 3/4 of ZT_PAGE_SIZE */
#define ZU_STORE_NCLASSES        (ZU_STORE_MAX_COMPRESSED / ZU_STORE_CLASS_STEP + 1)
#define ZU_STORE_HANDLE_BITS     56

struct zu_store;

/* A store that never uses more than mem_limit bytes of arena (>= one chunk).
 * NULL with errno set on failure (EINVAL for a limit below one chunk). */
struct zu_store *zu_store_create(uint64_t mem_limit);
void zu_store_destroy(struct zu_store *st);

/* Copy len (1..ZU_STORE_MAX_COMPRESSED) bytes of compressed data into the
 * store.  0 and *handle, -E2BIG (too long: store raw or elsewhere), -ENOSPC
 * (limit reached), -EINVAL (len 0). */
int zu_store_put(struct zu_store *st, const void *data, size_t len, uint64_t *handle);
/* Store one uncompressed ZT_PAGE_SIZE page.  0, -ENOSPC. */
int zu_store_put_raw(struct zu_store *st, const void *page, uint64_t *handle);
/* The same, for a caller with no other place for the page (no fallback):
 * in reserve mode an empty reserve does not refuse the page, a chunk is
 * committed here as without a reserve (-ENOSPC only at the limit).  A
 * transient empty reserve must not fail a write that has nowhere else to
 * go; a swap device should give the store a fallback tier (spill). */
int zu_store_put_last(struct zu_store *st, const void *data, size_t len, uint64_t *handle);
int zu_store_put_raw_last(struct zu_store *st, const void *page, uint64_t *handle);

/* Where a handle's bytes are, and how many (ZT_PAGE_SIZE for raw pages).
 * Valid until zu_store_free(handle). */
const void *zu_store_data(struct zu_store *st, uint64_t handle, size_t *len);
static inline size_t zu_store_handle_len(uint64_t handle)
{
	return (size_t)(handle & 0xfff) + 1;
}

void zu_store_free(struct zu_store *st, uint64_t handle);

/* Unmap the spare chunks (at most 1 MiB) now, e.g. after a big discard;
 * in reserve mode down to the reserve target.
 * 0, or -ENOMEM if the kernel refused an unmap. */
int zu_store_trim(struct zu_store *st);

/* Reserve mode: keep target empty chunks committed (capped at the limit),
 * refill when fewer than low (<= target) are left; put then never commits.
 * Fills the reserve now (call it before the I/O starts).
 * 0, -EINVAL (target 0, low > target, or already set), -ENOMEM (no chunk
 * could be mapped). */
int zu_store_reserve(struct zu_store *st, uint32_t target, uint32_t low);
/* Commit chunks until the reserve holds target (or the limit is reached),
 * then unmap spares beyond max(target, 4).  What the housekeeper runs; not
 * for a queue thread.  Chunks committed, or -ENOMEM if none could be. */
int zu_store_refill(struct zu_store *st);
/* Upfront commit (a store on the swap path): the whole limit committed
 * now, in one populated mapping, and every chunk put in the reserve; put
 * then never maps memory (an empty reserve means the limit is reached:
 * -ENOSPC at once, also for put_last) and free never unmaps.  Call before
 * any put; no housekeeper is needed.  0, -EINVAL (already in use), -errno
 * of the mmap (ENOMEM/EAGAIN: the memory is not there to lock). */
int zu_store_commit_all(struct zu_store *st);
/* Start the housekeeper thread (after zu_store_reserve); zu_store_destroy
 * stops it.  0, -EINVAL (no reserve or already started), -errno. */
int zu_store_housekeeper_start(struct zu_store *st);

struct zu_store_class_stats {
	uint32_t size;                 /* slot size in bytes                    */
	uint64_t pages;                /* slots in use                          */
	uint64_t bytes;                /* exact data bytes in those slots       */
	uint64_t chunks;               /* committed chunks of this class        */
	uint64_t slots;                /* slots in those chunks                 */
};

struct zu_store_stats {
	uint64_t pages;                /* pages stored (compressed + raw)       */
	uint64_t raw_pages;            /* of which raw (4096 B class)           */
	uint64_t data_bytes;           /* sum of stored lengths                 */
	uint64_t arena_bytes;          /* committed chunks * ZU_STORE_CHUNK     */
	uint64_t limit_bytes;          /* the limit, rounded down to chunks     */
	uint64_t meta_bytes;           /* the store's own malloc'd bookkeeping  */
	uint64_t spare_bytes;          /* empty chunks kept for reuse (in arena):
	                                  the reserve and freed chunks       */
	uint64_t reserve_target_bytes; /* reserve target, 0 without a reserve */
	uint64_t chunks_refilled;      /* chunks committed by refills, total */
	uint64_t chunks_released;      /* chunks given back to the OS, total    */
	uint64_t enospc;               /* puts refused by the limit, total      */
	struct zu_store_class_stats cls[ZU_STORE_NCLASSES];
};

/* A snapshot (each class is read under its lock, the sum is not atomic). */
void zu_store_stats(struct zu_store *st, struct zu_store_stats *out);
/* Just the arena bytes (committed chunks): one atomic load, no locks. */
uint64_t zu_store_arena_bytes(const struct zu_store *st);

#endif
