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
};

struct cli_rows {
	unsigned n, cap;
	struct cli_row *v;
	bool daemon;                 /* ztierd answered                       */
};

/* A fresh row: every number CLI_NA, every string "-". */
void cli_row_init(struct cli_row *r);
struct cli_row *cli_rows_add(struct cli_rows *rows);
void cli_rows_free(struct cli_rows *rows);

/* DATA / COMPR, or a negative value when not computable. */
double cli_row_ratio(const struct cli_row *r);

/* Human table: a header line and one line per row; all = every column. */
void cli_table_print(FILE *out, const struct cli_rows *rows, bool all);
/* JSON: {"devices":[{...}, ...]} with every column, numbers as numbers. */
void cli_table_json(FILE *out, const struct cli_rows *rows);
/* Prometheus text exposition format (# HELP, # TYPE, samples). */
void cli_table_metrics(FILE *out, const struct cli_rows *rows);
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
