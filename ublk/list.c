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
#include <stdio.h>
#include <string.h>

#include "ublk/srv.h"

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

static void core(struct ztu_section *out, unsigned *n, const struct ztu_stats *s)
{
	struct ztu_section *sec = section(out, n, "target");

	ztu_field_text(sec, "name", s->target, true);
	ztu_field_text(sec, "policy", s->policy, false);
	ztu_field_num(sec, "size", (int64_t)s->size);
	counts(out, n, s);
	sec = section(out, n, "store");
	ztu_field_num(sec, "pages", (int64_t)s->store_pages);
	ztu_field_num(sec, "bytes", (int64_t)s->store_bytes);
	ztu_field_num(sec, "mem_used", (int64_t)s->mem_used);
	ztu_field_num(sec, "mem_limit", (int64_t)s->mem_limit);
	sec = section(out, n, "spill");
	ztu_field_pair(sec, "slots", (int64_t)s->spill_slots_used, (int64_t)s->spill_slots_total);
	sec = section(out, n, "requests");
	ztu_field_num(sec, "read", (int64_t)s->reads);
	ztu_field_num(sec, "write", (int64_t)s->writes);
	ztu_field_num(sec, "flush", (int64_t)s->flushes);
	ztu_field_num(sec, "discard", (int64_t)s->discards);
	ztu_field_num(sec, "write_zeroes", (int64_t)s->write_zeroes);
	ztu_field_num(sec, "errors", (int64_t)s->errors);
	ztu_field_num(sec, "enospc", (int64_t)s->enospc);
}

#define CORE_SECTIONS 6u

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
