/*
 * errmsg.c — the one error-context writer of the libraries (common.h).
 *
 * Libraries never print: a failing function returns a negative errno and,
 * given a buffer, one line saying what failed ("spill /x: No such file").
 * These two helpers replace the local say/bad/fail copies each file had.
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

void zt_report_none(void *ctx, const char *file, int line, const char *msg)
{
	(void)ctx, (void)file, (void)line, (void)msg;
}
