/*
 * t_request.c — ztierd's control request parser (manager/daemon_request.c):
 * every verb, argument rules, garbage, control bytes, oversized input.
 */
#include "tests/tap.h"
#include "manager/daemon_request.c"

static int parse(const char *s, struct zd_request *r, const char **why)
{
	return zd_request_parse(s, strlen(s), r, why);
}

int main(void)
{
	struct zd_request r;
	const char *why = NULL;

	is_int(parse("status\n", &r, &why), 0, "status parses");
	is_int(r.verb, ZD_REQ_STATUS, "verb status");
	is_str(r.arg, "", "no argument");
	is_int(parse("down db\n", &r, &why), 0, "down NAME parses");
	is_int(r.verb, ZD_REQ_DOWN, "verb down");
	is_str(r.arg, "db", "argument db");
	is_int(parse("down\n", &r, &why), 0, "down without a name (all)");
	is_int(parse("detach /dev/disk/by-id/nvme-x\r\n", &r, &why), 0, "CRLF accepted");
	is_str(r.arg, "/dev/disk/by-id/nvme-x", "path argument without CR");
	is_int(parse("reload\n", &r, &why), 0, "reload");
	is_int(parse("ping\n", &r, &why), 0, "ping");

	is_int(parse("attach\n", &r, &why), -EINVAL, "attach needs a device");
	is_int(parse("status now\n", &r, &why), -EINVAL, "status takes no argument");
	is_int(parse("add /etc/ztier/my policy.conf\n", &r, &why), 0,
	       "a path with a space is one argument");
	is_str(r.arg, "/etc/ztier/my policy.conf", "the whole rest of the line");
	is_int(parse("down \n", &r, &why), -EINVAL, "empty argument refused");
	is_int(parse("frobnicate\n", &r, &why), -EINVAL, "unknown verb");
	ok(why && strstr(why, "unknown"), "reason says unknown: %s", why);
	is_int(parse("statusx\n", &r, &why), -EINVAL, "verb prefix is not a verb");
	is_int(parse("\n", &r, &why), -EINVAL, "empty line");
	is_int(parse("status", &r, &why), -EINVAL, "no newline");
	is_int(parse("status\nstatus\n", &r, &why), -EINVAL, "two requests refused");
	is_int(parse("down d\x01\n", &r, &why), -EINVAL, "control byte refused");
	is_int(parse("down \xc3\xa9\n", &r, &why), -EINVAL, "non-ASCII refused");
	is_int(zd_request_parse("st\0tus\n", 7, &r, &why), -EINVAL, "NUL byte refused");

	char big[ZD_REQUEST_MAX + 10];
	memset(big, 'a', sizeof(big));
	is_int(zd_request_parse(big, sizeof(big), &r, &why), -EMSGSIZE, "oversized: EMSGSIZE");
	ok(why && strstr(why, "too long"), "reason says too long");
	memcpy(big, "add /", 5);
	big[ZD_REQUEST_MAX - 1] = '\n';
	is_int(zd_request_parse(big, ZD_REQUEST_MAX, &r, &why), 0,
	       "a line of exactly the maximum is accepted");
	is_int(strlen(r.arg), ZD_REQUEST_MAX - 5, "its argument is whole");
	is_str(zd_verb_name(ZD_REQ_DETACH), "detach", "verb names");
	return tap_done();
}
