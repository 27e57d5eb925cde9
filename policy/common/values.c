/*
 * values.c — one parser per kind of value that policy files and ztier.conf
 * share: yes/no switches, swap priorities, memory limits.
 *
 * Policy files (policy_keys.c) and ztier.conf's [zram-swap] sections
 * (manager/daemon_ztierconf.c) both call these, so both accept the same words and
 * say the same thing about a bad one.  Each returns 0, or -1 with msg filled.
 * The two checks of names and spill targets live here too, so that
 * `ztierctl policy check`, the policy keys and ztierd apply the same one.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/common/common.h"

#define FAIL(...) zt_fail(msg, len, -1, __VA_ARGS__)

bool zt_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n < ZT_NAME_MAX && strspn(s, "abcdefghijklmnopqrstuvwxyz"
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

/* A list of what may go in, not of what may not: a quote, a backslash or a
 * newline would end or bend the rule, a glob character (* ? [ and |,
 * udev's "or") would match other devices, '$' and '%' are udev
 * substitutions, a space splits a SYSTEMD_WANTS list; by-id names and
 * paths need none of them. */
bool zt_rule_safe(const char *s)
{
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("/._-+:@,=", *s))
			return false;
	return true;
}

int zt_value_bool(const char *key, const char *v, bool *out, char *msg, size_t len)
{
	static const char *const yes[] = { "yes", "true", "on", "1", NULL };
	static const char *const no[] = { "no", "false", "off", "0", NULL };

	for (int i = 0; yes[i]; i++) {
		if (strcmp(v, yes[i]) == 0 || strcmp(v, no[i]) == 0) {
			*out = strcmp(v, yes[i]) == 0;
			return 0;
		}
	}
	return FAIL("bad value '%s' for %s: expected yes or no", v, key);
}

int zt_value_priority(const char *key, const char *v, int *out, char *msg, size_t len)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (end == v || *end || errno)
		return FAIL("bad value '%s' for %s: expected an integer", v, key);
	if (n < -1 || n > 32767)
		return FAIL("%s %s out of range (-1 to 32767)", key, v);
	*out = (int)n;
	return 0;
}

/* "none" (no limit) or a size; a fraction of RAM above all of it cannot
 * limit anything, so it is out of range. */
int zt_value_mem_limit(const char *key, const char *v, struct zt_size *out,
		       char *msg, size_t len)
{
	struct zt_size s;
	char why[200];
	int err;

	if (strcmp(v, "none") == 0) {
		*out = (struct zt_size){ 0 };
		return 0;
	}
	if ((err = zt_size_parse_msg(v, &s, why, sizeof(why))) == -ERANGE)
		return FAIL("%s %s", key, why);
	if (err)
		return FAIL("bad size '%s' for %s: %s", v, key, why);
	if (s.ram_den && s.ram_num > s.ram_den)
		return FAIL("%s %s out of range (at most ram)", key, v);
	*out = s;
	return 0;
}
