/*
 * cli_status.c — `ztierctl status [-o COLS] [--raw] [--noheadings] [--bytes]
 * [--all] [--json] [DEVICE|STACK]` (zramctl's options) and `ztierctl metrics`.
 *
 * Both print the rows of cli_rows.c through the column table of cli_table.c:
 * status as a zramctl-like table or JSON, metrics in the Prometheus text
 * format (for node_exporter's textfile collector:
 * `ztierctl metrics > /var/lib/node_exporter/ztier.prom.$$ && mv ...`).
 * Neither needs ztierd; when it runs, its stacks add state and reasons.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "manager/cli.h"
#include "manager/cli_status.h"

static int status_help(void)
{
	printf("Usage: ztierctl status [OPTIONS] [DEVICE|STACK]\n\n"
	       "One row per zram and ztier device (and per ztierd stack without one);\n"
	       "with DEVICE (zram0, /dev/ublkb1) or STACK, that one only.  Works\n"
	       "without ztierd; with it, STACK, STATE and REASON come from it (its\n"
	       "stacks need root: the control socket is root's).  Unused zram devices\n"
	       "that are not ztier's (state idle) are shown with --all only.\n\n"
	       "  -o, --output LIST  columns to show (e.g. NAME,DATA,STATE; +REASON adds\n"
	       "                     to the defaults)\n"
	       "  -r, --raw          no alignment (for scripts)\n"
	       "  -n, --noheadings   no header line\n"
	       "  -b, --bytes        sizes in bytes, not 1.5M\n"
	       "  -a, --all          every column and every device\n"
	       "  -j, --json         every column as JSON: {\"devices\":[{...}]}\n"
	       "  -h, --help         show this help\n\nColumns:\n");
	cli_table_columns_help(stdout);
	return CLI_OK;
}

/* A zram device nobody set up (not ztier's, disksize 0): another tool's
 * spare, as zramctl leaves them; shown with --all or when named. */
static bool idle_other(const struct cli_row *r)
{
	return !strcmp(r->tier, "zram") && !strcmp(r->stack, "-") && !strcmp(r->state, "idle");
}

static bool matches(const struct cli_row *r, const char *want)
{
	if (!strncmp(want, "/dev/", 5))
		want += 5;
	return !strcmp(r->name, want) || !strcmp(r->stack, want);
}

/* Keep the rows asked for; false when a named device/stack is not there. */
static bool select_rows(struct cli_rows *rows, const char *want, bool all)
{
	unsigned n = 0;

	for (unsigned i = 0; i < rows->n; i++) {
		const struct cli_row *r = &rows->v[i];
		if (want ? matches(r, want) : all || !idle_other(r))
			rows->v[n++] = *r;
	}
	rows->n = n;
	return !want || n;
}

/* Without root ztierd's stacks are not shown: say why, once. */
static void say_daemon(const struct cli_rows *rows)
{
	if (rows->daemon_err == -EACCES || rows->daemon_err == -EPERM)
		cli_error("ztierd's stacks need root (%s is root's): showing the kernel's "
			  "devices only", cli_socket_path());
}

struct status_opts {
	struct cli_table_opts t;
	bool json;
	const char *want;
};

/* Under the whole table (not one device's, not for scripts): zswap, which
 * decides what reaches the swap stacks at all. */
static void zswap_foot(const struct cli_rows *rows, const struct status_opts *o)
{
	char line[256];

	cli_zswap_line(&rows->zswap, line, sizeof(line));
	if (line[0] && !o->want && !o->t.raw && !o->t.noheadings)
		printf("\n%s\n", line);
}

static int status_parse(int argc, char **argv, struct status_opts *o)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' }, { "all", no_argument, NULL, 'a' },
		{ "output", required_argument, NULL, 'o' }, { "raw", no_argument, NULL, 'r' },
		{ "noheadings", no_argument, NULL, 'n' }, { "bytes", no_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' }, { 0 }
	};
	char bad[64];
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "jao:rnbh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': o->json = true; break;
		case 'a': o->t.all = true; break;
		case 'r': o->t.raw = true; break;
		case 'n': o->t.noheadings = true; break;
		case 'b': o->t.bytes = true; break;
		case 'h': status_help(); return -1;
		case 'o':
			if (cli_table_columns_parse(optarg, &o->t, bad, sizeof(bad)) == 0)
				break;
			return cli_usage_error("status", "unknown column '%s'", bad);
		default: return cli_usage_error("status", "bad option");
		}
	}
	if (argc - optind > 1)
		return cli_usage_error("status", "unexpected argument '%s'", argv[optind + 1]);
	o->want = optind < argc ? argv[optind] : NULL;
	return 0;
}

int cli_status(int argc, char **argv)
{
	struct status_opts o = { 0 };
	struct cli_rows rows;
	int r = status_parse(argc, argv, &o), err = 0;

	if (r)
		return r < 0 ? CLI_OK : r;
	cli_rows_gather(&rows);
	say_daemon(&rows);
	if (!select_rows(&rows, o.want, o.t.all)) {
		cli_error("no device or stack '%s'", o.want);
		cli_rows_free(&rows);
		return CLI_FAIL;
	}
	if (o.json)
		cli_table_json(stdout, &rows);
	else if ((err = cli_table_print(stdout, &rows, &o.t)))
		cli_error("printing the table: %s", strerror(-err));
	else
		zswap_foot(&rows, &o);
	cli_rows_free(&rows);
	return o.json || !err ? CLI_OK : CLI_FAIL;
}

int cli_metrics(int argc, char **argv)
{
	struct cli_rows rows;

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("Usage: ztierctl metrics\n\n"
		       "Every device's numbers in the Prometheus text exposition format,\n"
		       "ready for node_exporter's textfile collector.  Metrics: ztier_device_*\n"
		       "(see 'ztierctl status --help' for what each column means).\n");
		return CLI_OK;
	}
	if (argc > 1)
		return cli_usage_error("metrics", "unexpected argument '%s'", argv[1]);
	cli_rows_gather(&rows);
	cli_table_metrics(stdout, &rows);
	cli_rows_free(&rows);
	return CLI_OK;
}
