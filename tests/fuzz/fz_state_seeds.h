/*
 * fz_state_seeds.h — fz_state's seed corpus: small states made through the
 * allocators' own paths (as tests/ublk/t_state.c makes them), detached and
 * written in fz_state.h's sparse form.  A 4 MiB device, a two-segment
 * store, 64 spill and 64 zram slots, 16 fill words: about a MiB of file,
 * a few KiB of seed each.
 */

static const struct zu_state_geom fz_seed_geom = {
	UINT64_C(4) << 20, 2 * ZU_STORE_CHUNK, 64, 64, 16, UINT64_C(0x5eed), 1, false
};

/* A new location for a page, of a kind chosen by i (0 when full). */
static uint64_t fz_seed_put(struct zu_state *s, unsigned i)
{
	uint8_t buf[ZT_PAGE_SIZE] = { 0 };          /* mostly zeros: small seeds */
	uint64_t v;

	memset(buf, (int)(i * 7 + 1), 16);
	switch (i % 7) {
	case 0:  return zu_pte_meta(0x3c3c3c3cu);                       /* inline fill */
	case 1:  return zu_fill_get(s->fills, UINT64_C(0x0123456789abcdef) + i % 3, &v) ? 0 :
			zu_pte_meta(v);
	case 2:  return zu_store_put(s->store, buf, 40 + i % 160, &v) ? 0 :
			zu_pte_store_aged(zu_pte_store(v, ZT_CODEC_LZ4), i % 4);  /* demote.h */
	case 3:  return i == 3 && !zu_store_put_raw(s->store, buf, &v) ?
			zu_pte_store(v, ZT_CODEC_RAW) : 0;
	case 4:  return zu_slots_alloc(s->spill, NULL, &v) ? 0 :    /* every other packed */
			i % 2 ? zu_pte_packed(v, ZT_CODEC_LZ4, 40 + i % 160, i) :
			zu_pte_slot_tagged(ZT_TIER_SPILL, v, i);
	case 5:  return zu_slots_alloc(s->zram, NULL, &v) ? 0 : zu_pte_slot(ZT_TIER_ZRAM, v);
	default: return zu_store_put(s->store, buf, 8 + i % 30, &v) ? 0 :
			zu_pte_store(v, ZT_CODEC_ZSTD);
	}
}

/* Page idx gets page kind i; its old location is freed (an overwrite). */
static void fz_seed_write(struct zu_state *s, uint64_t idx, unsigned i)
{
	uint64_t old, e = fz_seed_put(s, i);

	if (zu_pt_lock(s->pt, idx, 0, &old))
		return;
	zu_pt_unlock(s->pt, idx, e);
	state_free_loc(s, old);
}

/* n pages spread over both leaves, a third overwritten, some discarded. */
static void fz_seed_fill(struct zu_state *s, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		fz_seed_write(s, (uint64_t)i * 37 % 1024, i);
	for (unsigned i = 0; i < n; i += 3)
		fz_seed_write(s, (uint64_t)i * 37 % 1024, i + 1);
	for (unsigned i = 1; i < n; i += 8)
		fz_seed_write(s, (uint64_t)i * 37 % 1024, 7 * 100);   /* kind 0: a discard-like fill */
}

/* Dead writers: entries locked, new locations allocated, never published. */
static void fz_seed_half(struct zu_state *s)
{
	uint64_t old;

	for (unsigned i = 0; i < 5; i++)
		if (zu_pt_lock(s->pt, (uint64_t)i * 37 * 4 % 1024, 0, &old) == 0)
			(void)fz_seed_put(s, i + 2);
}

static int fz_seed_file(const char *dir, const char *name, int fd, uint8_t flags)
{
	static uint8_t img[FZ_MAX_FILE];
	size_t len = fz_snapshot(fd, img), n;
	uint8_t *out = malloc(len + 2 * FZ_RUN_HDR);
	char path[512];
	FILE *f;

	n = out ? fz_encode(img, len, flags, out, len + 2 * FZ_RUN_HDR) : 0;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	if (!n || !f || fwrite(out, 1, n, f) != n || fclose(f))
		return fprintf(stderr, "fz_state: cannot write %s\n", path), 1;
	fprintf(stderr, "fz_state: %s: %zu bytes\n", path, n);
	free(out);
	return 0;
}

/* kind: 0 empty, 1 pages in every tier, 2 and half-published entries,
 * 3 pages then one attach and more pages, and a demotion budget window
 * (state.h: the header page's second half). */
static int fz_seed_make(int fd, const struct zu_state_geom *g, int kind)
{
	struct zu_state *s;

	if (zu_state_create(fd, g, &s, msg, sizeof(msg)))
		return fprintf(stderr, "fz_state: %s\n", msg), 1;
	if (kind)
		fz_seed_fill(s, kind == 3 ? 20 : 60);
	if (kind == 2)
		fz_seed_half(s);
	if (kind == 3) {
		zu_state_detach(s);
		if (zu_state_attach(fd, g, &s, msg, sizeof(msg)))
			return fprintf(stderr, "fz_state: %s\n", msg), 1;
		for (unsigned i = 0; i < 10; i++)
			fz_seed_write(s, 500 + i, i);
		atomic_store(&s->budget_day->start_ms, UINT64_C(5) * 3600 * 1000);
		atomic_store(&s->budget_day->used, UINT64_C(3) * ZT_PAGE_SIZE);
	}
	zu_state_detach(s);
	return 0;
}

static int fz_write_seeds(const char *dir)
{
	static const char *names[] = { "empty", "tiers", "half-published", "attached" };
	struct zu_state_geom bare = { UINT64_C(4) << 20, 0, 0, 0, 16, 7, 0, false };
	int bad = 0;

	for (int k = 0; k < 4; k++) {
		bad |= fz_seed_make(fz_fd, &fz_seed_geom, k);
		bad |= fz_seed_file(dir, names[k], fz_fd, k == 1 ? 0 : FZ_RESEAL);
		if (k == 1)
			bad |= fz_seed_file(dir, "tiers-reseal", fz_fd, FZ_RESEAL);
	}
	bad |= fz_seed_make(fz_fd, &bare, 0) ||
	       fz_seed_file(dir, "no-store-no-slots", fz_fd, FZ_RESEAL);
	return bad;
}
