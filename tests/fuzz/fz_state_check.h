/*
 * fz_state_check.h — what fz_state asks of an attach (see fz_state.c):
 * a clear refusal, or a state whose table and allocators agree exactly.
 */

struct fz_entry {
	uint64_t idx, e, sum;
};

struct fz_table {
	struct fz_entry *v;
	size_t n, cap;
};

static uint64_t fz_hash(const void *p, size_t n)
{
	return fnv64(p, n);
}

static int fz_collect(void *ctx, uint64_t idx, uint64_t e)
{
	struct fz_table *t = ctx;

	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 256;
		t->v = realloc(t->v, t->cap * sizeof(*t->v));
		if (!t->v)
			abort();
	}
	t->v[t->n++] = (struct fz_entry){ idx, e, 0 };
	return 0;
}

/* What an entry's location holds (its bytes, its word), checked live. */
static uint64_t fz_content(struct zu_state *s, uint64_t e)
{
	const void *p;
	size_t len;

	switch (zu_pte_tier(e)) {
	case ZT_TIER_META:
		return zu_fill_word(s->fills, zu_pte_payload(e));
	case ZT_TIER_STORE:
		p = zu_store_data(s->store, zu_pte_store_handle(e), &len);
		if (!p || len != zu_store_handle_len(zu_pte_store_handle(e)))
			FZ_FAIL("store handle %#llx has no data", (unsigned long long)e);
		return fz_hash(p, len);
	case ZT_TIER_SPILL:
		if (!zu_slots_in_use(s->spill, zu_pte_slot_nr(e)))
			FZ_FAIL("spill slot of %#llx is free", (unsigned long long)e);
		return 0;
	case ZT_TIER_ZRAM:
		if (!zu_slots_in_use(s->zram, zu_pte_slot_nr(e)))
			FZ_FAIL("zram slot of %#llx is free", (unsigned long long)e);
		return 0;
	default:
		FZ_FAIL("entry %#llx of no tier attached", (unsigned long long)e);
	}
}

static void fz_read_table(struct zu_state *s, struct fz_table *t)
{
	t->n = 0;
	zu_pt_foreach(s->pt, fz_collect, t);
	for (size_t i = 0; i < t->n; i++)
		t->v[i].sum = fz_content(s, t->v[i].e);
}

/* The allocators count what the table names, no more, no less. */
static void fz_check_counts(struct zu_state *s, const struct fz_table *t)
{
	uint64_t n[ZT_TIER_COUNT] = { 0 }, bytes = 0;
	struct zu_store_stats ss = { 0 };

	for (size_t i = 0; i < t->n; i++) {
		n[zu_pte_tier(t->v[i].e)]++;
		if (zu_pte_tier(t->v[i].e) == ZT_TIER_STORE)
			bytes += zu_store_handle_len(zu_pte_store_handle(t->v[i].e));
	}
	if (s->store)
		zu_store_stats(s->store, &ss);
	if (ss.pages != n[ZT_TIER_STORE] || ss.data_bytes != bytes)
		FZ_FAIL("store counts %llu pages %llu bytes, the table %llu and %llu",
			(unsigned long long)ss.pages, (unsigned long long)ss.data_bytes,
			(unsigned long long)n[ZT_TIER_STORE], (unsigned long long)bytes);
	if ((s->spill ? zu_slots_used(s->spill) : 0) != n[ZT_TIER_SPILL] ||
	    (s->zram ? zu_slots_used(s->zram) : 0) != n[ZT_TIER_ZRAM])
		FZ_FAIL("slot counts differ from the table");
}

/* New locations never land on one the table names. */
static void fz_check_new(struct zu_state *s, const struct fz_table *t)
{
	static const uint8_t bytes[200] = { 1, 2, 3 };
	uint64_t h, v;

	if (s->store && zu_store_put(s->store, bytes, sizeof(bytes), &h) == 0) {
		for (size_t i = 0; i < t->n; i++) {
			uint64_t o = zu_pte_store_handle(t->v[i].e) >> 12;

			if (zu_pte_tier(t->v[i].e) == ZT_TIER_STORE && (h >> 12) < o +
			    zu_store_handle_len(zu_pte_store_handle(t->v[i].e)) &&
			    o < (h >> 12) + sizeof(bytes))
				FZ_FAIL("a new store put overlaps page %llu",
					(unsigned long long)t->v[i].idx);
		}
		zu_store_free(s->store, h);
	}
	if (s->spill && zu_slots_alloc(s->spill, NULL, &v) == 0) {
		for (size_t i = 0; i < t->n; i++)
			if (zu_pte_tier(t->v[i].e) == ZT_TIER_SPILL &&
			    zu_pte_slot_nr(t->v[i].e) == v)     /* tagged or packed too */
				FZ_FAIL("a new spill slot is page %llu's", (unsigned long long)t->v[i].idx);
		zu_slots_free(s->spill, v);
	}
}

/* Pages keep their bytes through a compaction of the adopted store. */
static void fz_check_compact(struct zu_state *s, struct fz_table *t)
{
	struct zu_store_mover m;
	struct fz_table after = { 0 };

	if (!s->store)
		return;
	m = zu_store_pt_mover(s->pt);
	zu_store_set_mover(s->store, &m);
	(void)zu_store_compact(s->store, true);
	fz_read_table(s, &after);
	if (after.n != t->n)
		FZ_FAIL("the compactor changed the page count");
	for (size_t i = 0; i < t->n; i++)
		if (after.v[i].idx != t->v[i].idx || after.v[i].sum != t->v[i].sum)
			FZ_FAIL("page %llu changed in a compaction", (unsigned long long)t->v[i].idx);
	free(after.v);
}

/* Every page freed as a server frees them: nothing may stay allocated. */
static void fz_check_drain(struct zu_state *s, const struct fz_table *t)
{
	struct zu_pt_stats ps;
	struct fz_table left = { 0 };

	for (size_t i = 0; i < t->n; i++) {
		uint64_t old;

		if (zu_pt_lock(s->pt, t->v[i].idx, ZU_PT_NOCREATE, &old))
			FZ_FAIL("page %llu cannot be locked", (unsigned long long)t->v[i].idx);
		zu_pt_unlock(s->pt, t->v[i].idx, ZU_PTE_EMPTY);
		state_free_loc(s, old);
	}
	fz_check_counts(s, &left);
	zu_pt_stats(s->pt, &ps);
	if (zu_fills_used(s->fills) || ps.stored || ps.leaves)
		FZ_FAIL("after freeing every page: %u fill words, %llu entries, %llu leaves",
			zu_fills_used(s->fills), (unsigned long long)ps.stored,
			(unsigned long long)ps.leaves);
}

static bool fz_known_error(int err)
{
	return err == -EBADMSG || err == -EPROTO || err == -ESTALE || err == -EUCLEAN ||
	       err == -EINVAL || err == -ENOMEM;
}

/* Attach; on success check everything above.  The attach's error or 0. */
/* Demotion's budget window is the header page's bytes as found (state.h:
 * never checked at attach): whatever they are, no day grants more than
 * its budget (demote.h), before, at and a day after the window's start. */
static void fz_check_budget(struct zu_state *s)
{
	struct zu_budget b = { UINT64_C(64) * ZT_PAGE_SIZE, s->budget_day };
	uint64_t start = atomic_load(&s->budget_day->start_ms);
	const uint64_t when[] = { start - 1, start, start + 1000, start + ZU_DEMOTE_DAY_MS };

	for (unsigned i = 0; i < sizeof(when) / sizeof(when[0]); i++) {
		uint64_t took = 0;

		if (zu_budget_left(&b, when[i]) > b.per_day)
			FZ_FAIL("budget window %#llx: more than a day's budget left",
				(unsigned long long)start);
		while (took <= b.per_day && zu_budget_take(&b, when[i], ZT_PAGE_SIZE))
			took += ZT_PAGE_SIZE;
		if (took > b.per_day)
			FZ_FAIL("budget window %#llx: took more than a day's budget",
				(unsigned long long)start);
	}
}

static int fz_attach_and_check(int fd, const struct zu_state_geom *g)
{
	static struct fz_table t;
	struct fz_table again = { 0 };
	struct zu_state *s;
	int err;

	msg[0] = 0;
	err = zu_state_attach(fd, g, &s, msg, sizeof(msg));
	if (err && (!msg[0] || !fz_known_error(err)))
		FZ_FAIL("attach refused with %d and message '%s'", err, msg);
	if (err)
		return err;
	fz_read_table(s, &t);
	fz_check_counts(s, &t);
	zu_state_detach(s);
	if ((err = zu_state_attach(fd, g, &s, msg, sizeof(msg))))
		FZ_FAIL("a second attach refused what the first took: %s", msg);
	fz_read_table(s, &again);
	for (size_t i = 0; i < t.n; i++)
		if (again.n != t.n || again.v[i].e != t.v[i].e || again.v[i].sum != t.v[i].sum)
			FZ_FAIL("the second attach sees page %llu differently",
				(unsigned long long)t.v[i].idx);
	free(again.v);
	fz_check_new(s, &t);
	fz_check_compact(s, &t);
	fz_check_drain(s, &t);
	fz_check_budget(s);
	zu_state_detach(s);
	return 0;
}
