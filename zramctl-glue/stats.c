/*
 * stats.c — mm_stat, io_stat and bd_stat parsed into structs.
 *
 * Each attribute is one line of space-separated decimal numbers whose
 * number of fields grew over kernel versions (mm_stat gained huge_pages and
 * huge_pages_since; bd_stat needs CONFIG_ZRAM_WRITEBACK).  A table of field
 * offsets per attribute drives one parser: fields the kernel does not print
 * keep ZG_ABSENT and a missing attribute sets present = false.  Neither is
 * an error; only an unreadable existing attribute is.
 */
#include "zramctl-glue/zg_internal.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#define FIELD(type, member) offsetof(type, member)

static const size_t mm_fields[] = {
	FIELD(struct zg_mm_stat, orig_data_size),
	FIELD(struct zg_mm_stat, compr_data_size),
	FIELD(struct zg_mm_stat, mem_used_total),
	FIELD(struct zg_mm_stat, mem_limit),
	FIELD(struct zg_mm_stat, mem_used_max),
	FIELD(struct zg_mm_stat, same_pages),
	FIELD(struct zg_mm_stat, pages_compacted),
	FIELD(struct zg_mm_stat, huge_pages),
	FIELD(struct zg_mm_stat, huge_pages_since),
};

static const size_t io_fields[] = {
	FIELD(struct zg_io_stat, failed_reads),
	FIELD(struct zg_io_stat, failed_writes),
	FIELD(struct zg_io_stat, invalid_io),
	FIELD(struct zg_io_stat, notify_free),
};

static const size_t bd_fields[] = {
	FIELD(struct zg_bd_stat, bd_count),
	FIELD(struct zg_bd_stat, bd_reads),
	FIELD(struct zg_bd_stat, bd_writes),
};

/* Fill the uint64_t fields of st (at offs) from text; the rest ZG_ABSENT. */
static void parse_fields(const char *text, void *st, const size_t *offs, size_t n)
{
	const char *p = text;
	for (size_t i = 0; i < n; i++) {
		uint64_t *field = (uint64_t *)((char *)st + offs[i]);
		char *end;
		unsigned long long v = p ? strtoull(p, &end, 10) : 0;
		if (!p || end == p) {
			*field = ZG_ABSENT;
			p = NULL;
			continue;
		}
		*field = v;
		p = end;
	}
}

/* Read attr into st; *present = false if the kernel lacks it. */
static int read_stat(struct zg_dev *dev, const char *attr, bool *present,
		     void *st, const size_t *offs, size_t n)
{
	char buf[ZG_ATTR_BUF];
	*present = zg_has_attr(dev, attr);
	int r = *present ? zg_read_attr(dev, attr, buf, sizeof(buf)) : 0;
	if (r < 0)
		return r;
	parse_fields(*present ? buf : "", st, offs, n);
	return 0;
}

#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

int zg_read_stats(struct zg_dev *dev, struct zg_stats *st)
{
	zg_clear_err(dev);
	int r = read_stat(dev, "mm_stat", &st->mm.present, &st->mm,
			  mm_fields, NFIELDS(mm_fields));
	if (r == 0)
		r = read_stat(dev, "io_stat", &st->io.present, &st->io,
			      io_fields, NFIELDS(io_fields));
	if (r == 0)
		r = read_stat(dev, "bd_stat", &st->bd.present, &st->bd,
			      bd_fields, NFIELDS(bd_fields));
	return r;
}
