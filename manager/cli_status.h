/*
 * cli_status.h — ztierctl's device rows and the one column table behind
 * `status` (text and --json) and `metrics` (Prometheus text format).
 *
 * cli_rows.c gathers rows from the system (zram sysfs, ublk stats files,
 * /proc/swaps) and, when ztierd answers, merges in its stacks (stack name,
 * state, reason).  cli_table.c is pure: rows in, text out; unit-tested on
 * the host (tests/manager/t_table.c).
 */
#ifndef ZT_MANAGER_CLI_STATUS_H
#define ZT_MANAGER_CLI_STATUS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "policy/policy.h"

#define CLI_NA INT64_MIN         /* a number this row does not have */

struct cli_row {
	char name[32];               /* zram0, ublkb1, or "-" (no device)     */
	char tier[8];                /* zram, ztier                           */
	char stack[ZT_NAME_MAX];     /* ztierd's stack name or "-"            */
	char algorithm[48];
	char state[16];
	char reason[160];            /* why degraded/failed/waiting, or "-"   */
	int64_t disksize, data, compr, total;   /* bytes or CLI_NA            */
	int64_t prio;                /* swap priority or CLI_NA               */
	int64_t pages[ZT_TIER_COUNT];          /* pages held per tier         */
	int64_t writes[ZT_CLASS_COUNT];        /* pages written per class     */
	/* ztier's compressed store (CLI_NA for zram): */
	int64_t store_bytes, store_mem;        /* compressed bytes, memory used */
	int64_t compactions, compact_pages, compact_freed;  /* totals          */
	int64_t fallback_reserve, fallback_limit;   /* puts refused, by cause  */
	/* ztierd's maintenance of a zram swap (CLI_NA: none, not measured): */
	int64_t m_last, m_next;                /* passes, wall-clock seconds  */
	int64_t idle_marked;                   /* pages the last mark-all marked */
	int64_t wb_pages, wb_bytes;            /* written back since built    */
	int64_t wb_today, wb_left;             /* bytes today, budget left    */
	int64_t recomp_passes, recomp_saved;   /* passes, bytes shrunk by     */
	char m_lacks[160];                     /* what the kernel lacks, or "-" */
};

/* The kernel's zswap as ztierd reports it (its "@zswap" status line). */
struct cli_zswap {
	bool known;                  /* ztierd answered with it               */
	char enabled[4];             /* Y, N, or "-" (no zswap)               */
	int64_t max_pool_percent;    /* CLI_NA: not read                      */
	char action[32];             /* disabled by ztierd, kept, enabled, off, absent */
	char note[160];
};

struct cli_rows {
	unsigned n, cap;
	struct cli_row *v;
	struct cli_zswap zswap;
	bool daemon;                 /* ztierd answered                       */
	int daemon_err;              /* why not: -ENOENT, -EACCES, ... (0: it did) */
};

/* A fresh row: every number CLI_NA, every string "-". */
void cli_row_init(struct cli_row *r);
struct cli_row *cli_rows_add(struct cli_rows *rows);
void cli_rows_free(struct cli_rows *rows);

/* DATA / COMPR, or a negative value when not computable. */
double cli_row_ratio(const struct cli_row *r);
/* TOTAL / DATA (memory per stored byte; lower is better), or negative. */
double cli_row_mem_per_data(const struct cli_row *r);
/* The store's overhead, (store memory - its compressed bytes) / its
 * compressed bytes, or negative. */
double cli_row_store_overhead(const struct cli_row *r);

/* How the human table is printed (status's options, zramctl's names). */
#define CLI_COLS_MAX 32
struct cli_table_opts {
	bool all;                    /* every column (when no -o list)         */
	bool raw;                    /* --raw: no alignment, escaped cells     */
	bool noheadings;
	bool bytes;                  /* --bytes: sizes in bytes                */
	unsigned ncols;              /* -o: these columns, in order; 0: default */
	int cols[CLI_COLS_MAX];
};

/* Human table through libsmartcols: widths from the content.  0 or -errno. */
int cli_table_print(FILE *out, const struct cli_rows *rows, const struct cli_table_opts *o);
/* The column named (any case), or -1. */
int cli_table_column(const char *name);
/* -o LIST ("NAME,DATA" or "+REASON": the defaults and more) into o->cols;
 * -1 with the bad name in bad. */
int cli_table_columns_parse(const char *list, struct cli_table_opts *o, char *bad, size_t len);
/* JSON: {"devices":[{...}, ...]} with every column, numbers as numbers. */
void cli_table_json(FILE *out, const struct cli_rows *rows);
/* Prometheus text exposition format (# HELP, # TYPE, samples). */
void cli_table_metrics(FILE *out, const struct cli_rows *rows);
/* zswap as one line for the human table's foot ("" when not known). */
void cli_zswap_line(const struct cli_zswap *z, char *buf, size_t len);
/* Column names and help, one per line (for --help). */
void cli_table_columns_help(FILE *out);

/* cli_rows.c: the system's rows, merged with ztierd's stacks if it runs. */
int cli_rows_gather(struct cli_rows *rows);

/* cli_daemon.c: send one request line; *reply (malloc'd) gets the output
 * after the "ok" line.  0, -ECONNREFUSED/-ENOENT (no daemon), -EPERM/-EACCES,
 * or -EREMOTEIO with *reply holding the daemon's error reason. */
int cli_daemon_request(const char *request, char **reply);
const char *cli_socket_path(void);

#endif
