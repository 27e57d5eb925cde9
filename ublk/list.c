/*
 * list.c — a device's figures as sections of fields, for any process.
 *
 * What `ztier-ublk list` shows of a live device, as data: each figure is
 * written once here (or in its target's sections hook) and rendered as
 * text and as JSON by the one loop in the program (ublk/main.c), so the
 * two outputs cannot drift.  The core's sections come from its stats file;
 * a target adds its own (the tiered target: its zram tier, tier_zram.c).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "ublk/srv.h"
#include "ublk/store.h"

static struct ztu_field *field(struct ztu_section *sec, const char *key,
			       enum ztu_field_type type)
{
	struct ztu_field *f;

	if (sec->n == ZTU_FIELDS_MAX)
		return NULL;
	f = &sec->f[sec->n++];
	memset(f, 0, sizeof(*f));
	f->key = key;
	f->type = type;
	return f;
}

void ztu_field_num(struct ztu_section *sec, const char *key, int64_t v)
{
	struct ztu_field *f = field(sec, key, ZTU_F_NUM);

	if (f)
		f->num = v;
}

void ztu_field_pair(struct ztu_section *sec, const char *key, int64_t a, int64_t b)
{
	struct ztu_field *f = field(sec, key, ZTU_F_PAIR);

	if (f) {
		f->num = a;
		f->num2 = b;
	}
}

void ztu_field_ratio(struct ztu_section *sec, const char *key, double r)
{
	struct ztu_field *f = field(sec, key, ZTU_F_RATIO);

	if (f)
		f->ratio = r;
}

void ztu_field_text(struct ztu_section *sec, const char *key, const char *text, bool label)
{
	struct ztu_field *f = field(sec, key, label ? ZTU_F_LABEL : ZTU_F_TEXT);

	if (f)
		snprintf(f->text, sizeof(f->text), "%s", text);
}

static struct ztu_section *section(struct ztu_section *out, unsigned *n, const char *name)
{
	struct ztu_section *sec = &out[(*n)++];

	sec->name = name;
	sec->n = 0;
	return sec;
}

/* The per-tier and per-class counters, named as policies name them. */
static void counts(struct ztu_section *out, unsigned *n, const struct ztu_stats *s)
{
	struct ztu_section *sec = section(out, n, "pages");

	for (int t = ZT_TIER_META; t < ZT_TIER_COUNT; t++)
		ztu_field_num(sec, zt_tier_name((enum zt_tier)t), s->pages[t]);
	sec = section(out, n, "writes");
	for (int c = 0; c < ZT_CLASS_COUNT; c++)
		ztu_field_num(sec, zt_class_name((enum zt_class)c), (int64_t)s->class_writes[c]);
}

/* The core's plain counters (each a uint64_t of struct ztu_stats): one row
 * each, in the order they are shown. */
#define ST(f) offsetof(struct ztu_stats, f)
static const struct { const char *section, *key; size_t off; } counters[] = {
	{ "store", "pages", ST(store_pages) },     { "store", "bytes", ST(store_bytes) },
	{ "store", "mem_used", ST(mem_used) },     { "store", "mem_limit", ST(mem_limit) },
	{ "store", "mem_in_use", ST(mem_in_use) }, { "store", "mem_reserve", ST(mem_reserve) },
	{ "store", "mem_meta", ST(mem_meta) },
	{ "store", "fallback_reserve", ST(fallback_reserve) },
	{ "store", "fallback_limit", ST(fallback_limit) },
	{ "requests", "read", ST(reads) },         { "requests", "write", ST(writes) },
	{ "requests", "flush", ST(flushes) },      { "requests", "discard", ST(discards) },
	{ "requests", "write_zeroes", ST(write_zeroes) },
	{ "requests", "errors", ST(errors) },      { "requests", "enospc", ST(enospc) },
	{ "requests", "zero_copy_pages", ST(zc_reads) },
	{ "compaction", "passes", ST(compactions) }, { "compaction", "pages", ST(compact_pages) },
	{ "compaction", "bytes", ST(compact_bytes) }, { "compaction", "freed", ST(compact_freed) },
	{ "compaction", "raced", ST(compact_raced) },
	{ "demotion", "pages", ST(demoted) },      { "demotion", "bytes", ST(demoted_bytes) },
	{ "demotion", "promoted", ST(promoted) },
};

/* counters[] from row *i on, while they belong to section name. */
static void counter_rows(struct ztu_section *sec, const struct ztu_stats *s, size_t *i)
{
	for (; *i < sizeof(counters) / sizeof(counters[0]) &&
	       strcmp(counters[*i].section, sec->name) == 0; (*i)++) {
		uint64_t v;
		memcpy(&v, (const char *)s + counters[*i].off, sizeof(v));
		ztu_field_num(sec, counters[*i].key, (int64_t)v);
	}
}

/* What the store's memory is spent on, as the issue #11 tables show it:
 * overhead = (memory used - compressed bytes) / compressed bytes, in
 * percent; memory per stored byte = memory used / the uncompressed bytes
 * the device holds in every tier (kernel zram: mem_used_total /
 * orig_data_size). */
static void store_ratios(struct ztu_section *sec, const struct ztu_stats *s)
{
	int64_t held = 0;

	for (int t = ZT_TIER_META; t < ZT_TIER_COUNT; t++)
		held += s->pages[t];
	ztu_field_num(sec, "segments", (int64_t)(s->mem_in_use / ZU_STORE_CHUNK));
	ztu_field_ratio(sec, "overhead_pct", zu_store_overhead_pct(s->mem_used, s->store_bytes));
	ztu_field_ratio(sec, "mem_per_stored",
			held > 0 ? (double)s->mem_used / ((double)held * ZT_PAGE_SIZE) : 0.0);
}

static void core(struct ztu_section *out, unsigned *n, const struct ztu_stats *s)
{
	struct ztu_section *sec = section(out, n, "target");
	size_t i = 0;

	ztu_field_text(sec, "name", s->target, true);
	ztu_field_text(sec, "policy", s->policy, false);
	ztu_field_num(sec, "size", (int64_t)s->size);
	counts(out, n, s);
	sec = section(out, n, "store");
	counter_rows(sec, s, &i);
	store_ratios(sec, s);
	sec = section(out, n, "spill");
	ztu_field_pair(sec, "slots", (int64_t)s->spill_slots_used, (int64_t)s->spill_slots_total);
	counter_rows(section(out, n, "requests"), s, &i);
	counter_rows(section(out, n, "compaction"), s, &i);
	sec = section(out, n, "demotion");
	ztu_field_num(sec, "idle_age", s->demote_age);
	counter_rows(sec, s, &i);
	ztu_field_num(sec, "budget_left", s->demote_budget_left);
}

#define CORE_SECTIONS 8u

int ztu_dev_sections(int dev_id, struct ztu_section *out, unsigned max)
{
	const struct ztu_stats_shm *shm;
	struct ztu_stats st;
	unsigned n = 0;
	int ret;

	if (max < CORE_SECTIONS)
		return -ENOSPC;
	if ((ret = ztu_stats_read(dev_id, &st)))
		return ret;
	core(out, &n, &st);
	if (ztu_stats_map(dev_id, &shm, false) == 0) {
		n += ztu_target_sections(shm, out + n, max - n);
		ztu_stats_unmap(shm);
	}
	return (int)n;
}
