/*
 * t_table.c — ztierctl's column table (manager/cli_table.c): one table gives
 * the human table, JSON and Prometheus output; missing numbers; human sizes.
 */
#include <math.h>

#include "tests/tap.h"
#include "manager/cli_table.c"

static char *render(void (*fn)(FILE *, const struct cli_rows *), const struct cli_rows *rows)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	fn(f, rows);
	fclose(f);
	return buf;
}

static struct cli_table_opts opts;
static void print_default(FILE *f, const struct cli_rows *r)
{
	cli_table_print(f, r, &(struct cli_table_opts){ 0 });
}
static void print_all(FILE *f, const struct cli_rows *r)
{
	cli_table_print(f, r, &(struct cli_table_opts){ .all = true });
}
static void print_opts(FILE *f, const struct cli_rows *r) { cli_table_print(f, r, &opts); }

int main(void)
{
	struct cli_rows rows = { 0 };
	char b[32];

	is_str(zt_size_human(0, b, sizeof(b)), "0", "0");
	is_str(zt_size_human(512, b, sizeof(b)), "512B", "512B");
	is_str(zt_size_human(4096, b, sizeof(b)), "4K", "4K");
	is_str(zt_size_human(1536 * 1024, b, sizeof(b)), "1.5M", "1.5M");
	is_str(zt_size_human(64ll << 30, b, sizeof(b)), "64G", "64G");

	struct cli_row *z = cli_rows_add(&rows);
	strcpy(z->name, "zram1");
	strcpy(z->tier, "zram");
	strcpy(z->stack, "fast");
	strcpy(z->algorithm, "lz4");
	strcpy(z->state, "swap");
	z->disksize = 64 << 20;
	z->data = 8 << 20;
	z->compr = 2 << 20;
	z->total = 3 << 20;
	z->prio = 100;
	z->pages[ZT_TIER_META] = 10;
	z->pages[ZT_TIER_ZRAM] = 2038;
	struct cli_row *u = cli_rows_add(&rows);
	strcpy(u->name, "-");
	strcpy(u->tier, "ztier");
	strcpy(u->stack, "db \"x\"");
	strcpy(u->state, "waiting");
	strcpy(u->reason, "waiting for spill /dev/disk/by-id/x");

	ok(fabs(cli_row_ratio(z) - 4.0) < 1e-9, "ratio = DATA/COMPR");
	ok(cli_row_ratio(u) < 0, "no ratio without numbers");
	ok(fabs(cli_row_mem_per_data(z) - 0.375) < 1e-9, "memory per stored byte = TOTAL/DATA");
	ok(cli_row_store_overhead(z) < 0, "zram: no store overhead");

	struct cli_row *s = cli_rows_add(&rows);
	strcpy(s->name, "ublkb0");
	strcpy(s->tier, "ztier");
	strcpy(s->stack, "swap");
	s->data = 256 << 20;
	s->total = s->store_mem = 30 << 20;
	s->store_bytes = 25 << 20;
	s->compactions = 3;
	s->compact_pages = 1000;
	s->compact_freed = 1 << 20;
	s->fallback_reserve = 2;
	s->fallback_limit = 5;
	ok(fabs(cli_row_store_overhead(s) - 0.2) < 1e-9, "store overhead = (S-MEM - S-COMPR) / S-COMPR");

	char *t = render(print_default, &rows);
	ok(!strncmp(t, "NAME ", 5), "table starts with the header");
	ok(strstr(t, "PRIO") && strstr(t, "STATE") && strstr(t, "SPILL"), "default columns");
	ok(!strstr(t, "W-TEXT") && !strstr(t, "REASON"), "class writes and reason only with --all");
	ok(strstr(t, "zram1") && strstr(t, "64M") && strstr(t, "4.00") && strstr(t, " 100 "),
	   "zram row: name, size, ratio, priority");
	int lines = 0;
	for (char *p = t; *p; p++)
		lines += *p == '\n';
	is_int(lines, 4, "header + one line per row");
	ok(!strstr(t, "S-OVERHEAD") && !strstr(t, "MEM/DATA"), "store columns only with --all");
	free(t);
	t = render(print_all, &rows);
	ok(strstr(t, "W-TEXT") && strstr(t, "REASON") && strstr(t, "waiting for spill"),
	   "--all adds class writes and the reason");
	ok(strstr(t, "MEM/DATA") && strstr(t, "S-OVERHEAD") && strstr(t, "FB-LIMIT") &&
	   strstr(t, "0.38") && strstr(t, "0.20") && strstr(t, "25M"),
	   "--all adds the store's memory, overhead, compaction and fallbacks");
	free(t);

	/* zramctl's options: -o, --raw, --noheadings, --bytes (libsmartcols) */
	char bad[64] = "";
	ok(cli_table_columns_parse("name,DISKSIZE,state", &opts, bad, sizeof(bad)) == 0 &&
	   opts.ncols == 3, "-o name,DISKSIZE,state: three columns, any case");
	opts.raw = opts.noheadings = opts.bytes = true;
	t = render(print_opts, &rows);
	is_str(t, "zram1 67108864 swap\n- - waiting\nublkb0 - -\n", "--raw --noheadings --bytes -o: exact cells");
	free(t);
	opts.raw = opts.noheadings = opts.bytes = false;
	t = render(print_opts, &rows);
	is_str(t, "NAME   DISKSIZE STATE\nzram1       64M swap\n-             - waiting\n"
		  "ublkb0        - -\n",
	       "widths from the content; numbers right-aligned");
	free(t);
	ok(cli_table_columns_parse("NAME,COLOUR", &opts, bad, sizeof(bad)) < 0 &&
	   !strcmp(bad, "COLOUR"), "-o with an unknown column: named");
	ok(cli_table_columns_parse("+REASON", &opts, bad, sizeof(bad)) == 0 &&
	   opts.cols[opts.ncols - 1] == cli_table_column("REASON") && opts.ncols > 10,
	   "-o +REASON: the defaults and REASON");
	ok(cli_table_columns_parse("", &opts, bad, sizeof(bad)) < 0, "-o '': refused");

	t = render(cli_table_json, &rows);
	ok(!strncmp(t, "{\"devices\":[{\"name\":\"zram1\"", 27), "JSON starts with devices[0].name");
	ok(strstr(t, "\"disksize\":67108864") && strstr(t, "\"prio\":100"), "numbers as numbers");
	ok(strstr(t, "\"ratio\":4.0000"), "ratio number");
	ok(strstr(t, "\"mem_data\":0.3750") && strstr(t, "\"s_overhead\":0.2000") &&
	   strstr(t, "\"s_compr\":26214400") && strstr(t, "\"fb_reserve\":2") &&
	   strstr(t, "\"c_freed\":1048576") && strstr(t, "\"compactions\":3"),
	   "JSON: the store's figures");
	ok(strstr(t, "\"prio\":null") && strstr(t, "\"store\":null"), "missing numbers are null");
	ok(strstr(t, "\"stack\":\"db \\\"x\\\"\""), "strings are escaped");
	ok(strstr(t, "\"w_samefill\":null") && strstr(t, "\"reason\":"), "JSON has every column");
	free(t);

	t = render(cli_table_metrics, &rows);
	ok(strstr(t, "# TYPE ztier_device_pages gauge\n"), "TYPE line");
	ok(strstr(t, "ztier_device_pages{device=\"zram1\",kind=\"zram\",stack=\"fast\",tier=\"meta\"} 10\n"),
	   "per-tier pages sample with labels");
	ok(strstr(t, "ztier_device_swap_priority{device=\"zram1\",kind=\"zram\",stack=\"fast\"} 100\n"),
	   "priority sample");
	ok(strstr(t, "# TYPE ztier_device_class_writes_total counter"), "class writes are a counter");
	ok(strstr(t, "state=\"waiting\"} 1"), "info metric carries the state");
	ok(strstr(t, "ztier_store_overhead_ratio{device=\"ublkb0\",kind=\"ztier\",stack=\"swap\"} 0.2000\n") &&
	   strstr(t, "ztier_device_memory_per_data_ratio{device=\"zram1\",kind=\"zram\",stack=\"fast\"} 0.3750\n") &&
	   strstr(t, "# TYPE ztier_store_fallbacks_limit_total counter\n") &&
	   strstr(t, "ztier_store_compacted_pages_total{device=\"ublkb0\",kind=\"ztier\",stack=\"swap\"} 1000\n"),
	   "metrics: the store's figures");
	ok(!strstr(t, "ztier_store_overhead_ratio{device=\"zram1\""), "no store sample for zram");
	ok(!strstr(t, "ztier_device_disksize_bytes{device=\"-\""), "no sample for a missing number");
	int helps = 0;
	for (char *p = t; (p = strstr(p, "# HELP ztier_device_pages ")); p++)
		helps++;
	is_int(helps, 1, "one HELP per metric even when four columns feed it");
	free(t);
	cli_rows_free(&rows);
	return tap_done();
}
