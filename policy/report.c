/*
 * report.c — the default reporter for policy problems (see report.h).
 */
#include <stdio.h>

#include "policy/report.h"

void zt_policy_print_report(void *ctx, const char *file, int line, const char *msg)
{
	if (line > 0)
		fprintf(stderr, "%s:%d: %s\n", file, line, msg);
	else
		fprintf(stderr, "%s: %s\n", file, msg);
}
