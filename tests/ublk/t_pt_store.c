/*
 * t_pt_store.c — the page table, store, codec and fill codes used together
 * the way the tiered target uses them, by four threads at once on a small
 * device: full-page writes (compressed outside the lock, published under
 * it, the old location freed after unlock), 512-byte read-modify-writes
 * under the lock, discards, zero pages (META), and reads that decompress
 * under the lock.  Every 512-byte sector carries its page, sector and a
 * version, and the rest of the sector is derived from them, so any read
 * can check that it got a whole, real sector of the right page.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

#include "tests/tap.h"
#include "ublk/codec.h"
#include "ublk/fillvals.h"
#include "ublk/pagetable.h"
#include "ublk/store.h"

#define NPAGES   2048
#define SECTOR   512
#define NSECT    (ZT_PAGE_SIZE / SECTOR)
#define NTHREADS 4
#define ITERS    20000

struct shared {
	struct zu_pt *pt;
	struct zu_store *st;
	struct zu_fills *fills;
};

struct worker {
	struct shared *sh;
	unsigned id;
	unsigned bad_reads, errors, enospc, ops[5];
};

/* A sector: page index, sector number, version, then bytes from those.
 * Text-like so that lz4 and zstd compress it. */
static void make_sector(unsigned char *s, uint64_t idx, unsigned sect, uint64_t ver)
{
	static const char words[] = "swap zram tier page ublk store ";
	unsigned i;

	memcpy(s, &idx, 8);
	memcpy(s + 8, &sect, 4);
	memcpy(s + 12, &ver, 8);
	for (i = 20; i < SECTOR; i++)
		s[i] = (unsigned char)words[(i + ver * 7 + idx) % (sizeof(words) - 1)];
}

static bool sector_ok(const unsigned char *s, uint64_t idx, unsigned sect)
{
	unsigned char want[SECTOR];
	uint64_t ver;
	unsigned i;

	for (i = 0; i < SECTOR && !s[i]; i++)
		;
	if (i == SECTOR)
		return true;                    /* a zero sector: never written */
	memcpy(&ver, s + 12, 8);
	make_sector(want, idx, sect, ver);
	return memcmp(s, want, SECTOR) == 0;
}

/* Decode an entry into page (caller holds the entry lock). */
static int load(struct worker *w, struct zu_codec_ctx *cx, uint64_t e, void *page)
{
	size_t len;
	const void *src;

	switch (zu_pte_tier(e)) {
	case ZT_TIER_NONE:
		memset(page, 0, ZT_PAGE_SIZE);
		return 0;
	case ZT_TIER_META:
		zu_fill_page(page, zu_fill_word(w->sh->fills, zu_pte_payload(e)));
		return 0;
	case ZT_TIER_STORE:
		src = zu_store_data(w->sh->st, zu_pte_store_handle(e), &len);
		return zu_codec_decompress(cx, zu_pte_store_codec(e), src, len, page);
	default:
		return -EINVAL;
	}
}

static void drop(struct worker *w, uint64_t e)
{
	if (zu_pte_tier(e) == ZT_TIER_STORE)
		zu_store_free(w->sh->st, zu_pte_store_handle(e));
	else if (zu_pte_tier(e) == ZT_TIER_META)
		zu_fill_put(w->sh->fills, zu_pte_payload(e));
}

static bool all_zero(const unsigned char *p)
{
	unsigned i;

	for (i = 0; i < ZT_PAGE_SIZE; i++)
		if (p[i])
			return false;
	return true;
}

/* Compress and store a page; its new entry in *e. */
static int place(struct worker *w, struct zu_codec_ctx *cx, const void *page, uint64_t *e)
{
	const struct zt_codec c = { w->id % 2 ? ZT_CODEC_ZSTD : ZT_CODEC_LZ4, 1 };
	uint64_t h;
	int n;

	if (all_zero(page)) {
		*e = zu_pte_meta(ZU_FILL_ZERO);
		return 0;
	}
	n = zu_codec_compress(cx, &c, page, zu_codec_buf(cx), ZU_STORE_MAX_COMPRESSED);
	if (n > 0 && zu_store_put(w->sh->st, zu_codec_buf(cx), (size_t)n, &h) == 0) {
		*e = zu_pte_store(h, c.kind);
		return 0;
	}
	if (zu_store_put_raw(w->sh->st, page, &h) == 0) {
		*e = zu_pte_store(h, ZT_CODEC_RAW);
		return 0;
	}
	return -ENOSPC;
}

/* Publish e as page idx's entry and free what it replaces. */
static int publish(struct worker *w, uint64_t idx, uint64_t e)
{
	uint64_t old;
	int err = zu_pt_lock(w->sh->pt, idx, 0, &old);

	if (err) {
		drop(w, e);
		return err;
	}
	zu_pt_unlock(w->sh->pt, idx, e);
	drop(w, old);
	return 0;
}

static int write_full(struct worker *w, struct zu_codec_ctx *cx, uint64_t idx, uint64_t ver)
{
	unsigned char page[ZT_PAGE_SIZE];
	uint64_t e;
	unsigned s;
	int err;

	if (ver % 5 == 0)
		memset(page, 0, sizeof(page));
	else
		for (s = 0; s < NSECT; s++)
			make_sector(page + s * SECTOR, idx, s, ver);
	err = place(w, cx, page, &e);
	return err ? err : publish(w, idx, e);
}

/* Replace one sector under the page's lock. */
static int write_sector(struct worker *w, struct zu_codec_ctx *cx, uint64_t idx,
			unsigned sect, uint64_t ver)
{
	unsigned char page[ZT_PAGE_SIZE];
	uint64_t old, e;
	int err = zu_pt_lock(w->sh->pt, idx, 0, &old);

	if (err)
		return err;
	err = load(w, cx, old, page);
	if (!err) {
		make_sector(page + sect * SECTOR, idx, sect, ver);
		err = place(w, cx, page, &e);
	}
	if (err) {
		zu_pt_unlock(w->sh->pt, idx, old);
		return err;
	}
	zu_pt_unlock(w->sh->pt, idx, e);
	drop(w, old);
	return 0;
}

static int discard(struct worker *w, uint64_t idx)
{
	uint64_t old;
	int err = zu_pt_lock(w->sh->pt, idx, ZU_PT_NOCREATE, &old);

	if (err == -ENOENT)
		return 0;
	if (err)
		return err;
	zu_pt_unlock(w->sh->pt, idx, ZU_PTE_EMPTY);
	drop(w, old);
	return 0;
}

static int read_check(struct worker *w, struct zu_codec_ctx *cx, uint64_t idx)
{
	unsigned char page[ZT_PAGE_SIZE];
	uint64_t e;
	unsigned s;
	int err = zu_pt_lock(w->sh->pt, idx, ZU_PT_NOCREATE, &e);

	if (err == -ENOENT)
		return 0;
	if (err)
		return err;
	err = load(w, cx, e, page);
	zu_pt_unlock(w->sh->pt, idx, e);
	if (err)
		return err;
	for (s = 0; s < NSECT; s++)
		w->bad_reads += !sector_ok(page + s * SECTOR, idx, s);
	return 0;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	struct zu_codec_ctx *cx = zu_codec_ctx_create(1);
	unsigned r = w->id * 2654435761u + 1, i;

	for (i = 0; i < ITERS; i++) {
		uint64_t idx, ver = ((uint64_t)w->id << 32) | i;
		unsigned op;
		int err = 0;

		r = r * 1103515245u + 12345u;
		idx = (r >> 8) % NPAGES;
		op = (r >> 4) % 5;
		w->ops[op]++;
		switch (op) {
		case 0: err = write_full(w, cx, idx, ver); break;
		case 1: err = write_sector(w, cx, idx, (r >> 20) % NSECT, ver); break;
		case 2: err = discard(w, idx); break;
		default: err = read_check(w, cx, idx); break;
		}
		if (err == -ENOSPC)
			w->enospc++;
		else if (err)
			w->errors++;
	}
	zu_codec_ctx_destroy(cx);
	return NULL;
}

static int free_all(void *ctx, uint64_t idx, uint64_t e)
{
	struct worker *w = ctx;
	uint64_t old;

	if (zu_pt_lock(w->sh->pt, idx, ZU_PT_NOCREATE, &old) == 0) {
		zu_pt_unlock(w->sh->pt, idx, ZU_PTE_EMPTY);
		drop(w, old);
	}
	return 0;
}

int main(void)
{
	struct shared sh = {
		.pt = zu_pt_create(NPAGES, 0),
		.st = zu_store_create(UINT64_C(64) << 20),
		.fills = zu_fills_create(16),
	};
	struct worker w[NTHREADS];
	pthread_t t[NTHREADS];
	unsigned i, bad = 0, errors = 0, enospc = 0, ops[5] = { 0 };
	struct zu_store_stats ss;
	struct zu_pt_stats ps;

	for (i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){ .sh = &sh, .id = i };
		pthread_create(&t[i], NULL, run, &w[i]);
	}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		bad += w[i].bad_reads;
		errors += w[i].errors;
		enospc += w[i].enospc;
		for (unsigned k = 0; k < 5; k++)
			ops[k] += w[i].ops[k];
	}
	tap_diag("%u full writes, %u sector RMWs, %u discards, %u reads; %u ENOSPC",
		 ops[0], ops[1], ops[2], ops[3] + ops[4], enospc);
	is_int(errors, 0, "4 threads: no errors");
	is_int(bad, 0, "4 threads: every sector read was whole and of its page");
	zu_pt_stats(sh.pt, &ps);
	zu_store_stats(sh.st, &ss);
	is_int(ss.pages, ps.pages[ZT_TIER_STORE], "store pages == STORE entries");
	zu_pt_foreach(sh.pt, free_all, &w[0]);
	zu_pt_stats(sh.pt, &ps);
	zu_store_stats(sh.st, &ss);
	ok(ps.stored == 0 && ps.leaves == 0, "discard all: page table empty, leaves freed");
	ok(ss.pages == 0 && ss.arena_bytes == ss.spare_bytes, "discard all: store empty");
	zu_store_destroy(sh.st);
	zu_fills_destroy(sh.fills);
	zu_pt_destroy(sh.pt);
	return tap_done();
}
