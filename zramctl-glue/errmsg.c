/*
 * errmsg.c — one line per failure: device, attribute, value, errno, hint.
 *
 * The library never prints; it records the context of a failure in
 * struct zg_err and this function formats it for the CLI or daemon log:
 *   zram3: writing 'foo' to comp_algorithm: Invalid argument (kernel offers: lzo [lz4])
 *   zram-control: reading hot_add: Permission denied
 */
#include "zramctl-glue/zramctl_glue.h"

#include <stdio.h>
#include <string.h>

const char *zg_strerror(const struct zg_err *e, char *buf, size_t len)
{
	char who[32];
	if (e->id >= 0)
		snprintf(who, sizeof(who), "zram%d", e->id);
	else
		snprintf(who, sizeof(who), "zram-control");

	if (e->err == 0) {
		snprintf(buf, len, "%s: no error", who);
		return buf;
	}
	int n;
	if (!e->attr[0])
		n = snprintf(buf, len, "%s: %s", who, strerror(-e->err));
	else if (e->wrote)
		n = snprintf(buf, len, "%s: writing '%s' to %s: %s", who, e->value,
			     e->attr, strerror(-e->err));
	else
		n = snprintf(buf, len, "%s: reading %s: %s", who, e->attr,
			     strerror(-e->err));
	if (e->hint[0] && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, " (%s)", e->hint);
	return buf;
}
