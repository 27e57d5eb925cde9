/*
 * t_state.c — the state that outlives the server (ublk/state.h): create,
 * fill through the allocators' own put paths, detach, attach again and
 * read everything back; then states a dead server or a bad disk could
 * leave: truncated, corrupted header, another layout version, another
 * device or policy, entries locked by a dead writer, allocations never
 * published, entries pointing outside their tier, a store segment whose
 * header disagrees with the table, and random byte flips.  Each must give
 * one clear error with the file untouched, or a correct state (ASan/UBSan).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "tests/tap.h"
#include "ublk/state.h"
#include "ublk/store_pt.h"
#include "tests/ublk/state_free.h"

#define DEV_SIZE   (UINT64_C(2) << 30)    /* two mids */
#define STORE      (UINT64_C(8) << 20)
#define SPILL      2000u
#define ZRAM       1000u
#define FILLS      64u
#define NPAGES     3000u
#define STRIDE     173u                   /* spreads pages over leaves and mids */

static const struct zu_state_geom geom = {
	DEV_SIZE, STORE, SPILL, ZRAM, FILLS, UINT64_C(0x1234abcd), 0, false
};

/* What one page should read back as. */
struct want {
	uint64_t idx, entry, sum;
};
static struct want want[NPAGES];
static unsigned nwant;
static char msg[ZTU_MSG_MAX];

static uint64_t fnv(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	while (n--)
		h = (h ^ *b++) * UINT64_C(0x100000001b3);
	return h;
}

static int memfd(void)
{
	return memfd_create("t_state", MFD_CLOEXEC);
}

/* The whole file's hash: a refused attach must not change one byte. */
static uint64_t file_sum(int fd)
{
	struct stat sb;
	uint64_t h;
	void *p;

	fstat(fd, &sb);
	if (!sb.st_size)
		return 0;
	p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
	h = fnv(p, (size_t)sb.st_size);
	munmap(p, (size_t)sb.st_size);
	return h;
}

/* What a page's location holds, as a hash (0 for slot tiers: no data here). */
static uint64_t content(struct zu_state *s, uint64_t e)
{
	size_t len;
	const void *p;

	switch (zu_pte_tier(e)) {
	case ZT_TIER_META:
		return zu_fill_word(s->fills, zu_pte_payload(e));
	case ZT_TIER_STORE:
		p = zu_store_data(s->store, zu_pte_store_handle(e), &len);
		return fnv(p, len);
	default:
		return 0;
	}
}

static void publish(struct zu_state *s, uint64_t idx, uint64_t e)
{
	uint64_t old;

	if (zu_pt_lock(s->pt, idx, 0, &old) == 0)
		zu_pt_unlock(s->pt, idx, e);
}

/* A new location for page i, of a kind chosen by i. */
static uint64_t put_one(struct zu_state *s, unsigned i)
{
	unsigned char buf[ZT_PAGE_SIZE];
	uint64_t v, cur = i;

	memset(buf, (int)(i * 7 + 1), sizeof(buf));
	switch (i % 6) {
	case 0:
		return zu_fill_get(s->fills, UINT64_C(0x5a5a5a5a5a5a5a5a), &v) ? 0 :
		       zu_pte_meta(v);
	case 1:
		return zu_fill_get(s->fills, UINT64_C(0x0123456789abcdef) + i % 5, &v) ? 0 :
		       zu_pte_meta(v);
	case 2:
		return zu_store_put(s->store, buf, 100 + i % 900, &v) ? 0 :
		       zu_pte_store(v, ZT_CODEC_LZ4);
	case 3:
		return zu_store_put_raw(s->store, buf, &v) ? 0 : zu_pte_store(v, ZT_CODEC_RAW);
	case 4:
		return zu_slots_alloc(s->spill, &cur, &v) ? 0 :
		       zu_pte_slot_tagged(ZT_TIER_SPILL, v, i);
	default:
		return zu_slots_alloc(s->zram, NULL, &v) ? 0 : zu_pte_slot(ZT_TIER_ZRAM, v);
	}
}

/* Write NPAGES pages, overwrite a third (freeing the old copies: holes in
 * the store), discard some; record what each page must read back as. */
static void fill(struct zu_state *s)
{
	nwant = 0;
	for (unsigned i = 0; i < NPAGES; i++)
		publish(s, (uint64_t)i * STRIDE, put_one(s, i));
	for (unsigned i = 0; i < NPAGES; i++) {
		uint64_t idx = (uint64_t)i * STRIDE, old, e = ZU_PTE_EMPTY;

		if (i % 3 == 0)
			e = put_one(s, i + 1);
		if (i % 3 == 1 || (i % 3 == 2 && i % 4))
			continue;   /* kept */
		zu_pt_lock(s->pt, idx, 0, &old);
		zu_pt_unlock(s->pt, idx, e);
		state_free_loc(s, old);
	}
	for (unsigned i = 0; i < NPAGES; i++) {
		uint64_t e = zu_pt_peek(s->pt, (uint64_t)i * STRIDE);

		want[nwant++] = (struct want){ (uint64_t)i * STRIDE, e, content(s, e) };
	}
}

/* Every page reads back as recorded (the same entry, or moved: the same
 * tier and data), and its location is allocated. */
static bool same_as(struct zu_state *s, bool moved)
{
	for (unsigned i = 0; i < nwant; i++) {
		uint64_t e = zu_pt_peek(s->pt, want[i].idx);

		if (moved ? zu_pte_tier(e) != zu_pte_tier(want[i].entry) : e != want[i].entry)
			return false;
		if (content(s, e) != want[i].sum)
			return false;
		if (zu_pte_tier(e) == ZT_TIER_SPILL && !zu_slots_in_use(s->spill, zu_pte_slot_nr(e)))
			return false;
	}
	return true;
}

static bool same(struct zu_state *s)
{
	return same_as(s, false);
}

struct counts {
	uint64_t store_pages, store_bytes, in_use, spill, zram, fills, blocks;
};

static void counts(struct zu_state *s, struct counts *c)
{
	struct zu_store_stats ss;
	struct zu_pt_stats ps;

	zu_store_stats(s->store, &ss);
	zu_pt_stats(s->pt, &ps);
	*c = (struct counts){ ss.pages, ss.data_bytes, ss.in_use_bytes, zu_slots_used(s->spill),
			      zu_slots_used(s->zram), zu_fills_used(s->fills),
			      ps.leaves + ps.mids };
}

/* Drop every page: the rebuilt allocators must come out exactly empty. */
static bool drain(struct zu_state *s)
{
	struct counts c;

	for (uint64_t idx = 0; idx < (uint64_t)NPAGES * STRIDE; idx += STRIDE) {
		uint64_t old;

		if (zu_pt_lock(s->pt, idx, ZU_PT_NOCREATE, &old))
			continue;
		zu_pt_unlock(s->pt, idx, ZU_PTE_EMPTY);
		state_free_loc(s, old);
	}
	counts(s, &c);
	return !c.store_pages && !c.store_bytes && !c.spill && !c.zram && !c.fills;
}

/* A filled state in a new memfd, detached. */
static int made(void)
{
	struct zu_state *s;
	int fd = memfd();

	if (zu_state_create(fd, &geom, &s, msg, sizeof(msg)))
		return -1;
	fill(s);
	zu_state_detach(s);
	return fd;
}

#include "tests/ublk/t_state_cases.h"
