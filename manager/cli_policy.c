/*
 * cli_policy.c — `ztierctl policy check FILE...` and the active policy.
 *
 * `policy` has its own small table of verbs (only `check` today), so later
 * verbs (show, list) are one row each.  check reads each file on top of the
 * built-in defaults, exactly as the daemon would read a lone file (a drop-in
 * or a policy with drop-ins: the whole policy, cli_config.c), and
 * prints every problem as FILE:LINE: message (from the policy library).
 */
#include <errno.h>
#include <getopt.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build/paths.h"        /* generated: ZT_VERSION, ZT_SYSCONFDIR, ... */
#include "policy/common/common.h"
#include "manager/cli.h"

static int check_usage(FILE *out)
{
	fprintf(out, "Usage: ztierctl policy check [--quiet] FILE...\n\n"
		"Validate policy files (see ztier.policy(5)).  Every problem is\n"
		"printed as FILE:LINE: message on stderr; what is valid but not\n"
		"safe (e.g. as swap) as FILE:LINE: warning: message.\n\n"
		"  -q, --quiet   print nothing for valid files\n"
		"  -h, --help    show this help\n\n"
		"Exit status: 0 all files valid, 1 a file is invalid or unreadable,\n"
		"2 usage error.\n");
	return out == stdout ? CLI_OK : CLI_USAGE;
}

/* The edge: every problem as "FILE:LINE: message" on stderr. */
static void print_problem(void *ctx, const char *file, int line, const char *msg)
{
	char where[ZT_PATH_MAX + 16], text[ZT_PATH_MAX + 600], safe[4 * sizeof(text)];

	(void)ctx;
	snprintf(text, sizeof(text), "%s: %s", zt_where(where, sizeof(where), file, line), msg);
	fprintf(stderr, "%s\n", zt_printable(safe, sizeof(safe), text, "\t"));
}

/* A lone file: load on top of the defaults, then the cross-key checks. */
static int lone_check(const char *path, bool quiet)
{
	struct zt_policy *p = malloc(sizeof(*p));

	if (!p) {
		cli_error("%s: %s", path, strerror(ENOMEM));
		return -1;
	}
	zt_policy_default(p);
	int n = zt_policy_load(p, path, print_problem, NULL);
	if (n >= 0)
		n += zt_policy_validate(p, print_problem, NULL);
	if (n == 0)
		zt_policy_warnings(p, print_problem, NULL);
	if (n == 0 && !quiet) {
		char line[ZT_PATH_MAX + 100], safe[4 * sizeof(line)];
		snprintf(line, sizeof(line), "%s: valid (policy %s)", path, p->name);
		printf("%s\n", zt_printable(safe, sizeof(safe), line, ""));
	}
	free(p);
	return n == 0 ? 0 : -1;
}

/* A drop-in, or a policy with drop-ins, is checked as the whole policy
 * ztierd reads (a drop-in alone need not be a valid policy); a lone file
 * as it is. */
static int check_one(const char *path, bool quiet)
{
	int whole = cli_policy_check_dropins(path, quiet);

	return whole <= 0 ? whole : lone_check(path, quiet);
}

static int policy_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	bool quiet = false;
	int c, bad = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		if (c == 'q')
			quiet = true;
		else if (c == 'h')
			return check_usage(stdout);
		else
			return cli_usage_error("policy check", "bad option");
	}
	if (optind == argc)
		return cli_usage_error("policy check", "no policy file given");
	for (int i = optind; i < argc; i++)
		bad += check_one(argv[i], quiet) != 0;
	return bad ? CLI_FAIL : CLI_OK;
}

static const struct cli_command verbs[] = {
	{ "check", "[--quiet] FILE...", "validate policy files", policy_check },
};
#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

static int policy_usage(FILE *out)
{
	fprintf(out, "Usage: ztierctl policy VERB [ARGS...]\n\nVerbs:\n");
	for (size_t i = 0; i < NVERBS; i++)
		fprintf(out, "  %-6s %-20s %s\n", verbs[i].name, verbs[i].synopsis,
			verbs[i].summary);
	return out == stdout ? CLI_OK : CLI_USAGE;
}

int cli_policy(int argc, char **argv)
{
	if (argc < 2)
		return cli_usage_error("policy", "missing verb (check)");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return policy_usage(stdout);
	for (size_t i = 0; i < NVERBS; i++)
		if (strcmp(argv[1], verbs[i].name) == 0)
			return verbs[i].run(argc - 1, argv + 1);
	return cli_usage_error("policy", "unknown verb '%s'", argv[1]);
}

/* ---- the active policy -------------------------------------------------------- */

static int load_checked(struct zt_policy *p, const char *path)
{
	int n = zt_policy_load(p, path, print_problem, NULL);
	return n == 0 ? 0 : -1;
}

/* PATH, then its drop-ins PATH.d/ *.conf in name order, as ztierd reads a
 * policy.  Returns 0 or -1 (problems printed). */
static int load_with_dropins(struct zt_policy *p, const char *path,
			     char *origin, size_t len)
{
	char pattern[ZT_PATH_MAX + 16];
	glob_t g;
	int bad = load_checked(p, path);

	snprintf(origin, len, "%s", path);
	snprintf(pattern, sizeof(pattern), "%s.d/*.conf", path);
	if (glob(pattern, 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++)
			bad |= load_checked(p, g.gl_pathv[i]);
		snprintf(origin, len, "%s + %zu drop-in%s", path, g.gl_pathc,
			 g.gl_pathc == 1 ? "" : "s");
		globfree(&g);
	}
	return bad;
}

/*
 * The active policy is the one named "default", from the policy directory
 * with the highest precedence that has one (/run, then SYSCONFDIR, then
 * DATADIR, as ztierd orders them; $ZTIER_POLICY_DIR alone when set), with
 * its drop-ins; else the built-in policy.
 */
int cli_policy_active(struct zt_policy *p, const char *file,
		      char *origin, size_t len)
{
	const char *env = getenv("ZTIER_POLICY_DIR");
	const char *dirs[] = {
		env ? env : ZT_RUNSTATEDIR "/ztier/policy.d",
		env ? NULL : ZT_SYSCONFDIR "/ztier/policy.d",
		env ? NULL : ZT_DATADIR "/ztier/policy.d",
	};
	char path[ZT_PATH_MAX];
	int bad = 0;

	zt_policy_default(p);
	snprintf(origin, len, "built-in");
	if (file) {
		snprintf(origin, len, "%s", file);
		bad = load_checked(p, file);
	} else {
		for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && dirs[i]; i++) {
			snprintf(path, sizeof(path), "%s/default.conf", dirs[i]);
			if (access(path, F_OK) == 0) {
				bad = load_with_dropins(p, path, origin, len);
				break;
			}
		}
	}
	return bad || zt_policy_validate(p, print_problem, NULL) ? -1 : 0;
}
