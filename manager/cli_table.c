/*
 * cli_table.c — the one column table behind `ztierctl status` and `metrics`.
 *
 * Each column is one row of `columns`: its header name, width, help, type,
 * where its value lives in struct cli_row, whether it shows by default, and
 * the Prometheus metric it feeds.  The human table (libsmartcols, as
 * zramctl: widths from the content, --raw, --noheadings), the JSON objects
 * and the metrics are three loops over the same table, so a new column is
 * one line and cannot drift between the outputs.  Pure: rows in, text out.
 */
#include <errno.h>
#include <libsmartcols.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "manager/cli_status.h"
#include "policy/common/common.h"

/* COL_RATIO is DATA / COMPR; the other ratios are named by their type. */
enum col_type { COL_STR, COL_BYTES, COL_NUM, COL_RATIO, COL_MEM_PER_DATA, COL_STORE_OVERHEAD,
		COL_TIME /* wall-clock seconds: HH:MM:SS in the table */ };

struct column {
	const char *name;            /* header; lower-cased for JSON keys     */
	int width;                   /* negative: left-aligned                */
	const char *help;
	enum col_type type;
	size_t off;                  /* in struct cli_row                     */
	bool all_only;               /* shown with --all (always in JSON)     */
	const char *metric;          /* Prometheus name, NULL: a label/none   */
	const char *label;           /* extra label of that metric, or NULL   */
};

#define ROW(f) offsetof(struct cli_row, f)
#define PG(t, n) { n, 7, "pages held in the " #t " tier", COL_NUM, ROW(pages[ZT_TIER_##t]), \
		   false, "ztier_device_pages", "tier" }
#define WR(c, n) { n, 10, "pages written of class " #c, COL_NUM, ROW(writes[ZT_CLASS_##c]), \
		   true, "ztier_device_class_writes_total", "class" }

static const struct column columns[] = {
	{ "NAME", -8, "device name", COL_STR, ROW(name), false, NULL, "device" },
	{ "TIER", -5, "zram or ztier (ublk)", COL_STR, ROW(tier), false, NULL, "kind" },
	{ "STACK", -12, "ztierd stack", COL_STR, ROW(stack), false, NULL, "stack" },
	{ "ALGORITHM", -9, "compression algorithm (zram)", COL_STR, ROW(algorithm), false,
	  NULL, "algorithm" },
	{ "DISKSIZE", 8, "device size", COL_BYTES, ROW(disksize), false,
	  "ztier_device_disksize_bytes", NULL },
	{ "DATA", 7, "uncompressed data stored", COL_BYTES, ROW(data), false,
	  "ztier_device_data_bytes", NULL },
	{ "COMPR", 7, "data after compression (spilled pages count whole)", COL_BYTES,
	  ROW(compr), false, "ztier_device_compressed_bytes", NULL },
	{ "TOTAL", 7, "memory used, metadata included", COL_BYTES, ROW(total), false,
	  "ztier_device_memory_used_bytes", NULL },
	{ "RATIO", 5, "DATA / COMPR", COL_RATIO, 0, false, "ztier_device_compression_ratio", NULL },
	{ "PRIO", 5, "swap priority", COL_NUM, ROW(prio), false, "ztier_device_swap_priority", NULL },
	{ "STATE", -9, "up, swap, degraded, waiting, failed, ...", COL_STR, ROW(state), false,
	  NULL, "state" },
	PG(META, "META"), PG(STORE, "STORE"), PG(ZRAM, "ZRAM"), PG(SPILL, "SPILL"),
	WR(SAMEFILL, "W-SAMEFILL"), WR(TEXT, "W-TEXT"), WR(MIXED, "W-MIXED"),
	WR(RANDOM, "W-RANDOM"),
	{ "MEM/DATA", 8, "TOTAL / DATA: memory per stored byte", COL_MEM_PER_DATA, 0, true,
	  "ztier_device_memory_per_data_ratio", NULL },
	{ "S-COMPR", 7, "compressed bytes in the ztier store", COL_BYTES, ROW(store_bytes), true,
	  "ztier_store_compressed_bytes", NULL },
	{ "S-MEM", 7, "memory the ztier store holds", COL_BYTES, ROW(store_mem), true,
	  "ztier_store_memory_used_bytes", NULL },
	{ "S-OVERHEAD", 10, "(S-MEM - S-COMPR) / S-COMPR", COL_STORE_OVERHEAD, 0,
	  true, "ztier_store_overhead_ratio", NULL },
	{ "COMPACTIONS", 11, "store compaction passes that moved pages", COL_NUM,
	  ROW(compactions), true, "ztier_store_compactions_total", NULL },
	{ "C-PAGES", 8, "pages moved by compaction", COL_NUM, ROW(compact_pages), true,
	  "ztier_store_compacted_pages_total", NULL },
	{ "C-FREED", 7, "memory compaction gave back", COL_BYTES, ROW(compact_freed), true,
	  "ztier_store_compaction_freed_bytes_total", NULL },
	{ "FB-RESERVE", 10, "store puts refused: reserve empty (sent to the fallback)", COL_NUM,
	  ROW(fallback_reserve), true, "ztier_store_fallbacks_reserve_total", NULL },
	{ "FB-LIMIT", 8, "store puts refused: memory limit (sent to the fallback)", COL_NUM,
	  ROW(fallback_limit), true, "ztier_store_fallbacks_limit_total", NULL },
	{ "M-LAST", 8, "last zram maintenance pass", COL_TIME, ROW(m_last), true,
	  "ztier_maint_last_pass_timestamp_seconds", NULL },
	{ "M-NEXT", 8, "next pass by the interval (sooner under memory pressure)", COL_TIME,
	  ROW(m_next), true, "ztier_maint_next_pass_timestamp_seconds", NULL },
	{ "IDLE-MARKED", 11, "pages the last mark-all marked idle (by age: not counted)",
	  COL_NUM, ROW(idle_marked), true, "ztier_maint_idle_marked_pages", NULL },
	{ "WB-PAGES", 8, "pages written back since built (bd_stat)", COL_NUM, ROW(wb_pages), true,
	  "ztier_maint_writeback_pages_total", NULL },
	{ "WB-BYTES", 8, "bytes written back since built", COL_BYTES, ROW(wb_bytes), true,
	  "ztier_maint_writeback_bytes_total", NULL },
	{ "WB-TODAY", 8, "bytes written back since today's budget", COL_BYTES, ROW(wb_today), true,
	  "ztier_maint_writeback_today_bytes", NULL },
	{ "WB-LEFT", 7, "writeback budget left today (writeback_limit)", COL_BYTES, ROW(wb_left),
	  true, "ztier_maint_writeback_budget_left_bytes", NULL },
	{ "RECOMP", 6, "recompression passes", COL_NUM, ROW(recomp_passes), true,
	  "ztier_maint_recompress_passes_total", NULL },
	{ "RECOMP-SAVED", 12, "bytes compressed data shrank by in recompression", COL_BYTES,
	  ROW(recomp_saved), true, "ztier_maint_recompress_saved_bytes_total", NULL },
	{ "M-LACKS", -1, "maintenance this kernel lacks", COL_STR, ROW(m_lacks), true, NULL,
	  "maint_lacks" },
	{ "REASON", -1, "why degraded, failed or waiting", COL_STR, ROW(reason), true, NULL, NULL },
};
#define NCOLUMNS (sizeof(columns) / sizeof(columns[0]))

/* ---- rows ------------------------------------------------------------------ */

void cli_row_init(struct cli_row *r)
{
	memset(r, 0, sizeof(*r));
	strcpy(r->name, "-");
	strcpy(r->tier, "-");
	strcpy(r->stack, "-");
	strcpy(r->algorithm, "-");
	strcpy(r->state, "-");
	strcpy(r->reason, "-");
	strcpy(r->m_lacks, "-");
	r->disksize = r->data = r->compr = r->total = r->prio = CLI_NA;
	for (int i = 0; i < ZT_TIER_COUNT; i++)
		r->pages[i] = CLI_NA;
	for (int i = 0; i < ZT_CLASS_COUNT; i++)
		r->writes[i] = CLI_NA;
	r->store_bytes = r->store_mem = r->compactions = r->compact_pages = CLI_NA;
	r->compact_freed = r->fallback_reserve = r->fallback_limit = CLI_NA;
	r->m_last = r->m_next = r->idle_marked = r->wb_pages = r->wb_bytes = CLI_NA;
	r->wb_today = r->wb_left = r->recomp_passes = r->recomp_saved = CLI_NA;
}

struct cli_row *cli_rows_add(struct cli_rows *rows)
{
	if (rows->n == rows->cap) {
		unsigned cap = rows->cap ? rows->cap * 2 : 8;
		struct cli_row *v = realloc(rows->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		rows->v = v;
		rows->cap = cap;
	}
	cli_row_init(&rows->v[rows->n]);
	return &rows->v[rows->n++];
}

void cli_rows_free(struct cli_rows *rows)
{
	free(rows->v);
	memset(rows, 0, sizeof(*rows));
}

double cli_row_ratio(const struct cli_row *r)
{
	if (r->data == CLI_NA || r->compr == CLI_NA || r->compr <= 0)
		return -1;
	return (double)r->data / (double)r->compr;
}

double cli_row_mem_per_data(const struct cli_row *r)
{
	if (r->data == CLI_NA || r->total == CLI_NA || r->data <= 0)
		return -1;
	return (double)r->total / (double)r->data;
}

double cli_row_store_overhead(const struct cli_row *r)
{
	if (r->store_bytes == CLI_NA || r->store_mem == CLI_NA || r->store_bytes <= 0)
		return -1;
	return (double)(r->store_mem - r->store_bytes) / (double)r->store_bytes;
}

static bool is_ratio(const struct column *c)
{
	return c->type == COL_RATIO || c->type == COL_MEM_PER_DATA ||
	       c->type == COL_STORE_OVERHEAD;
}

static double ratio_of(const struct cli_row *r, const struct column *c)
{
	if (c->type == COL_MEM_PER_DATA)
		return cli_row_mem_per_data(r);
	if (c->type == COL_STORE_OVERHEAD)
		return cli_row_store_overhead(r);
	return cli_row_ratio(r);
}

/* ---- one cell ---------------------------------------------------------------- */

static const char *str_of(const struct cli_row *r, const struct column *c)
{
	return (const char *)r + c->off;
}

static int64_t num_of(const struct cli_row *r, const struct column *c)
{
	int64_t v;

	memcpy(&v, (const char *)r + c->off, sizeof(v));
	return v;
}

/* Local HH:MM:SS, with the date when it is not today. */
static const char *time_text(int64_t t, char *buf, size_t len)
{
	time_t when = (time_t)t, now = time(NULL);
	struct tm tm, today;

	if (t == CLI_NA || !localtime_r(&when, &tm) || !localtime_r(&now, &today))
		return "-";
	strftime(buf, len, tm.tm_yday == today.tm_yday && tm.tm_year == today.tm_year ?
		 "%H:%M:%S" : "%Y-%m-%d %H:%M:%S", &tm);
	return buf;
}

/* The cell as the human table shows it. */
static const char *cell(const struct cli_row *r, const struct column *c, char *buf, size_t len)
{
	double ratio;

	switch (c->type) {
	case COL_STR:
		return str_of(r, c);
	case COL_RATIO:
	case COL_MEM_PER_DATA:
	case COL_STORE_OVERHEAD:
		ratio = ratio_of(r, c);
		if (ratio < 0)
			return "-";
		snprintf(buf, len, "%.2f", ratio);
		return buf;
	case COL_BYTES:
		if (num_of(r, c) == CLI_NA)
			return "-";
		return zt_size_human(num_of(r, c), buf, len);
	case COL_NUM:
		if (num_of(r, c) == CLI_NA)
			return "-";
		snprintf(buf, len, "%lld", (long long)num_of(r, c));
		return buf;
	case COL_TIME:
		return time_text(num_of(r, c), buf, len);
	}
	return "?";
}

/* ---- text (libsmartcols: widths from the content, as zramctl) ---------------- */

static const char *cell_text(const struct cli_row *r, const struct column *c, bool bytes,
			     char *buf, size_t len)
{
	if (bytes && c->type == COL_BYTES && num_of(r, c) != CLI_NA) {
		snprintf(buf, len, "%lld", (long long)num_of(r, c));
		return buf;
	}
	return cell(r, c, buf, len);
}

int cli_table_column(const char *name)
{
	for (size_t i = 0; i < NCOLUMNS; i++)
		if (!strcasecmp(columns[i].name, name))
			return (int)i;
	return -1;
}

int cli_table_columns_parse(const char *list, struct cli_table_opts *o, char *bad, size_t len)
{
	const char *p = list + (list[0] == '+');
	char name[32];

	o->ncols = 0;
	if (list[0] == '+')                             /* util-linux's "+COL": add */
		for (size_t i = 0; i < NCOLUMNS; i++)
			if (!columns[i].all_only)
				o->cols[o->ncols++] = (int)i;
	while (*p) {
		size_t n = strcspn(p, ",");
		int c;
		snprintf(name, sizeof(name), "%.*s", (int)(n < sizeof(name) ? n : sizeof(name) - 1), p);
		if ((c = cli_table_column(name)) < 0 || n >= sizeof(name) || o->ncols == CLI_COLS_MAX) {
			snprintf(bad, len, "%.*s", (int)n, p);
			return -1;
		}
		o->cols[o->ncols++] = c;
		p += n + (p[n] == ',');
	}
	return o->ncols ? 0 : (snprintf(bad, len, "%s", list), -1);
}

/* The columns shown: -o's list, else every one (all) or the defaults. */
static size_t shown(const struct cli_table_opts *o, int *idx)
{
	size_t n = 0;

	if (o->ncols) {
		memcpy(idx, o->cols, o->ncols * sizeof(int));
		return o->ncols;
	}
	for (size_t i = 0; i < NCOLUMNS; i++)
		if (o->all || !columns[i].all_only)
			idx[n++] = (int)i;
	return n;
}

int cli_table_print(FILE *out, const struct cli_rows *rows, const struct cli_table_opts *o)
{
	struct libscols_table *tb = scols_new_table();
	int idx[NCOLUMNS > CLI_COLS_MAX ? NCOLUMNS : CLI_COLS_MAX], err = 0;
	size_t n = shown(o, idx);
	char buf[64];

	if (!tb)
		return -ENOMEM;
	scols_table_enable_raw(tb, o->raw);
	scols_table_enable_noheadings(tb, o->noheadings);
	scols_table_set_stream(tb, out);
	for (size_t i = 0; i < n && !err; i++) {
		const struct column *c = &columns[idx[i]];
		bool right = c->type != COL_STR;
		err = scols_table_new_column(tb, c->name, 0, right ? SCOLS_FL_RIGHT : 0) ? 0 : -ENOMEM;
	}
	for (unsigned k = 0; k < rows->n && !err; k++) {
		struct libscols_line *ln = scols_table_new_line(tb, NULL);
		for (size_t i = 0; ln && i < n && !err; i++)
			err = scols_line_set_data(ln, i, cell_text(&rows->v[k], &columns[idx[i]],
								   o->bytes, buf, sizeof(buf)));
		err = err ? err : ln ? 0 : -ENOMEM;
	}
	if (!err)
		err = scols_print_table(tb);
	scols_unref_table(tb);
	return err;
}

/* ---- JSON ---------------------------------------------------------------------- */

static void json_key(FILE *out, const char *name)
{
	fputc('"', out);
	for (; *name; name++)
		fputc(*name == '-' || *name == '/' ? '_' : (*name >= 'A' && *name <= 'Z') ? *name + 32 : *name, out);
	fputs("\":", out);
}

static void json_value(FILE *out, const struct cli_row *r, const struct column *c)
{
	double ratio;

	switch (c->type) {
	case COL_STR:
		zt_json_string(out, str_of(r, c));
		return;
	case COL_RATIO:
	case COL_MEM_PER_DATA:
	case COL_STORE_OVERHEAD:
		ratio = ratio_of(r, c);
		if (ratio < 0)
			fputs("null", out);
		else
			fprintf(out, "%.4f", ratio);
		return;
	default:
		if (num_of(r, c) == CLI_NA)
			fputs("null", out);
		else
			fprintf(out, "%lld", (long long)num_of(r, c));
	}
}

void cli_table_json(FILE *out, const struct cli_rows *rows)
{
	fputs("{\"devices\":[", out);
	for (unsigned k = 0; k < rows->n; k++) {
		fputs(k ? ",{" : "{", out);
		for (size_t i = 0; i < NCOLUMNS; i++) {
			if (i)
				fputc(',', out);
			json_key(out, columns[i].name);
			json_value(out, &rows->v[k], &columns[i]);
		}
		fputc('}', out);
	}
	fputc(']', out);
	if (rows->zswap.known) {
		const struct cli_zswap *z = &rows->zswap;
		fputs(",\"zswap\":{\"enabled\":", out);
		fputs(!strcmp(z->enabled, "Y") ? "true" : !strcmp(z->enabled, "N") ? "false" : "null",
		      out);
		if (z->max_pool_percent == CLI_NA)
			fputs(",\"max_pool_percent\":null", out);
		else
			fprintf(out, ",\"max_pool_percent\":%lld", (long long)z->max_pool_percent);
		fputs(",\"action\":", out);
		zt_json_string(out, z->action);
		fputs(",\"note\":", out);
		zt_json_string(out, z->note);
		fputc('}', out);
	}
	fputs("}\n", out);
}

void cli_zswap_line(const struct cli_zswap *z, char *buf, size_t len)
{
	buf[0] = '\0';
	if (!z->known || !strcmp(z->action, "absent"))
		return;
	snprintf(buf, len, "zswap: %s (max_pool_percent %lld%%)%s%s", z->action,
		 (long long)(z->max_pool_percent == CLI_NA ? -1 : z->max_pool_percent),
		 strcmp(z->note, "-") ? ": " : "", strcmp(z->note, "-") ? z->note : "");
}

/* zswap's state as gauges (only when ztierd told it). */
static void prom_zswap(FILE *out, const struct cli_zswap *z)
{
	if (!z->known || strcmp(z->enabled, "-") == 0)
		return;
	fprintf(out, "# HELP ztier_zswap_enabled the kernel's zswap is on (1) or off (0)\n"
		"# TYPE ztier_zswap_enabled gauge\nztier_zswap_enabled %d\n"
		"# HELP ztier_zswap_disabled_by_ztierd ztierd turned zswap off (zswap = disable)\n"
		"# TYPE ztier_zswap_disabled_by_ztierd gauge\nztier_zswap_disabled_by_ztierd %d\n",
		!strcmp(z->enabled, "Y"), !strcmp(z->action, "disabled by ztierd"));
	if (z->max_pool_percent != CLI_NA)
		fprintf(out, "# HELP ztier_zswap_max_pool_percent zswap's max_pool_percent\n"
			"# TYPE ztier_zswap_max_pool_percent gauge\n"
			"ztier_zswap_max_pool_percent %lld\n", (long long)z->max_pool_percent);
}

/* ---- Prometheus ------------------------------------------------------------------ */

static void prom_label_value(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
}

/* The identifying labels: device, kind and stack. */
static void prom_labels(FILE *out, const struct cli_row *r, bool info)
{
	const char *sep = "";

	fputc('{', out);
	for (size_t i = 0; i < NCOLUMNS; i++) {
		const struct column *c = &columns[i];
		if (c->type != COL_STR || !c->label)
			continue;
		if (!info && strcmp(c->label, "device") && strcmp(c->label, "kind") &&
		    strcmp(c->label, "stack"))
			continue;
		if (c->all_only && !strcmp(str_of(r, c), "-"))
			continue;               /* an --all column's label: only when set */
		fprintf(out, "%s%s=\"", sep, c->label);
		prom_label_value(out, str_of(r, c));
		fputc('"', out);
		sep = ",";
	}
}

static void prom_sample(FILE *out, const char *metric, const struct cli_row *r,
			const struct column *c, const char *extra)
{
	double ratio = 0;

	if (is_ratio(c)) {
		if ((ratio = ratio_of(r, c)) < 0)
			return;
	} else if (num_of(r, c) == CLI_NA) {
		return;
	}
	fputs(metric, out);
	prom_labels(out, r, false);
	if (c->label && extra) {
		fprintf(out, ",%s=\"", c->label);
		for (const char *p = extra; *p; p++)
			fputc(*p == '-' ? '_' : (*p >= 'A' && *p <= 'Z') ? *p + 32 : *p, out);
		fputc('"', out);
	}
	if (is_ratio(c))
		fprintf(out, "} %.4f\n", ratio);
	else
		fprintf(out, "} %lld\n", (long long)num_of(r, c));
}

static bool emitted_before(size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (columns[j].metric && !strcmp(columns[j].metric, columns[i].metric))
			return true;
	return false;
}

/* "W-SAMEFIL" -> "samefill" etc.: the label value is the class/tier name. */
static const char *label_value(const struct column *c)
{
	if (!c->label)
		return NULL;
	if (!strcmp(c->label, "tier"))
		return zt_tier_name((enum zt_tier)((c->off - ROW(pages[0])) / sizeof(int64_t)));
	return zt_class_name((enum zt_class)((c->off - ROW(writes[0])) / sizeof(int64_t)));
}

void cli_table_metrics(FILE *out, const struct cli_rows *rows)
{
	fputs("# HELP ztier_device_info ztier device: labels say what it is; always 1\n"
	      "# TYPE ztier_device_info gauge\n", out);
	for (unsigned k = 0; k < rows->n; k++) {
		fputs("ztier_device_info", out);
		prom_labels(out, &rows->v[k], true);
		fputs("} 1\n", out);
	}
	for (size_t i = 0; i < NCOLUMNS; i++) {
		const struct column *c = &columns[i];
		if (!c->metric || emitted_before(i))
			continue;
		bool counter = strstr(c->metric, "_total") != NULL;
		fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", c->metric,
			c->label ? (c->label[0] == 't' ? "pages held per tier" : "pages written per class")
				 : c->help, c->metric, counter ? "counter" : "gauge");
		for (size_t j = i; j < NCOLUMNS; j++) {
			if (!columns[j].metric || strcmp(columns[j].metric, c->metric))
				continue;
			for (unsigned k = 0; k < rows->n; k++)
				prom_sample(out, c->metric, &rows->v[k], &columns[j],
					    label_value(&columns[j]));
		}
	}
	prom_zswap(out, &rows->zswap);
}

void cli_table_columns_help(FILE *out)
{
	for (size_t i = 0; i < NCOLUMNS; i++)
		fprintf(out, "  %-10s %s%s\n", columns[i].name, columns[i].help,
			columns[i].all_only ? " (--all)" : "");
}
