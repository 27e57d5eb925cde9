/*
 * cli_config.c — `ztierctl config check [FILE]`, and the drop-in side of
 * `ztierctl policy check`.
 *
 * Both run ztierd's own loading code (daemon_ztierconf.c, daemon_dropin.c,
 * daemon_load.c, daemon_plan.c are linked into ztierctl), so what they
 * accept is what the daemon accepts: ztier.conf, every policy of the policy
 * directories with its drop-ins from all of them, /usr < /etc < /run, masks.
 * Problems are printed as FILE:LINE: message; nothing is built, no root.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/paths.h"        /* generated: ZT_VERSION, ZT_SYSCONFDIR, ... */
#include "manager/cli.h"
#include "manager/daemon.h"
#include "policy/common/common.h"

static int config_usage(FILE *out)
{
	fprintf(out, "Usage: ztierctl config check [--quiet] [--policy-dir DIR] [FILE]\n\n"
		"Read ztier.conf (FILE, else " ZT_SYSCONFDIR "/ztier/ztier.conf, else the shipped\n"
		"one) and every policy with its drop-ins exactly as ztierd does at start,\n"
		"print every problem as FILE:LINE: message on stderr and, on stdout, the\n"
		"stacks ztierd would build with their sizes resolved for this machine\n"
		"(what 'ztierd --dry-run' prints).  Builds nothing; needs no root.\n\n"
		"  -q, --quiet           print only problems\n"
		"  -d, --policy-dir DIR  read policies from DIR only (as ztierd -d)\n"
		"  -h, --help            show this help\n\n"
		"Exit status: 0 valid, 1 a problem ztierd would log or refuse, 2 usage.\n");
	return out == stdout ? CLI_OK : CLI_USAGE;
}

static int config_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "policy-dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	static struct zd_daemon d;
	bool quiet = false;
	int c;

	memset(&d, 0, sizeof(d));
	d.opt_level = -1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "qd:h", opts, NULL)) != -1) {
		if (c == 'q')
			quiet = true;
		else if (c == 'd')
			d.opt_policy_dir = optarg;
		else if (c == 'h')
			return config_usage(stdout);
		else
			return cli_usage_error("config check", "bad option");
	}
	if (argc - optind > 1)
		return cli_usage_error("config check", "unexpected argument '%s'", argv[optind + 1]);
	d.conf_path = optind < argc ? argv[optind] : NULL;
	zd_log_set_tag("");                /* FILE:LINE: message, as policy check */
	return zd_dry_run(&d, quiet ? NULL : stdout) ? CLI_FAIL : CLI_OK;
}

int cli_config(int argc, char **argv)
{
	if (argc < 2)
		return cli_usage_error("config", "missing verb (check)");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return config_usage(stdout);
	if (!strcmp(argv[1], "check"))
		return config_check(argc - 1, argv + 1);
	return cli_usage_error("config", "unknown verb '%s'", argv[1]);
}

/* ---- a policy's drop-ins, as ztierd reads them ---------------------------- */

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* DIR/NAME.conf.d/x.conf (a drop-in) or DIR/NAME.conf with NAME.conf.d/
 * beside it: DIR and NAME.  False for a lone policy file. */
static bool dropin_context(const char *path, char *pdir, char *name, bool *dropin)
{
	char buf[ZT_PATH_MAX], d[ZT_PATH_MAX];
	char *slash;

	snprintf(buf, sizeof(buf), "%s", path);
	slash = strrchr(buf, '/');
	const char *base = slash ? slash + 1 : buf;
	snprintf(d, sizeof(d), "%s", slash ? (*slash = '\0', buf) : ".");
	if ((*dropin = ends_with(d, ".conf.d"))) {
		slash = strrchr(d, '/');
		snprintf(name, ZT_NAME_MAX, "%.*s", (int)strlen(slash ? slash + 1 : d) - 7,
			 slash ? slash + 1 : d);
		snprintf(pdir, ZT_PATH_MAX, "%s", slash ? (*slash = '\0', d) : ".");
		return true;
	}
	char sub[ZT_PATH_MAX + 16];
	snprintf(sub, sizeof(sub), "%.4000s/%.80s.d", d, base);
	if (!ends_with(base, ".conf") || !is_dir(sub))
		return false;
	snprintf(name, ZT_NAME_MAX, "%.*s", (int)strlen(base) - 5, base);
	snprintf(pdir, ZT_PATH_MAX, "%s", slash ? buf : ".");
	return true;
}

/* The daemon's policy directories, with pdir last (highest) if not one. */
static void policy_dirs(struct zd_conf *c, const char *pdir)
{
	char a[ZT_PATH_MAX], b[ZT_PATH_MAX];

	zd_conf_default(c);
	for (unsigned i = 0; i < c->npolicy_dirs; i++)
		if (realpath(c->policy_dirs[i], a) && realpath(pdir, b) && !strcmp(a, b))
			return;
	snprintf(c->policy_dirs[c->npolicy_dirs++], ZT_PATH_MAX, "%s", pdir);
}

int cli_policy_check_dropins(const char *path, bool quiet)
{
	char pdir[ZT_PATH_MAX], name[ZT_NAME_MAX], main[ZT_PATH_MAX + ZT_NAME_MAX + 8];
	char fname[ZT_NAME_MAX + 8];
	static struct zd_conf c;
	bool dropin;

	if (!dropin_context(path, pdir, name, &dropin))
		return 1;
	if (dropin && !ends_with(path, ".conf")) {
		cli_error("%s: not read by ztierd (a drop-in's name ends in .conf)", path);
		return -1;
	}
	policy_dirs(&c, pdir);
	for (unsigned i = c.npolicy_dirs; i-- > 0;) {        /* the winning NAME.conf */
		snprintf(main, sizeof(main), "%s/%s.conf", c.policy_dirs[i], name);
		if (access(main, F_OK) == 0)
			break;
	}
	zd_log_set_tag("");
	snprintf(fname, sizeof(fname), "%s.conf", name);      /* as daemon_load.c names it */
	struct zt_policy *p = zd_policy_load(&c, main, fname);
	if (!p) {
		cli_error("%s: ztierd would reject policy %s (%s and its drop-ins)", path, name, main);
		return -1;
	}
	if (!quiet) {
		char line[3 * ZT_PATH_MAX], safe[4 * sizeof(line)];
		snprintf(line, sizeof(line), "%s: valid with %s and its drop-ins (policy %s)", path,
			 main, p->name);
		printf("%s\n", zt_printable(safe, sizeof(safe), line, ""));
	}
	free(p);
	return 0;
}
