/*
 * ztierctl.c — entry point of ztierctl: global options and the command table.
 *
 * Every subcommand is one row of `commands` (name, synopsis, summary, run);
 * `ztierctl --help` is generated from the table, so status, up, down, add,
 * del, attach, detach, reload and metrics each slot in as one row and one
 * cli_<name>.c file.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build/paths.h"        /* generated: ZT_VERSION, ZT_SYSCONFDIR, ... */
#include "manager/cli.h"
#include "policy/common/common.h"

static const struct cli_command commands[] = {
	{ "classify", "[--json] [--policy FILE] (FILE... | --pid PID)",
	  "classify memory pages and show where the policy would put them",
	  cli_classify },
	{ "policy", "check [--quiet] FILE...",
	  "validate policy files", cli_policy },
	{ "config", "check [--quiet] [FILE]",
	  "check ztier.conf and the policies as ztierd reads them", cli_config },
	{ "status", "[-o COLS] [--raw] [--noheadings] [--bytes] [--all] [--json] [DEVICE|STACK]", "show every zram and ztier device (works without ztierd)",
	  cli_status },
	{ "metrics", "", "print device metrics in the Prometheus text format", cli_metrics },
	{ "up", "[NAME]", "build the stacks that are down (ztierd)", cli_up },
	{ "down", "[NAME]", "tear stacks down in reverse order (ztierd)", cli_down },
	{ "add", "POLICY-FILE", "build one more stack from a policy file (ztierd)", cli_add },
	{ "del", "NAME", "tear a stack down and forget it (ztierd)", cli_del },
	{ "attach", "DEVICE", "attach a declared spill device (ztierd)", cli_attach },
	{ "detach", "DEVICE", "move pages off a spill device and detach it (ztierd)", cli_detach },
	{ "restart", "NAME", "a new server takes over a stack's device (ztierd)", cli_restart },
	{ "reload", "", "re-read the configuration (ztierd)", cli_reload },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* "ztierctl: MESSAGE" without a newline; a file name or a policy's value in
 * it may hold control bytes, shown escaped (zt_printable). */
static void verror(const char *fmt, va_list ap)
{
	char line[PATH_MAX + 512], safe[4 * sizeof(line)];

	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "ztierctl: %s", zt_printable(safe, sizeof(safe), line, "\t"));
}

void cli_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'ztierctl %s%s--help'.\n", cmd ? cmd : "", cmd ? " " : "");
	return CLI_USAGE;
}

static int usage(FILE *out)
{
	fprintf(out, "Usage: ztierctl COMMAND [ARGS...]\n"
		"       ztierctl --help | --version\n"
		"       ztierctl --timeout SEC COMMAND ...   (ztierd's answer; default 5)\n\n"
		"ztier's control tool: memory tiering with zram and ublk swap.\n\n"
		"Commands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nRun 'ztierctl COMMAND --help' for a command's options.\n"
		"Exit status: 0 success, 1 failure, 2 usage error.\n");
	return out == stdout ? CLI_OK : CLI_USAGE;
}

static const struct cli_command *find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* --timeout SEC (before the command) or ZTIER_TIMEOUT: how long ztierd
 * may take to answer (cli_daemon.c).  Shifts argv past the option. */
static int timeout_option(int *argc, char ***argv)
{
	const char *env = getenv("ZTIER_TIMEOUT");

	if (env && *env && cli_daemon_set_timeout(env))
		return cli_usage_error(NULL, "ZTIER_TIMEOUT: not a number of seconds: '%s'", env);
	if (*argc < 2 || strcmp((*argv)[1], "--timeout"))
		return CLI_OK;
	if (*argc < 3 || cli_daemon_set_timeout((*argv)[2]))
		return cli_usage_error(NULL, "--timeout needs a number of seconds > 0");
	*argc -= 2;
	*argv += 2;
	return CLI_OK;
}

static int run(const struct cli_command *c, int argc, char **argv)
{
	int rc = c->run(argc, argv);

	return rc == CLI_OK && cli_daemon_unanswered() ? CLI_FAIL : rc;
}

int main(int argc, char **argv)
{
	int rc = timeout_option(&argc, &argv);

	if (rc)
		return rc;
	if (argc < 2)
		return usage(stderr);
	const char *arg = argv[1];
	if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
		return usage(stdout);
	if (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0) {
		printf("ztierctl %s\n", ZT_VERSION);
		return CLI_OK;
	}
	if (strcmp(arg, "help") == 0) {
		if (argc < 3 || !strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))
			return usage(stdout);
		const struct cli_command *c = find_command(argv[2]);
		if (!c)
			return cli_usage_error(NULL, "unknown command '%s'", argv[2]);
		char *help_argv[] = { argv[2], "--help", NULL };
		return c->run(2, help_argv);
	}
	const struct cli_command *c = find_command(arg);
	if (!c)
		return cli_usage_error(NULL, "unknown command '%s'", arg);
	return run(c, argc - 1, argv + 1);
}
