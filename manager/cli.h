/*
 * cli.h — internal header of ztierctl: its command table and shared helpers.
 *
 * ztierctl is a table of subcommands (ztierctl.c); each entry names a
 * run(argc, argv) function that gets argv starting at its own name, parses
 * its own options and returns the exit status.  A new subcommand is one
 * cli_*.c file plus one table row.  This is the only layer that turns
 * negative errnos into sentences: one line on stderr, "ztierctl: ...".
 *
 * Exit status: 0 success, 1 failure (bad input, invalid policy), 2 usage.
 */
#ifndef ZT_MANAGER_CLI_H
#define ZT_MANAGER_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "policy/policy.h"

#define CLI_OK    0
#define CLI_FAIL  1
#define CLI_USAGE 2

struct cli_command {
	const char *name;
	const char *synopsis;          /* arguments, for the usage line  */
	const char *summary;           /* one line for ztierctl --help   */
	int (*run)(int argc, char **argv);
};

int cli_classify(int argc, char **argv);          /* cli_classify.c         */
int cli_policy(int argc, char **argv);            /* cli_policy.c           */
int cli_config(int argc, char **argv);            /* cli_config.c           */
/* policy check of a drop-in (DIR/NAME.conf.d/x.conf) or of a policy with
 * drop-ins: the whole policy as ztierd reads it.  0 valid, -1 rejected
 * (problems printed), 1 a lone file (nothing to add). */
int cli_policy_check_dropins(const char *path, bool quiet);
int cli_status(int argc, char **argv);            /* cli_status.c           */
int cli_metrics(int argc, char **argv);
/* cli_daemon.c: requests to ztierd */
int cli_up(int argc, char **argv);
int cli_down(int argc, char **argv);
int cli_add(int argc, char **argv);
int cli_del(int argc, char **argv);
int cli_attach(int argc, char **argv);
int cli_detach(int argc, char **argv);
int cli_reload(int argc, char **argv);
int cli_restart(int argc, char **argv);

/* cli_daemon.c: how long a request ztierd answers at once may take
 * (status, ping; for a job such as down, how long each check that ztierd
 * still answers may take): `ztierctl --timeout SEC`, ZTIER_TIMEOUT. */
#define CLI_TIMEOUT_DEFAULT_MS 5000
int cli_daemon_set_timeout(const char *sec);      /* 0, -EINVAL */
/* Did ztierd leave a request unanswered (already said on stderr)? */
bool cli_daemon_unanswered(void);
/* cli_progress.c: while a job runs, on a terminal, the pages its swapoff
 * has left; 0 to go on waiting, -ETIMEDOUT when ztierd stopped answering. */
int cli_progress_tick(void);
void cli_progress_end(void);

/* "ztierctl: <message>\n" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "ztierctl: <message>\nTry 'ztierctl <cmd> --help'.\n"; returns CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The policy classify reports against: FILE when given, else the active
 * policy: default.conf and its drop-ins default.conf.d/ *.conf from the
 * first policy directory that has one (/run/ztier/policy.d, SYSCONFDIR/
 * ztier/policy.d, DATADIR/ztier/policy.d, as ztierd reads them; only
 * $ZTIER_POLICY_DIR when set), else the built-in one.  Problems are printed
 * as FILE:LINE: message; returns 0, or -1 when the policy is unusable.
 * *origin gets a short description ("built-in", a path). */
int cli_policy_active(struct zt_policy *p, const char *file,
		      char *origin, size_t len);

/* ---- page sources (cli_pages.c) ------------------------------------------ */

typedef void (*cli_page_fn)(void *ctx, const void *page);

/* Every page of a regular file, as long as it was when opened; a short tail
 * is zero-padded.  0, or -errno with msg ("not a regular file (a FIFO)"). */
int cli_pages_file(const char *path, cli_page_fn fn, void *ctx, char *msg, size_t len);

struct cli_pid_stats {
	uint64_t regions;        /* anonymous regions read                 */
	uint64_t skipped;        /* regions or runs that could not be read */
	uint64_t swapped;        /* pages in swap: counted, not read       */
	bool pagemap;            /* resident pages chosen via pagemap      */
};

/* The resident anonymous pages of a process (/proc/PID/maps + mem +
 * pagemap).  Unreadable regions are skipped and counted.  0 or -errno
 * (-ESRCH: no such process, -EACCES/-EPERM: not allowed). */
int cli_pages_pid(pid_t pid, cli_page_fn fn, void *ctx, struct cli_pid_stats *st);

#endif
