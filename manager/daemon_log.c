/*
 * daemon_log.c — ztierd's one-line-per-event log on stderr.
 *
 * Under systemd stderr is the journal (JOURNAL_STREAM is set): each line then
 * starts with "<N>", the syslog priority sd-daemon(3) defines, so journalctl
 * shows errors as errors.  In a terminal lines read "ztierd: message".
 * A line is one line of printable text: control bytes from a file name or
 * a policy (an escape sequence, a newline that would forge a second line)
 * are written as \xNN.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manager/daemon.h"
#include "policy/common/common.h"

/* Atomic: the job thread may change it (reload) while the loop logs. */
static _Atomic int max_level = ZD_INFO;
static const char *tag = "ztierd";

void zd_log_set_tag(const char *t)
{
	tag = t ? t : "";
}

void zd_log_set_level(enum zd_level l)
{
	max_level = (int)l;
}

int zd_level_parse(const char *s)
{
	static const struct { const char *name; enum zd_level l; } names[] = {
		{ "error", ZD_ERR }, { "warning", ZD_WARN }, { "warn", ZD_WARN },
		{ "info", ZD_INFO }, { "debug", ZD_DEBUG },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i].name) == 0)
			return (int)names[i].l;
	return -EINVAL;
}

void zd_log(enum zd_level l, const char *fmt, ...)
{
	char line[1024], safe[4 * sizeof(line)];
	va_list ap;

	if ((int)l > max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	zt_printable(safe, sizeof(safe), line, "\t");
	if (getenv("JOURNAL_STREAM"))
		fprintf(stderr, "<%d>%s\n", (int)l, safe);
	else
		fprintf(stderr, "%s%s%s\n", tag, tag[0] ? ": " : "", safe);
}

void zd_log_problem(void *ctx, const char *file, int line, const char *msg)
{
	char where[ZT_PATH_MAX + 16];

	(void)ctx;
	zd_log(ZD_ERR, "%s: %s", zt_where(where, sizeof(where), file, line), msg);
}
