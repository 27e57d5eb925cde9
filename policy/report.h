/*
 * report.h — internal: the default problem reporter of the policy parser
 * and validator ("FILE:LINE: message" on stderr, "FILE: message" when the
 * problem has no line).
 */
#ifndef ZT_POLICY_REPORT_H
#define ZT_POLICY_REPORT_H

void zt_policy_print_report(void *ctx, const char *file, int line, const char *msg);

#endif
