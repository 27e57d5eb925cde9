/*
 * cli_status.c — `ztierctl status [--json] [--all]` and `ztierctl metrics`.
 *
 * Both print the rows of cli_rows.c through the column table of cli_table.c:
 * status as a zramctl-like table or JSON, metrics in the Prometheus text
 * format (for node_exporter's textfile collector:
 * `ztierctl metrics > /var/lib/node_exporter/ztier.prom.$$ && mv ...`).
 * Neither needs ztierd; when it runs, its stacks add state and reasons.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "manager/cli.h"
#include "manager/cli_status.h"

static int status_help(void)
{
	printf("Usage: ztierctl status [--json] [--all]\n\n"
	       "One row per zram and ztier device (and per ztierd stack without one).\n"
	       "Works without ztierd; with it, STACK, STATE and REASON come from it.\n\n"
	       "  -j, --json   every column as JSON: {\"devices\":[{...}]}\n"
	       "  -a, --all    every column in the table\n"
	       "  -h, --help   show this help\n\nColumns:\n");
	cli_table_columns_help(stdout);
	return CLI_OK;
}

int cli_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "all", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	bool json = false, all = false;
	struct cli_rows rows;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "jah", opts, NULL)) != -1) {
		if (c == 'j')
			json = true;
		else if (c == 'a')
			all = true;
		else if (c == 'h')
			return status_help();
		else
			return cli_usage_error("status", "bad option");
	}
	if (optind != argc)
		return cli_usage_error("status", "unexpected argument '%s'", argv[optind]);
	cli_rows_gather(&rows);
	if (json)
		cli_table_json(stdout, &rows);
	else
		cli_table_print(stdout, &rows, all);
	cli_rows_free(&rows);
	return CLI_OK;
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
