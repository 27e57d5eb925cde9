/*
 * state.c — the state region that outlives the server (layout and
 * invariants in state.h).
 *
 * An attach runs in three steps so that a refused state is never touched:
 * the header is read with pread and compared with the one this geometry
 * would have; the parts are wrapped (each module's *_create_in writes
 * nothing) and the page table is walked, every entry checked against its
 * tier by the modules' adopt calls, which only read the region and count
 * into process memory; only when all of it passed do the modules write
 * their rebuilt metadata back (adopt_commit).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/common/common.h"
#include "ublk/state.h"

#define HDR_BYTES  4096u
#define PART_ALIGN UINT64_C(4096)
#define MAGIC      "ZTSTATE"

struct part {
	uint64_t off, len;
};

struct zu_state_hdr {
	char magic[8];                /* written last at create              */
	uint32_t layout;
	uint32_t hdr_bytes;
	uint32_t page_size;
	uint32_t fill_capacity;
	uint32_t zram_dev1;           /* the zram tier's /dev/zramN: N + 1    */
	uint32_t spare;
	uint64_t dev_size, policy_id, store_bytes, spill_slots, zram_slots;
	uint64_t total_bytes;
	struct part part[ZU_ST_NPARTS];
	uint64_t csum;                /* FNV-1a from layout up to here       */
	uint64_t attaches;            /* outside the checksum: it changes    */
};

/* The header page's second half: what the running server updates (state.h:
 * outside the checksum, never compared, zero in a fresh state). */
#define LIVE_OFF   2048u
struct zu_state_live {
	struct zu_budget_day budget;  /* demotion's window (demote.h)        */
};
_Static_assert(sizeof(struct zu_state_hdr) <= LIVE_OFF &&
	       LIVE_OFF + sizeof(struct zu_state_live) <= HDR_BYTES, "header fits its page");

static uint64_t fnv64(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	while (n--)
		h = (h ^ *b++) * UINT64_C(0x100000001b3);
	return h;
}

/* The checksum leaves the magic out: it is written after the rest. */
static uint64_t hdr_sum(const struct zu_state_hdr *h)
{
	return fnv64(&h->layout, offsetof(struct zu_state_hdr, csum) -
				 offsetof(struct zu_state_hdr, layout));
}

void zu_state_geom_of(const struct ztu_config *cfg, uint64_t spill_slots,
		      uint32_t fill_capacity, struct zu_state_geom *g)
{
	*g = (struct zu_state_geom){
		.dev_size = cfg->size,
		.store_bytes = cfg->mem_limit,
		.spill_slots = spill_slots,
		.zram_slots = ztu_config_wants_zram(cfg) ? cfg->zram.disksize / ZT_PAGE_SIZE : 0,
		.fill_capacity = fill_capacity,
		.policy_id = ztu_config_id(cfg),
		.on_demand = !cfg->commit_upfront,
	};
}

/* ---- layout ---------------------------------------------------------------------- */

static uint64_t part_bytes(const struct zu_state_geom *g, int i)
{
	switch (i) {
	case ZU_ST_PT:    return zu_pt_region_bytes(g->dev_size / ZT_PAGE_SIZE);
	case ZU_ST_FILLS: return zu_fills_region_bytes(g->fill_capacity);
	case ZU_ST_STORE: return g->store_bytes / ZU_STORE_CHUNK * ZU_STORE_CHUNK;
	case ZU_ST_SPILL: return g->spill_slots ? zu_slots_region_bytes(g->spill_slots) : 0;
	default:          return g->zram_slots ? zu_slots_region_bytes(g->zram_slots) : 0;
	}
}

/* The header this geometry has (magic and attaches aside); false if the
 * geometry is invalid. */
static bool layout(const struct zu_state_geom *g, struct zu_state_hdr *h)
{
	uint64_t off = HDR_BYTES;

	memset(h, 0, sizeof(*h));
	if (!g->dev_size || g->dev_size % ZT_PAGE_SIZE || !part_bytes(g, ZU_ST_PT) ||
	    g->spill_slots > (UINT64_C(1) << 40) || g->zram_slots > (UINT64_C(1) << 40) ||
	    g->zram_dev1 > INT32_MAX ||
	    (g->store_bytes && !part_bytes(g, ZU_ST_STORE)))
		return false;
	h->layout = ZU_STATE_LAYOUT;
	h->hdr_bytes = sizeof(*h);
	h->page_size = ZT_PAGE_SIZE;
	h->fill_capacity = g->fill_capacity;
	h->zram_dev1 = g->zram_dev1;
	h->dev_size = g->dev_size;
	h->policy_id = g->policy_id;
	h->store_bytes = part_bytes(g, ZU_ST_STORE);
	h->spill_slots = g->spill_slots;
	h->zram_slots = g->zram_slots;
	for (int i = 0; i < ZU_ST_NPARTS; i++) {
		h->part[i] = (struct part){ off, part_bytes(g, i) };
		off += (h->part[i].len + PART_ALIGN - 1) / PART_ALIGN * PART_ALIGN;
	}
	h->total_bytes = off;
	h->csum = hdr_sum(h);
	return true;
}

uint64_t zu_state_bytes(const struct zu_state_geom *g)
{
	struct zu_state_hdr h;

	return layout(g, &h) ? h.total_bytes : 0;
}

static struct zu_state_live *live_of(const struct zu_state *s)
{
	return (struct zu_state_live *)((char *)s->base + LIVE_OFF);
}

static void *part_at(const struct zu_state *s, const struct zu_state_hdr *h, int i)
{
	return h->part[i].len ? (char *)s->base + h->part[i].off : NULL;
}

/* ---- the parts ------------------------------------------------------------------------ */

/* Wrap the parts other than the page table; nothing is written.  An
 * on-demand store is fd's from its part's offset (store.h). */
static int wrap_parts(struct zu_state *s, const struct zu_state_hdr *h, int fd)
{
	s->fills = zu_fills_create_in(part_at(s, h, ZU_ST_FILLS), h->fill_capacity);
	if (!s->fills)
		return -ENOMEM;
	if (h->store_bytes &&
	    !(s->store = zu_store_create_in(part_at(s, h, ZU_ST_STORE), h->store_bytes,
					    s->on_demand ? fd : -1, h->part[ZU_ST_STORE].off)))
		return -errno;
	if (h->spill_slots &&
	    !(s->spill = zu_slots_create_in(part_at(s, h, ZU_ST_SPILL), h->spill_slots)))
		return -errno;
	if (h->zram_slots &&
	    !(s->zram = zu_slots_create_in(part_at(s, h, ZU_ST_ZRAM), h->zram_slots)))
		return -errno;
	return 0;
}

/* The parts write their rebuilt (or, fresh, empty) metadata.  0, or the
 * -errno of an on-demand store that could not give back its free part. */
static int commit_parts(struct zu_state *s)
{
	zu_fills_adopt_commit(s->fills);
	if (s->spill)
		zu_slots_adopt_commit(s->spill);
	if (s->zram)
		zu_slots_adopt_commit(s->zram);
	return s->store ? zu_store_adopt_commit(s->store) : 0;
}

void zu_state_detach(struct zu_state *s)
{
	if (!s)
		return;
	zu_store_destroy(s->store);
	zu_slots_destroy(s->zram);
	zu_slots_destroy(s->spill);
	zu_fills_destroy(s->fills);
	zu_pt_destroy(s->pt);
	if (s->base)
		munmap(s->base, s->bytes);
	free(s);
}

/* Mapped populated, or on demand not: a read of a hole in a shared tmpfs
 * mapping commits it as a write would (the store's free part stays out). */
static int map_state(int fd, uint64_t bytes, bool on_demand, struct zu_state **out)
{
	struct zu_state *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->bytes = (size_t)bytes;
	s->on_demand = on_demand;
	s->base = mmap(NULL, s->bytes, PROT_READ | PROT_WRITE,
		       MAP_SHARED | (on_demand ? 0 : MAP_POPULATE), fd, 0);
	if (s->base == MAP_FAILED) {
		int err = -errno;

		s->base = NULL;
		free(s);
		return err;
	}
	*out = s;
	return 0;
}

/* ---- create ----------------------------------------------------------------------------- */

/* Commit [off, off + n) of the file now. */
static int commit_range(int fd, uint64_t off, uint64_t n, char *msg, size_t len)
{
	if (n && fallocate(fd, 0, (off_t)off, (off_t)n) && errno != EOPNOTSUPP)
		return zt_fail(msg, len, -errno, "state: cannot commit %llu MiB: %s",
			       (unsigned long long)(n >> 20), strerror(errno));
	return 0;
}

/* Size the file anew (zeroed) and commit its memory now: all of it, or on
 * demand all but the store's part (the store commits segments as it
 * fills, store.h). */
static int size_file(int fd, const struct zu_state_hdr *h, bool on_demand, char *msg,
		     size_t len)
{
	uint64_t hole = on_demand ? h->part[ZU_ST_STORE].off : h->total_bytes;
	uint64_t rest = on_demand ? hole + h->part[ZU_ST_STORE].len : h->total_bytes;
	int err;

	if (ftruncate(fd, 0) || ftruncate(fd, (off_t)h->total_bytes))
		return zt_fail(msg, len, -errno, "state: cannot size the file to %llu bytes: %s",
			       (unsigned long long)h->total_bytes, strerror(errno));
	if ((err = commit_range(fd, 0, hole, msg, len)))
		return err;
	return commit_range(fd, rest, h->total_bytes - rest, msg, len);
}

static int format(struct zu_state *s, const struct zu_state_hdr *h, int fd)
{
	struct zu_state_hdr *dst = s->base;
	int err = wrap_parts(s, h, fd);

	if (err)
		return err;
	s->pt = zu_pt_create_in(part_at(s, h, ZU_ST_PT), h->part[ZU_ST_PT].len,
				h->dev_size / ZT_PAGE_SIZE);
	if (!s->pt)
		return -errno;
	if ((err = commit_parts(s)))
		return err;
	memcpy(dst, h, sizeof(*h));
	/* The magic last: a region whose create was cut short is refused. */
	atomic_thread_fence(memory_order_release);
	memcpy(dst->magic, MAGIC, sizeof(MAGIC));
	return 0;
}

int zu_state_create(int fd, const struct zu_state_geom *g, struct zu_state **out,
		    char *msg, size_t len)
{
	struct zu_state_hdr h;
	struct zu_state *s;
	int err;

	if (!layout(g, &h))
		return zt_fail(msg, len, -EINVAL, "state: invalid geometry (device size %llu)",
			       (unsigned long long)g->dev_size);
	if ((err = size_file(fd, &h, g->on_demand, msg, len)))
		return err;
	if ((err = map_state(fd, h.total_bytes, g->on_demand, &s)))
		return zt_fail(msg, len, err, "state: cannot map %llu bytes: %s",
			       (unsigned long long)h.total_bytes, strerror(-err));
	s->zram_dev = (int)h.zram_dev1 - 1;
	s->budget_day = &live_of(s)->budget;
	if ((err = format(s, &h, fd))) {
		zu_state_detach(s);
		return zt_fail(msg, len, err, "state: cannot set up the %llu-byte region: %s",
			       (unsigned long long)h.total_bytes, strerror(-err));
	}
	*out = s;
	return 0;
}

/* ---- attach ------------------------------------------------------------------------------ */

#define ULL(x) ((unsigned long long)(x))

/* Made for this device, this policy, this geometry?  One line for the
 * first difference. */
static int check_geometry(const struct zu_state_hdr *got, const struct zu_state_hdr *want,
			  char *msg, size_t len)
{
	if (got->page_size != want->page_size)
		return zt_fail(msg, len, -ESTALE, "state: page size %u, this machine's %u",
			       got->page_size, want->page_size);
	if (got->dev_size != want->dev_size)
		return zt_fail(msg, len, -ESTALE, "state: made for a %llu-byte device, "
			       "this one is %llu bytes", ULL(got->dev_size), ULL(want->dev_size));
	if (got->policy_id != want->policy_id)
		return zt_fail(msg, len, -ESTALE, "state: made for another policy or config "
			       "(identity %016llx, this one %016llx)",
			       ULL(got->policy_id), ULL(want->policy_id));
	if (got->store_bytes != want->store_bytes)
		return zt_fail(msg, len, -ESTALE, "state: a store of %llu bytes, this config's "
			       "is %llu", ULL(got->store_bytes), ULL(want->store_bytes));
	if (got->spill_slots != want->spill_slots || got->zram_slots != want->zram_slots)
		return zt_fail(msg, len, -ESTALE, "state: %llu spill and %llu zram slots, this "
			       "config's %llu and %llu", ULL(got->spill_slots),
			       ULL(got->zram_slots), ULL(want->spill_slots), ULL(want->zram_slots));
	if (got->fill_capacity != want->fill_capacity)
		return zt_fail(msg, len, -ESTALE, "state: %u fill words, this binary's %u",
			       got->fill_capacity, want->fill_capacity);
	if (memcmp(&got->layout, &want->layout, offsetof(struct zu_state_hdr, csum) -
		   offsetof(struct zu_state_hdr, layout)))
		return zt_fail(msg, len, -EPROTO, "state: laid out differently by another "
			       "build of layout version %u", got->layout);
	return 0;
}

static int check_hdr(const struct zu_state_hdr *got, const struct zu_state_hdr *want,
		     uint64_t file_bytes, char *msg, size_t len)
{
	if (memcmp(got->magic, MAGIC, sizeof(MAGIC)))
		return zt_fail(msg, len, -EBADMSG, "state: not a ztier state (no magic: "
			       "another file, or its creation was cut short)");
	if (got->layout != want->layout)
		return zt_fail(msg, len, -EPROTO, "state: layout version %u, this binary reads "
			       "version %u", got->layout, want->layout);
	if (got->hdr_bytes != want->hdr_bytes ||
	    hdr_sum(got) != got->csum)
		return zt_fail(msg, len, -EBADMSG, "state: header checksum mismatch (corrupted)");
	if (got->total_bytes != file_bytes)
		return zt_fail(msg, len, -EBADMSG, "state: the file is %llu bytes, its header "
			       "says %llu (truncated?)", ULL(file_bytes), ULL(got->total_bytes));
	return check_geometry(got, want, msg, len);
}

/* Read the header without mapping anything. */
static int read_hdr(int fd, struct zu_state_hdr *h, uint64_t *file_bytes, char *msg,
		    size_t len)
{
	struct stat sb;
	ssize_t n;

	if (fstat(fd, &sb))
		return zt_fail_errno(msg, len, -errno, "state: fstat");
	*file_bytes = (uint64_t)sb.st_size;
	if (*file_bytes < HDR_BYTES)
		return zt_fail(msg, len, -EBADMSG, "state: the file is %llu bytes, too short "
			       "for a header (truncated?)", ULL(*file_bytes));
	n = pread(fd, h, sizeof(*h), 0);
	if (n < 0)
		return zt_fail_errno(msg, len, -errno, "state: read the header");
	return n == (ssize_t)sizeof(*h) ? 0 : zt_fail(msg, len, -EBADMSG, "state: short header");
}

struct entry_check {
	struct zu_state *s;
	const char *what;             /* the tier that disagreed */
	uint64_t entry;
};

/* A codec and length that a store page can have (a packed spill page
 * keeps them): raw pages are whole, compressed ones at most
 * ZU_STORE_MAX_COMPRESSED. */
static bool stored_shape(enum zt_codec_kind k, size_t n)
{
	return k <= ZT_CODEC_ZSTD && (k == ZT_CODEC_RAW) == (n == ZT_PAGE_SIZE) &&
	       (k == ZT_CODEC_RAW || n <= ZU_STORE_MAX_COMPRESSED);
}

static int adopt_slot(struct zu_slots *sl, uint64_t e)
{
	if (zu_pte_is_packed(e) && !stored_shape(zu_pte_packed_codec(e), zu_pte_packed_len(e)))
		return -EUCLEAN;
	return sl ? zu_slots_adopt(sl, zu_pte_slot_nr(e)) : -EUCLEAN;
}

/* A stored handle must name bytes its codec can have made. */
static int adopt_store(struct zu_store *st, uint64_t e)
{
	if (!st || !stored_shape(zu_pte_store_codec(e),
				 zu_store_handle_len(zu_pte_store_handle(e))))
		return -EUCLEAN;
	return zu_store_adopt(st, zu_pte_store_handle(e));
}

static int adopt_entry(struct entry_check *c, uint64_t e)
{
	switch (zu_pte_tier(e)) {
	case ZT_TIER_META:  return zu_fills_adopt(c->s->fills, zu_pte_payload(e));
	case ZT_TIER_STORE: return adopt_store(c->s->store, e);
	case ZT_TIER_SPILL: return adopt_slot(c->s->spill, e);
	case ZT_TIER_ZRAM:  return adopt_slot(c->s->zram, e);
	default:            return -EUCLEAN;
	}
}

/* The page table's visitor at attach: every entry adopted by its tier;
 * on a refusal c says which entry and tier (else the table itself). */
static int check_entry(void *ctx, uint64_t idx, uint64_t e)
{
	struct entry_check *c = ctx;
	enum zt_tier t = zu_pte_tier(e);
	int err = adopt_entry(c, e);

	if (err) {
		c->entry = e;
		c->what = t < ZT_TIER_COUNT ? zt_tier_name(t) : "page table";
	}
	return err;
}

static int adopt_all(struct zu_state *s, const struct zu_state_hdr *h, int fd, char *msg,
		     size_t len)
{
	struct entry_check c = { s, "page table", 0 };
	uint64_t where = 0;
	int err = wrap_parts(s, h, fd);

	if (err)
		return zt_fail_errno(msg, len, err, "state: wrap its parts");
	err = zu_pt_attach_in(part_at(s, h, ZU_ST_PT), h->part[ZU_ST_PT].len,
			      h->dev_size / ZT_PAGE_SIZE, check_entry, &c, &s->pt, &where);
	if (err == -EUCLEAN && !c.entry)
		return zt_fail(msg, len, err, "state: page table corrupted at page %llu",
			       ULL(where));
	if (err == -EUCLEAN)
		return zt_fail(msg, len, err, "state: page %llu: entry %#llx names nothing "
			       "the %s tier holds (corrupted)", ULL(where), ULL(c.entry), c.what);
	if (err)
		return zt_fail_errno(msg, len, err, "state: page table");
	if ((err = commit_parts(s)))
		return zt_fail_errno(msg, len, err, "state: give back the store's free part");
	return 0;
}

/* The header got (of a file_bytes file) against the one g lays out. */
static int check_file(const struct zu_state_hdr *got, uint64_t file_bytes,
		      const struct zu_state_geom *g, char *msg, size_t len)
{
	struct zu_state_hdr want;
	int err;

	if (!layout(g, &want))
		return zt_fail(msg, len, -EINVAL, "state: invalid geometry (device size %llu)",
			       ULL(g->dev_size));
	/* The zram device is a fact the state records, not one the server's
	 * config can know: it is taken from the state, not compared. */
	want.zram_dev1 = got->zram_dev1;
	want.csum = hdr_sum(&want);
	if ((err = check_hdr(got, &want, file_bytes, msg, len)))
		return err;
	if (got->zram_dev1 > INT32_MAX)
		return zt_fail(msg, len, -EBADMSG, "state: zram device %u out of range "
			       "(corrupted)", got->zram_dev1 - 1);
	return 0;
}

int zu_state_check(int fd, const struct ztu_config *cfg, uint64_t spill_slots,
		   uint32_t fill_capacity, char *msg, size_t len)
{
	struct zu_state_hdr got;
	struct zu_state_geom g;
	uint64_t file_bytes = 0;
	int err;

	if ((err = read_hdr(fd, &got, &file_bytes, msg, len)))
		return err;
	zu_state_geom_of(cfg, spill_slots, fill_capacity, &g);
	return check_file(&got, file_bytes, &g, msg, len);
}

int zu_state_attach(int fd, const struct zu_state_geom *g, struct zu_state **out,
		    char *msg, size_t len)
{
	struct zu_state_hdr got;
	struct zu_state *s;
	uint64_t file_bytes = 0;
	int err;

	if ((err = read_hdr(fd, &got, &file_bytes, msg, len)) ||
	    (err = check_file(&got, file_bytes, g, msg, len)))
		return err;
	if ((err = map_state(fd, got.total_bytes, g->on_demand, &s)))
		return zt_fail(msg, len, err, "state: cannot map %llu bytes: %s",
			       ULL(got.total_bytes), strerror(-err));
	if ((err = adopt_all(s, &got, fd, msg, len))) {
		zu_state_detach(s);
		return err;
	}
	s->attaches = ((struct zu_state_hdr *)s->base)->attaches++;
	s->zram_dev = (int)got.zram_dev1 - 1;
	s->budget_day = &live_of(s)->budget;
	*out = s;
	return 0;
}
