/*
 * t_state_cases.h — the cases of t_state.c (one program; split only to
 * keep each file short).
 */

static void test_roundtrip(void)
{
	struct zu_state *s;
	struct counts before, after;
	uint64_t h, v;
	int fd = memfd();

	is_int(zu_state_create(fd, &geom, &s, msg, sizeof(msg)), 0, "create a state");
	fill(s);
	counts(s, &before);
	zu_state_detach(s);
	if (zu_state_attach(fd, &geom, &s, msg, sizeof(msg))) {
		ok(0, "attach to it again: %s", msg);
		return;
	}
	ok(1, "attach to it again");
	is_int(s->attaches, 0, "first attach");
	ok(same(s), "every page reads back the same (%u pages, 4 tiers)", nwant);
	counts(s, &after);
	ok(before.store_pages == after.store_pages && before.store_bytes == after.store_bytes,
	   "store pages and bytes recounted (%llu pages)", (unsigned long long)after.store_pages);
	ok(after.in_use <= before.in_use, "store segments in use: %llu -> %llu KiB",
	   (unsigned long long)before.in_use >> 10, (unsigned long long)after.in_use >> 10);
	ok(before.spill == after.spill && before.zram == after.zram && before.fills == after.fills,
	   "slots and fill words recounted (spill %llu, zram %llu, fills %llu)",
	   (unsigned long long)after.spill, (unsigned long long)after.zram,
	   (unsigned long long)after.fills);
	is_int(after.blocks, before.blocks, "page-table blocks in use kept");
	ok(zu_store_put(s->store, "abc", 3, &h) == 0 && zu_slots_alloc(s->spill, NULL, &v) == 0,
	   "new puts work after the attach");
	zu_store_free(s->store, h);
	zu_slots_free(s->spill, v);
	ok(drain(s), "freeing every page empties every allocator exactly");
	zu_state_detach(s);
	is_int(zu_state_attach(fd, &geom, &s, msg, sizeof(msg)), 0, "attach to the emptied state");
	is_int(s->attaches, 1, "the attach counter counts");
	zu_state_detach(s);
	close(fd);
}

/* attach must fail with err and leave the file as it was. */
static void refused(int fd, const struct zu_state_geom *g, int err, const char *what)
{
	uint64_t sum = file_sum(fd);
	struct zu_state *s = NULL;
	int ret;

	msg[0] = 0;
	ret = zu_state_attach(fd, g, &s, msg, sizeof(msg));
	if (!ok(ret == err && msg[0] && file_sum(fd) == sum, "%s: refused, file untouched", what))
		tap_diag("  got %d, want %d", ret, err);
	tap_diag("  %s", msg);
	if (!ret)
		zu_state_detach(s);
}

static void poke(int fd, off_t off, const void *p, size_t n)
{
	if (pwrite(fd, p, n, off) != (ssize_t)n)
		tap_diag("pwrite failed");
}

static void test_header(void)
{
	struct zu_state_geom g = geom;
	uint32_t other = ZU_STATE_LAYOUT + 1;
	uint64_t big = 1;
	struct stat sb;
	int fd = made();

	g.dev_size += 4096;
	refused(fd, &g, -ESTALE, "another device size");
	g = geom;
	g.policy_id++;
	refused(fd, &g, -ESTALE, "another policy identity");
	g = geom;
	g.spill_slots += 64;
	refused(fd, &g, -ESTALE, "another spill size");
	fstat(fd, &sb);
	ftruncate(fd, sb.st_size - 4096);
	refused(fd, &geom, -EBADMSG, "truncated by a page");
	ftruncate(fd, 100);
	refused(fd, &geom, -EBADMSG, "truncated to 100 bytes");
	close(fd);
	fd = made();
	poke(fd, 8, &other, sizeof(other));
	refused(fd, &geom, -EPROTO, "another layout version");
	close(fd);
	fd = made();
	other = 2;                    /* before packed spill pages (demote.h) */
	poke(fd, 8, &other, sizeof(other));
	refused(fd, &geom, -EPROTO, "a state of layout 2 (no demotion yet)");
	ok(strstr(msg, "layout version 2, this binary reads version 3") != NULL,
	   "the message names both versions");
	close(fd);
	fd = made();
	poke(fd, 24, &big, 1);
	refused(fd, &geom, -EBADMSG, "a header byte flipped");
	poke(fd, 0, "\0", 1);
	refused(fd, &geom, -EBADMSG, "no magic (a create cut short)");
	close(fd);
	fd = memfd();
	refused(fd, &geom, -EBADMSG, "an empty file");
	close(fd);
}

/* A writer killed while it held entry locks, with new locations allocated
 * but not published (and a leaf pinned): the old values stay, the new
 * locations are free again. */
static void test_dead_writer(void)
{
	struct zu_state *s;
	struct counts before, after;
	unsigned locked = 0;
	int fd = made();

	if (zu_state_attach(fd, &geom, &s, msg, sizeof(msg)))
		return (void)ok(0, "attach a filled state: %s", msg);
	counts(s, &before);
	for (unsigned i = 0; i < NPAGES; i += 97) {
		uint64_t old;

		if (zu_pt_lock(s->pt, (uint64_t)i * STRIDE, 0, &old) == 0) {
			put_one(s, i + 2);
			put_one(s, i + 3);
			locked++;
		}
	}
	zu_state_detach(s);            /* the writer dies holding its locks */
	is_int(zu_state_attach(fd, &geom, &s, msg, sizeof(msg)), 0,
	       "attach over entries locked by a dead writer");
	ok(same(s), "%u locked entries read back their last published value", locked);
	counts(s, &after);
	ok(after.store_pages == before.store_pages && after.spill == before.spill &&
	   after.zram == before.zram && after.fills == before.fills,
	   "what the dead writer allocated and never published is free again");
	ok(zu_pt_lock(s->pt, 97 * STRIDE, 0, &before.spill) == 0, "a dead writer's lock is gone");
	zu_pt_unlock(s->pt, 97 * STRIDE, before.spill);
	ok(drain(s), "and everything drains to empty");
	zu_state_detach(s);
	close(fd);
}

/* Publish a bad entry at page idx of a filled state, detach: refused. */
static void bad_entry(uint64_t idx, uint64_t e, const char *what)
{
	struct zu_state *s;
	int fd = made();

	if (zu_state_attach(fd, &geom, &s, msg, sizeof(msg)))
		return (void)ok(0, "%s: attach: %s", what, msg);
	publish(s, idx, e);
	zu_state_detach(s);
	refused(fd, &geom, -EUCLEAN, what);
	close(fd);
}

static void test_bad_entries(void)
{
	uint64_t dup = want[4].entry;     /* i = 4: a spill page (if not overwritten) */

	bad_entry(5, zu_pte_store((STORE + 4096) << 12 | 99, ZT_CODEC_LZ4),
		  "a store handle past the arena");
	bad_entry(5, zu_pte_store((UINT64_C(3) << 20 | 8) << 12 | 99, ZT_CODEC_LZ4),
		  "a store handle in a free segment");
	bad_entry(5, zu_pte_store(UINT64_C(40) << 12 | 4095, ZT_CODEC_LZ4),
		  "a 4096-byte handle that claims to be compressed");
	bad_entry(5, zu_pte_slot(ZT_TIER_SPILL, SPILL), "a spill slot past the tier");
	bad_entry(5, zu_pte_slot(ZT_TIER_ZRAM, ZRAM + 7), "a zram slot past the tier");
	bad_entry(5, zu_pte_meta(ZU_FILL_TABLE_BIT | (FILLS - 1)), "a fill code naming no word");
	bad_entry(5, zu_pte_meta(FILLS + ZU_FILL_TABLE_BIT), "a fill code past the table");
	bad_entry(5, zu_pte_make((enum zt_tier)6, 1), "an entry of tier 6");
	if (zu_pte_tier(dup) == ZT_TIER_SPILL)
		bad_entry(7, dup, "two entries naming one spill slot");
	else
		ok(0, "page 4 should be a spill page: %#llx", (unsigned long long)dup);
}

/* A segment's live bytes are allocator metadata: wrong ones are rebuilt
 * from the table, not trusted. */
static void test_segment_live(uint64_t e)
{
	uint64_t lw = 12345;               /* not sealed, and not what it holds */
	struct zu_state *s;
	unsigned char *seg;
	size_t len;
	int fd = made();

	if (zu_state_attach(fd, &geom, &s, msg, sizeof(msg)))
		return (void)ok(0, "attach: %s", msg);
	seg = (unsigned char *)zu_store_data(s->store, zu_pte_store_handle(e), &len) -
	      ((zu_pte_store_handle(e) >> 12) % ZU_STORE_CHUNK);
	memcpy(seg + 16, &lw, 8);
	zu_state_detach(s);
	if (zu_state_attach(fd, &geom, &s, msg, sizeof(msg)))
		return (void)ok(0, "wrong live bytes: %s", msg);
	ok(same(s) && drain(s), "a segment's wrong live bytes are recounted from the table");
	zu_state_detach(s);
	close(fd);
}

/* A store segment whose header no longer covers the table's handle. */
static void test_segment_header(void)
{
	struct zu_state *s;
	uint64_t e = want[2].entry;         /* i = 2: a compressed store page */
	size_t len;
	unsigned char *p, *seg;
	uint32_t top;
	int fd = made();

	if (zu_state_attach(fd, &geom, &s, msg, sizeof(msg)))
		return (void)ok(0, "attach: %s", msg);
	p = (unsigned char *)zu_store_data(s->store, zu_pte_store_handle(e), &len);
	seg = p - ((zu_pte_store_handle(e) >> 12) % ZU_STORE_CHUNK);
	memcpy(&top, seg + 8, 4);
	top = (uint32_t)(p - seg);          /* the page now ends past top */
	memcpy(seg + 8, &top, 4);
	zu_state_detach(s);
	refused(fd, &geom, -EUCLEAN, "a segment's top short of a page the table names");
	close(fd);
	fd = made();
	if (zu_state_attach(fd, &geom, &s, msg, sizeof(msg)))
		return (void)ok(0, "attach: %s", msg);
	p = (unsigned char *)zu_store_data(s->store, zu_pte_store_handle(e), &len);
	seg = p - ((zu_pte_store_handle(e) >> 12) % ZU_STORE_CHUNK);
	memset(seg, 0, 4);                  /* magic gone: a released segment */
	zu_state_detach(s);
	refused(fd, &geom, -EUCLEAN, "a segment released under a page the table names");
	close(fd);
	test_segment_live(e);
}

/* The rebuilt store is one the compactor can pack: sealed segments with
 * the holes the dead server left. */
static void test_compact(void)
{
	struct zu_store_stats before, after;
	struct zu_store_mover m;
	struct zu_state *s;
	int fd = made(), moved;

	if (zu_state_attach(fd, &geom, &s, msg, sizeof(msg)))
		return (void)ok(0, "attach a filled state: %s", msg);
	m = zu_store_pt_mover(s->pt);
	zu_store_set_mover(s->store, &m);
	zu_store_stats(s->store, &before);
	moved = zu_store_compact(s->store, true);
	zu_store_stats(s->store, &after);
	ok(moved > 0 && after.in_use_bytes < before.in_use_bytes,
	   "the compactor packs an attached store: %d pages moved, %llu -> %llu KiB in use",
	   moved, (unsigned long long)before.in_use_bytes >> 10,
	   (unsigned long long)after.in_use_bytes >> 10);
	ok(same_as(s, true), "every page reads back the same after the moves");
	ok(drain(s), "and everything drains to empty");
	zu_state_detach(s);
	close(fd);
}

static uint64_t seen_idx[4 * NPAGES];
static unsigned nseen;

static int note(void *ctx, uint64_t idx, uint64_t e)
{
	if (nseen < 4 * NPAGES)
		seen_idx[nseen++] = idx;
	return 0;
}

/* Drop every page the table holds, wherever it is. */
static bool drain_all(struct zu_state *s)
{
	struct counts c;

	nseen = 0;
	zu_pt_foreach(s->pt, note, NULL);
	state_drop_pages(s, seen_idx, nseen);
	counts(s, &c);
	return !c.store_pages && !c.store_bytes && !c.spill && !c.zram && !c.fills;
}

/* Random bit flips past the header (entries, block ids, segment headers,
 * data): every attach either refuses or gives allocators that balance. */
static void test_flips(void)
{
	int fd = made();
	struct stat sb;
	unsigned char *img;
	unsigned accepted = 0, refusals = 0, bad = 0, n = 0;
	size_t pt = zu_pt_region_bytes(DEV_SIZE / ZT_PAGE_SIZE);

	fstat(fd, &sb);
	img = malloc((size_t)sb.st_size);
	pread(fd, img, (size_t)sb.st_size, 0);
	srand(10);
	for (unsigned k = 0; k < 300; k++) {
		size_t pos;
		unsigned char b;
		struct zu_state *s;

		/* Half in the page table, half anywhere past the header;
		 * mostly bytes that mean something (not zero). */
		do
			pos = 4096 + (size_t)rand() % (k % 2 ? (size_t)sb.st_size - 4096 : pt);
		while (!img[pos] && ++n % 64);
		b = img[pos] ^ (unsigned char)(1u << (rand() % 8));
		pwrite(fd, img, (size_t)sb.st_size, 0);
		pwrite(fd, &b, 1, (off_t)pos);
		if (zu_state_attach(fd, &geom, &s, msg, sizeof(msg))) {
			refusals++;
			continue;
		}
		accepted++;
		bad += !drain_all(s);
		zu_state_detach(s);
	}
	ok(!bad, "300 bit flips: %u refused, %u attached, all of those balanced", refusals,
	   accepted);
	free(img);
	close(fd);
}

static void test_size(void)
{
	struct zu_state_geom g = { UINT64_C(1) << 30, UINT64_C(256) << 20, 0, 0, 4096, 0, 0, false };
	uint64_t plain, spill;

	plain = zu_state_bytes(&g);
	g.spill_slots = (UINT64_C(4) << 30) / ZT_PAGE_SIZE;
	spill = zu_state_bytes(&g);
	ok(plain > g.store_bytes, "1 GiB device, 256 MiB store: %llu bytes, %llu KiB beyond "
	   "the store (%.2f%%)", (unsigned long long)plain,
	   (unsigned long long)(plain - g.store_bytes) >> 10,
	   100.0 * (double)(plain - g.store_bytes) / (double)g.store_bytes);
	tap_diag("with a 4 GiB spill tier: %llu KiB more",
		 (unsigned long long)(spill - plain) >> 10);
	g.dev_size = 4095;
	is_int(zu_state_bytes(&g), 0, "a device size that is not whole pages: invalid");
}

/* What a server without a state commits for the same parts (upfront, as
 * for swap: tiered_setup.c's whole table, the fill table, the slot maps),
 * measured from the allocators themselves; the store's arena is the same
 * bytes either way, its process-side tables too. */
static uint64_t pre_state_bytes(const struct zu_state_geom *g)
{
	uint64_t pages = g->dev_size / ZT_PAGE_SIZE;
	uint64_t blocks = (pages + 511) / 512 + (pages + (1u << 18) - 1) / (1u << 18);
	struct zu_pt *pt = zu_pt_create(pages, (size_t)blocks * ZT_PAGE_SIZE);
	struct zu_fills *f = zu_fills_create(g->fill_capacity);
	struct zu_slots *sp = zu_slots_create(g->spill_slots), *zr = zu_slots_create(g->zram_slots);
	struct zu_pt_stats ps;
	uint64_t bytes;

	zu_pt_stats(pt, &ps);
	bytes = ps.pool_bytes + ps.meta_bytes +          /* an empty table */
		zu_fills_bytes(f) + zu_slots_bytes(sp) + zu_slots_bytes(zr) +
		g->store_bytes / ZU_STORE_CHUNK * ZU_STORE_CHUNK;
	zu_slots_destroy(zr);
	zu_slots_destroy(sp);
	zu_fills_destroy(f);
	zu_pt_destroy(pt);
	return bytes;
}

/* The state's cost against the process memory it replaces: a device with
 * a store of a quarter of it, a 4 GiB spill tier and a zram tier of a
 * quarter of it. */
static void test_cost(uint64_t dev)
{
	struct zu_state_geom g = { dev, dev / 4, (UINT64_C(4) << 30) / ZT_PAGE_SIZE,
				   dev / 4 / ZT_PAGE_SIZE, 4096, 0, 0, false };
	uint64_t st = zu_state_bytes(&g), pre = pre_state_bytes(&g);
	uint64_t pt = zu_pt_region_bytes(dev / ZT_PAGE_SIZE);

	ok(st && pre, "%llu GiB device: state %llu KiB (header 4, table %llu, fills %llu, "
	   "store %llu, spill map %llu, zram map %llu); without a state %llu KiB: "
	   "%+lld KiB (%+.2f%% of the device)", (unsigned long long)(dev >> 30),
	   (unsigned long long)st >> 10, (unsigned long long)pt >> 10,
	   (unsigned long long)zu_fills_region_bytes(4096) >> 10,
	   (unsigned long long)g.store_bytes >> 10,
	   (unsigned long long)zu_slots_region_bytes(g.spill_slots) >> 10,
	   (unsigned long long)zu_slots_region_bytes(g.zram_slots) >> 10,
	   (unsigned long long)pre >> 10, ((long long)st - (long long)pre) / 1024,
	   100.0 * ((double)st - (double)pre) / (double)dev);
}

/* The policy identity: the same config gives the same one, any field
 * changes it; the geometry follows the config. */
static void test_config_id(void)
{
	struct ztu_config a, b;
	struct zu_state_geom g;

	memset(&a, 0, sizeof(a));
	a.size = UINT64_C(1) << 30;
	a.mem_limit = UINT64_C(256) << 20;
	b = a;
	ok(ztu_config_id(&a) == ztu_config_id(&b), "one config, one identity");
	b.rule[ZT_CLASS_TEXT].codec.level = 9;
	ok(ztu_config_id(&a) != ztu_config_id(&b), "a codec level changes it");
	zu_state_geom_of(&a, 1000, 4096, &g);
	ok(g.dev_size == a.size && g.store_bytes == a.mem_limit && g.spill_slots == 1000 &&
	   !g.zram_slots && g.policy_id == ztu_config_id(&a), "geometry of a config");
}

int main(void)
{
	test_roundtrip();
	test_header();
	test_dead_writer();
	test_bad_entries();
	test_segment_header();
	test_compact();
	test_flips();
	test_size();
	test_cost(UINT64_C(1) << 30);
	test_cost(UINT64_C(4) << 30);
	test_config_id();
	return tap_done();
}
