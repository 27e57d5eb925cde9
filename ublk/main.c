/*
 * main.c — ztier-ublk: run, stop and list ztier's tiered ublk devices.
 *
 *   ztier-ublk add --policy FILE [--size SIZE] [--queues N] [--depth N]
 *                  [--spill TARGET] [--target tiered|null] [--state PATH]
 *   ztier-ublk del ID|--all
 *   ztier-ublk recover ID
 *   ztier-ublk quiesce ID
 *   ztier-ublk features
 *   ztier-ublk list [--json]
 *
 * Modelled on ublksrv's `ublk` and the kernel selftest kublk (same "dev id N:"
 * and "... daemon pid P flags F state S" lines, so their harness can drive
 * it).  `add` checks everything it can (flags, policy, sizes, the control
 * device) before anything is created, then forks the server: the child
 * detaches (setsid, stdin/stdout to /dev/null, stderr to /dev/kmsg) and
 * runs the device; the parent waits
 * on a pipe until the child reports LIVE or the error that stopped it (after
 * the child deleted whatever it had created), prints one line and exits 0 or
 * 1.  --spill TARGET is the policy's [spill] target (a path, or a name under
 * /dev/disk/by-id).  --state PATH (absolute; off by default) keeps the page
 * table, store and spill slots in a new shared file there (ublk/state.h),
 * removed when the device is, and makes the device recoverable: when its
 * server dies the kernel holds the device's I/O, and `recover ID` starts a
 * server that attaches to the state and serves it again (recover.c).
 * `quiesce ID` (6.16+, kublk's) asks such a device's server to hand it
 * over: it finishes what it holds and exits, and `recover ID` follows; a
 * live upgrade with nothing reissued.  `del` sends STOP_DEV, waits on a pidfd for the server
 * to exit, reaps what a killed server left, then DEL_DEV.  `list` asks the
 * kernel (GET_DEV_INFO) and renders each device's sections (cli_list.c).
 * Errors are one line on stderr and exit status 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "build/paths.h"        /* generated: ZT_VERSION, ZT_SYSCONFDIR, ... */
#include "policy/common/common.h"
#include "ublk/cli_list.h"
#include "ublk/ztublk.h"

#define PROG "ztier-ublk"

static int die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int die(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static void synopsis(FILE *out)
{
	fprintf(out,
		"usage: " PROG " add --policy FILE [--size SIZE] [--queues N] [--depth N]\n"
		"                  [--spill TARGET] [--target tiered|null] [--state PATH]\n"
		"       " PROG " del ID|--all\n"
		"       " PROG " recover [--check] ID\n"
		"       " PROG " quiesce ID\n"
		"       " PROG " features\n"
		"       " PROG " list [--json]\n"
		"       " PROG " --help | --version\n");
}

/* A usage error: the synopsis on stderr, status 2 (ztierctl's convention). */
static int usage(void)
{
	synopsis(stderr);
	return 2;
}

static int help(void)
{
	synopsis(stdout);
	printf("\nRun, stop and list ztier's tiered ublk block devices (/dev/ublkbN).\n\n"
	       "  add       start a server for a new device from a policy; prints its id\n"
	       "  del       stop a device and its server (--all: every ublk device)\n"
	       "  recover   serve a device again from its --state file after its server died\n"
	       "            (--check: only say whether this binary could, the server running)\n"
	       "  quiesce   ask a --state device's server to finish its I/O and exit, the device\n"
	       "            waiting for 'recover' (QUIESCE_DEV: a 6.16+ kernel)\n"
	       "  features  the UBLK_F_* features the running kernel offers\n"
	       "  list      the ublk devices the kernel has (GET_DEV_INFO), --json for scripts\n\n"
	       "ztierd(8) runs the same server for the devices of its policies; see ztier-ublk(8).\n"
	       "Exit status: 0 success, 1 failure (one line on stderr), 2 usage error.\n");
	return 0;
}

static bool is_help(const char *arg)
{
	return !strcmp(arg, "--help") || !strcmp(arg, "-h");
}

/* ---- add ------------------------------------------------------------------- */

struct report { int problems; };

static void report_problem(void *ctx, const char *file, int line, const char *msg)
{
	struct report *r = ctx;
	char where[ZT_PATH_MAX + 16];

	if (r->problems++)
		return;                       /* one clear line: the first problem */
	fprintf(stderr, PROG ": %s: %s\n", zt_where(where, sizeof(where), file, line), msg);
}

static int load_policy(const char *path, struct zt_policy *p)
{
	struct report r = { 0 };
	int ret;

	zt_policy_default(p);
	ret = zt_policy_load(p, path, report_problem, &r);
	if (ret < 0 && !r.problems)
		return die("policy %s: %s", path, strerror(-ret));
	return ret || r.problems ? 1 : 0;
}

static int parse_size(const char *s, uint64_t *out)
{
	struct zt_size z;

	if (zt_size_parse(s, &z) < 0)
		return die("bad size '%s'", s);
	*out = zt_size_resolve(&z, 0);     /* one size: one reading of RAM */
	if (!*out)
		return die("bad size '%s': must be more than 0", s);
	return 0;
}

static int parse_uint(const char *what, const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > 65535 || s[0] == '-')
		return die("bad %s '%s'", what, s);
	*out = (unsigned)v;
	return 0;
}

struct add_args {
	const char *policy, *size, *queues, *depth, *spill, *target, *state;
};

static int parse_add(int argc, char **argv, struct add_args *a)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "size",   required_argument, NULL, 's' },
		{ "queues", required_argument, NULL, 'q' },
		{ "depth",  required_argument, NULL, 'd' },
		{ "spill",  required_argument, NULL, 'S' },
		{ "target", required_argument, NULL, 't' },
		{ "state",  required_argument, NULL, 'T' },
		{ 0 }
	};
	int c;

	memset(a, 0, sizeof(*a));
	optind = 1;
	while ((c = getopt_long(argc, argv, "p:s:q:d:S:t:T:", opts, NULL)) != -1) {
		switch (c) {
		case 'p': a->policy = optarg; break;
		case 's': a->size = optarg; break;
		case 'q': a->queues = optarg; break;
		case 'd': a->depth = optarg; break;
		case 'S': a->spill = optarg; break;
		case 't': a->target = optarg; break;
		case 'T': a->state = optarg; break;
		default: return usage();
		}
	}
	if (optind != argc)
		return usage();
	if (!a->policy)
		return die("add: --policy FILE is required");
	return 0;
}

static int apply_flags(const struct add_args *a, struct ztu_config *cfg)
{
	if (a->size && parse_size(a->size, &cfg->size))
		return 1;
	if (a->queues && parse_uint("queue count", a->queues, &cfg->queues))
		return 1;
	if (a->depth && parse_uint("depth", a->depth, &cfg->depth))
		return 1;
	cfg->io_buf_bytes = ztu_io_buf_bytes(cfg->queues, cfg->depth);
	if (a->target && strcmp(a->target, "null") == 0)
		cfg->target = ZTU_TARGET_NULL;
	else if (a->target && strcmp(a->target, "tiered") != 0)
		return die("unknown target '%s' (tiered or null)", a->target);
	/* The server removes it when the device goes: no path relative to a
	 * directory that the caller may leave. */
	if (a->state && (a->state[0] != '/' || strlen(a->state) >= sizeof(cfg->state_path)))
		return die("--state: an absolute path under %zu bytes", sizeof(cfg->state_path));
	if (a->state)
		snprintf(cfg->state_path, sizeof(cfg->state_path), "%s", a->state);
	return 0;
}

static int build_config(int argc, char **argv, struct ztu_config *cfg)
{
	static struct zt_policy policy;     /* big: keep it off the stack */
	struct report r = { 0 };
	char msg[ZTU_MSG_MAX];
	struct add_args a;

	if (parse_add(argc, argv, &a) || load_policy(a.policy, &policy))
		return 1;
	/* --spill is the policy's [spill] target: validated and resolved
	 * (a bare name is under /dev/disk/by-id) like one written there. */
	if (a.spill)
		snprintf(policy.spill.target, sizeof(policy.spill.target), "%s", a.spill);
	ztu_config_from_policy(cfg, &policy);
	if (apply_flags(&a, cfg))
		return 1;
	if (cfg->target == ZTU_TARGET_TIERED && zt_policy_validate(&policy, report_problem, &r))
		return 1;
	if (ztu_config_check(cfg, msg, sizeof(msg)))
		return die("%s", msg);
	if (!ztu_control_present())
		return die("ublk_drv not loaded: " ZTU_CONTROL_PATH " missing");
	return 0;
}

static int cmd_add(int argc, char **argv)
{
	static struct ztu_config cfg;
	char msg[ZTU_MSG_MAX];
	int rfd, id, ret;
	pid_t pid;

	if (build_config(argc, argv, &cfg))
		return 1;
	pid = ztu_server_spawn(&cfg, false, &rfd);
	if (pid < 0)
		return die("fork: %s", strerror(-pid));
	/* No bound here: START_DEV waits for the kernel, and Ctrl-C works. */
	ret = ztu_server_wait_live(rfd, -1, &id, msg, sizeof(msg));
	if (ret) {
		waitpid(pid, NULL, 0);
		return die("%s", msg);
	}
	printf("dev id %d: /dev/ublkb%d\n", id, id);
	return 0;
}

/* ---- del ------------------------------------------------------------------- */

static int del_one(int id)
{
	char msg[ZTU_MSG_MAX];
	int ret = ztu_dev_del(id, msg, sizeof(msg));

	if (ret < 0)
		return die("del /dev/ublkb%d: %s", id, msg);
	return 0;
}

static int cmd_del(int argc, char **argv)
{
	int ids[256], n, rc = 0;
	unsigned id;

	if (argc != 2)
		return usage();
	if (!ztu_control_present())
		return die("ublk_drv not loaded: " ZTU_CONTROL_PATH " missing");
	if (strcmp(argv[1], "--all") != 0) {
		if (parse_uint("device id", argv[1], &id))
			return 1;
		return del_one((int)id);
	}
	n = ztu_dev_list(ids, 256);
	for (int i = 0; i < n; i++)
		rc |= del_one(ids[i]);
	return rc;
}

/* ---- features -------------------------------------------------------------- */

/* UBLK_F_* by bit number (ublk_cmd.h): what the running kernel offers,
 * whatever header this binary was built with. */
static const char *const feature_names[] = {
	"SUPPORT_ZERO_COPY", "URING_CMD_COMP_IN_TASK", "NEED_GET_DATA", "USER_RECOVERY",
	"USER_RECOVERY_REISSUE", "UNPRIVILEGED_DEV", "CMD_IOCTL_ENCODE", "USER_COPY",
	"ZONED", "USER_RECOVERY_FAIL_IO", "UPDATE_SIZE", "AUTO_BUF_REG", "QUIESCE",
	"PER_IO_DAEMON", "BUF_REG_OFF_DAEMON", "BATCH_IO", "INTEGRITY", "SAFE_STOP_DEV",
	"NO_AUTO_PART_SCAN", "SHMEM_ZC",
};

static int cmd_features(int argc, char **argv)
{
	uint64_t f = 0;
	int ret;

	if (argc != 1)
		return usage();
	if ((ret = ztu_features(&f)) < 0)
		return die("GET_FEATURES: %s", strerror(-ret));
	printf("ublk features 0x%llx\n", (unsigned long long)f);
	for (unsigned b = 0; b < 64; b++) {
		if (!(f >> b & 1))
			continue;
		if (b < sizeof(feature_names) / sizeof(feature_names[0]))
			printf("\t%s\n", feature_names[b]);
		else
			printf("\tunknown bit %u\n", b);
	}
	return 0;
}

/* ---- recover --------------------------------------------------------------- */

/* `CMD ID`: the id, with the driver there; 0, or the exit status. */
static int device_arg(int argc, char **argv, unsigned *id)
{
	if (argc != 2)
		return usage();
	if (parse_uint("device id", argv[1], id))
		return 1;
	if (!ztu_control_present())
		return die("ublk_drv not loaded: " ZTU_CONTROL_PATH " missing");
	return 0;
}

/* `recover --check ID`: could this binary take the device over (a live
 * upgrade asks this before it ends the old server)? */
static int recover_check(unsigned id)
{
	char msg[ZTU_MSG_MAX];

	if (ztu_recover_check((int)id, msg, sizeof(msg)))
		return die("recover /dev/ublkb%u: %s", id, msg);
	printf("dev id %u: /dev/ublkb%u can be recovered by this " PROG " (" ZT_VERSION ")\n",
	       id, id);
	return 0;
}

static int cmd_recover(int argc, char **argv)
{
	static struct ztu_config cfg;
	char msg[ZTU_MSG_MAX];
	bool check = argc >= 2 && strcmp(argv[1], "--check") == 0;
	unsigned id;
	int rfd, live, ret;
	pid_t pid;

	if (check) {
		argc--;
		argv++;
	}
	if ((ret = device_arg(argc, argv, &id)))
		return ret;
	if (check)
		return recover_check(id);
	if (ztu_recover_load_config((int)id, &cfg, msg, sizeof(msg)))
		return die("recover /dev/ublkb%u: %s", id, msg);
	pid = ztu_server_spawn_recover(&cfg, (int)id, &rfd);
	if (pid < 0)
		return die("fork: %s", strerror(-pid));
	ret = ztu_server_wait_live(rfd, -1, &live, msg, sizeof(msg));
	if (ret) {
		waitpid(pid, NULL, 0);
		return die("recover /dev/ublkb%u: %s", id, msg);
	}
	printf("dev id %d: /dev/ublkb%d recovered\n", live, live);
	return 0;
}

/* ---- quiesce --------------------------------------------------------------- */

#define QUIESCE_TIMEOUT_MS 10000      /* kublk's */

static long long now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static int cmd_quiesce(int argc, char **argv)
{
	char msg[ZTU_MSG_MAX];
	unsigned id;
	int pid, ret;
	long long t0;

	if ((ret = device_arg(argc, argv, &id)))
		return ret;
	t0 = now_us();
	ret = ztu_dev_quiesce((int)id, QUIESCE_TIMEOUT_MS, &pid, msg, sizeof(msg));
	if (ret < 0)
		return die("quiesce /dev/ublkb%u: %s", id, msg);
	if (!pid)
		printf("dev id %u: /dev/ublkb%u already waits for a server\n", id, id);
	else
		printf("dev id %u: /dev/ublkb%u quiesced: server pid %d exited in %lld ms\n",
		       id, id, pid, (now_us() - t0) / 1000);
	return 0;
}

/* ---- list ------------------------------------------------------------------ */

static int cmd_list(int argc, char **argv)
{
	bool json = argc == 2 && strcmp(argv[1], "--json") == 0;
	int ret;

	if (argc > 2 || (argc == 2 && !json))
		return usage();
	ret = ztu_cli_list(stdout, json);
	if (ret < 0)
		return die("list: %s", strerror(-ret));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	/* `ztier-ublk --help`, `ztier-ublk help` and `ztier-ublk CMD --help` */
	if (is_help(argv[1]) || !strcmp(argv[1], "help") || (argc > 2 && is_help(argv[2])))
		return help();
	if (strcmp(argv[1], "add") == 0)
		return cmd_add(argc - 1, argv + 1);
	if (strcmp(argv[1], "del") == 0)
		return cmd_del(argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return cmd_list(argc - 1, argv + 1);
	if (strcmp(argv[1], "recover") == 0)
		return cmd_recover(argc - 1, argv + 1);
	if (strcmp(argv[1], "quiesce") == 0)
		return cmd_quiesce(argc - 1, argv + 1);
	if (strcmp(argv[1], "features") == 0)
		return cmd_features(argc - 1, argv + 1);
	if (strcmp(argv[1], "--version") == 0) {
		puts(PROG " " ZT_VERSION);
		return 0;
	}
	return usage();
}
