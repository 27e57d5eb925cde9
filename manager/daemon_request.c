/*
 * daemon_request.c — parse one control request line.
 *
 * The protocol is text, one request per connection: "VERB [ARG]\n", at most
 * ZD_REQUEST_MAX bytes including the newline, printable ASCII only.  ARG is
 * the rest of the line after the first space, spaces included: a path may
 * hold them (`ztierctl add "/etc/ztier/my policy.conf"`).  The reply
 * is "ok" or "error REASON" on the first line, then the verb's output.  Text
 * keeps it debuggable with socat; the bound and the character check mean a
 * client cannot make the daemon allocate or print anything odd.  Pure
 * function: unit-tested on the host (tests/manager/t_request.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "manager/daemon.h"

enum arg_rule { ARG_NONE, ARG_OPTIONAL, ARG_REQUIRED };

static const struct {
	const char *name;
	enum arg_rule arg;
} verbs[ZD_REQ_COUNT] = {
	[ZD_REQ_STATUS] = { "status", ARG_NONE },
	[ZD_REQ_UP]     = { "up", ARG_OPTIONAL },
	[ZD_REQ_DOWN]   = { "down", ARG_OPTIONAL },
	[ZD_REQ_ADD]    = { "add", ARG_REQUIRED },
	[ZD_REQ_DEL]    = { "del", ARG_REQUIRED },
	[ZD_REQ_ATTACH] = { "attach", ARG_REQUIRED },
	[ZD_REQ_DETACH] = { "detach", ARG_REQUIRED },
	[ZD_REQ_RELOAD] = { "reload", ARG_NONE },
	[ZD_REQ_PING]   = { "ping", ARG_NONE },
	[ZD_REQ_RESTART] = { "restart", ARG_REQUIRED },
};

const char *zd_verb_name(enum zd_verb v)
{
	return v < ZD_REQ_COUNT ? verbs[v].name : "?";
}

static int fail(const char **why, const char *reason, int err)
{
	*why = reason;
	return err;
}

/* Split "verb arg" at the first space into r; the line has no newline any
 * more. */
static int split(const char *line, size_t n, struct zd_request *r, const char **why)
{
	const char *sp = memchr(line, ' ', n);
	size_t vlen = sp ? (size_t)(sp - line) : n;
	size_t alen = sp ? n - vlen - 1 : 0;

	for (int v = 0; v < ZD_REQ_COUNT; v++) {
		if (strlen(verbs[v].name) != vlen || memcmp(verbs[v].name, line, vlen))
			continue;
		r->verb = (enum zd_verb)v;
		if (sp && alen == 0)
			return fail(why, "expected an argument after the space", -EINVAL);
		if (alen && verbs[v].arg == ARG_NONE)
			return fail(why, "this request takes no argument", -EINVAL);
		if (!alen && verbs[v].arg == ARG_REQUIRED)
			return fail(why, "this request needs an argument", -EINVAL);
		if (alen >= sizeof(r->arg))
			return fail(why, "argument too long", -EMSGSIZE);
		memcpy(r->arg, sp ? sp + 1 : "", alen);
		r->arg[alen] = '\0';
		return 0;
	}
	return fail(why, "unknown request", -EINVAL);
}

int zd_request_parse(const char *buf, size_t len, struct zd_request *r, const char **why)
{
	const char *nl = memchr(buf, '\n', len < ZD_REQUEST_MAX ? len : ZD_REQUEST_MAX);

	memset(r, 0, sizeof(*r));
	if (!nl)
		return fail(why, len >= ZD_REQUEST_MAX ? "request too long"
						       : "request not terminated by a newline",
			    len >= ZD_REQUEST_MAX ? -EMSGSIZE : -EINVAL);
	size_t n = (size_t)(nl - buf);
	if (nl + 1 != buf + len)
		return fail(why, "one request per connection", -EINVAL);
	if (n && buf[n - 1] == '\r')
		n--;
	if (n == 0)
		return fail(why, "empty request", -EINVAL);
	for (size_t i = 0; i < n; i++)
		if (buf[i] < 0x20 || buf[i] > 0x7e)
			return fail(why, "request has control or non-ASCII bytes", -EINVAL);
	return split(buf, n, r, why);
}
