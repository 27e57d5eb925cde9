/*
 * errmsg.c — the one error-context writer of the libraries (common.h).
 *
 * Libraries never print: a failing function returns a negative errno and,
 * given a buffer, one line saying what failed ("spill /x: No such file").
 * zt_fail/zt_fail_errno replace the local say/bad/fail copies each file
 * had; zt_problem the local problem() of every reader of whole files.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy/common/common.h"

int zt_fail(char *msg, size_t len, int err, const char *fmt, ...)
{
	va_list ap;

	if (!msg || !len)
		return err;
	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
	return err;
}

int zt_fail_errno(char *msg, size_t len, int err, const char *what)
{
	return zt_fail(msg, len, err, "%s: %s", what, strerror(-err));
}

void zt_vproblem(struct zt_problems *pr, const char *file, int line, const char *fmt,
		 va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (pr->report)
		pr->report(pr->ctx, file, line, msg);
	pr->count++;
}

void zt_problem(struct zt_problems *pr, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	zt_vproblem(pr, file, line, fmt, ap);
	va_end(ap);
}
