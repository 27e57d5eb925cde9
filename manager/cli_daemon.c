/*
 * cli_daemon.c — ztierctl's requests to ztierd: up, down, add, del, attach,
 * detach, reload.
 *
 * Each is one line on the control socket (ZTIER_SOCKET, default
 * /run/ztier/ztierd.sock; the protocol is in ztierd(8)); the daemon answers
 * "ok" + output or "error REASON", which becomes ztierctl's one-line error
 * and exit status 1.  The verbs share one table: name, argument, help.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "build/paths.h"        /* generated: ZT_VERSION, ZT_SYSCONFDIR, ... */
#include "manager/cli.h"
#include "manager/cli_status.h"
#include "policy/common/common.h"

#define REPLY_MAX (1u << 20)

const char *cli_socket_path(void)
{
	const char *p = getenv("ZTIER_SOCKET");

	return p && p[0] ? p : ZT_RUNSTATEDIR "/ztier/ztierd.sock";
}

static int connect_daemon(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", cli_socket_path());
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static int read_reply(int fd, char **out)
{
	size_t cap = 4096, got = 0;
	char *buf = malloc(cap);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (got + 1 == cap) {
			char *nb = cap >= REPLY_MAX ? NULL : realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				return -EMSGSIZE;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + got, cap - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	return 0;
}

/* The reply as ztierctl prints it: names from file names may hold control
 * bytes (an escape sequence for the terminal), shown escaped. */
static char *printable_dup(const char *s)
{
	size_t len = 4 * strlen(s) + 1;
	char *out = malloc(len);

	return out ? (char *)zt_printable(out, len, s, "\t\n") : NULL;
}

int cli_daemon_request(const char *request, char **reply)
{
	char *buf = NULL;
	int fd = connect_daemon(), err;

	*reply = NULL;
	if (fd < 0)
		return fd;
	size_t len = strlen(request);
	err = write(fd, request, len) == (ssize_t)len ? 0 : -errno;
	if (!err)
		err = read_reply(fd, &buf);
	close(fd);
	if (err)
		return err;
	char *nl = strchr(buf, '\n');
	const char *rest = nl ? nl + 1 : "";
	bool ok = !strncmp(buf, "ok", 2) && (buf[2] == '\n' || !buf[2]);
	if (!ok && nl)
		*nl = '\0';
	*reply = printable_dup(ok ? rest : !strncmp(buf, "error ", 6) ? buf + 6 : buf);
	free(buf);
	return !*reply ? -ENOMEM : ok ? 0 : -EREMOTEIO;
}

/* ---- the verbs -------------------------------------------------------------------- */

enum arg { NONE, OPTIONAL, REQUIRED, FILE_ARG };

struct verb {
	const char *name, *argname, *help;
	enum arg arg;
};

static const struct verb verbs[] = {
	{ "up", "[NAME]", "Build every stack that is down (or the one named).", OPTIONAL },
	{ "down", "[NAME]", "Tear down every stack in reverse order (or the one named):\n"
	  "swapoff first, which moves its pages back to RAM; refused when there is no room.",
	  OPTIONAL },
	{ "add", "POLICY-FILE", "Build one more stack from a policy file (kept until 'del').",
	  FILE_ARG },
	{ "del", "NAME", "Tear a stack down and forget it.", REQUIRED },
	{ "attach", "DEVICE", "Attach a spill device a policy declares (udev normally does).",
	  REQUIRED },
	{ "detach", "DEVICE", "Detach a spill device: its stack's pages are moved off first\n"
	  "(swapoff); refused with the reason when they cannot be.", REQUIRED },
	{ "reload", "", "Re-read ztier.conf and the policies (as SIGHUP does): live changes\n"
	  "are applied, the rest is logged as needing 'down NAME; up NAME'.", NONE },
};

static const struct verb *find_verb(const char *name)
{
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(verbs[i].name, name))
			return &verbs[i];
	return NULL;
}

static int verb_help(const struct verb *v)
{
	printf("Usage: ztierctl %s %s\n\n%s\n\nAsks ztierd over %s (root only).\n"
	       "Exit status: 0 success, 1 failure (one line on stderr), 2 usage error.\n",
	       v->name, v->argname, v->help, cli_socket_path());
	return CLI_OK;
}

static const char *why_no_daemon(int err)
{
	switch (err) {
	case -ENOENT:
	case -ECONNREFUSED:
		return "ztierd is not running";
	case -EACCES:
	case -EPERM:
		return "permission denied (root only)";
	default:
		return strerror(-err);
	}
}

static int run_verb(int argc, char **argv)
{
	const struct verb *v = find_verb(argv[0]);
	char line[PATH_MAX + 32], abs[PATH_MAX], *reply = NULL;
	const char *arg = argc > 1 ? argv[1] : NULL;

	if (arg && (!strcmp(arg, "--help") || !strcmp(arg, "-h")))
		return verb_help(v);
	if (argc > 2 || (arg && arg[0] == '-'))
		return cli_usage_error(v->name, "unexpected argument '%s'", argv[argc > 2 ? 2 : 1]);
	if (!arg && (v->arg == REQUIRED || v->arg == FILE_ARG))
		return cli_usage_error(v->name, "missing %s", v->argname);
	if (arg && v->arg == NONE)
		return cli_usage_error(v->name, "unexpected argument '%s'", arg);
	if (arg && v->arg == FILE_ARG) {
		if (!realpath(arg, abs)) {
			cli_error("%s: %s", arg, strerror(errno));
			return CLI_FAIL;
		}
		arg = abs;
	}
	snprintf(line, sizeof(line), "%s%s%s\n", v->name, arg ? " " : "", arg ? arg : "");
	int err = cli_daemon_request(line, &reply);
	if (err == -EREMOTEIO)
		cli_error("%s: %s", v->name, reply);
	else if (err)
		cli_error("%s: %s: %s", v->name, cli_socket_path(), why_no_daemon(err));
	else
		fputs(reply, stdout);
	free(reply);
	return err ? CLI_FAIL : CLI_OK;
}

int cli_up(int argc, char **argv) { return run_verb(argc, argv); }
int cli_down(int argc, char **argv) { return run_verb(argc, argv); }
int cli_add(int argc, char **argv) { return run_verb(argc, argv); }
int cli_del(int argc, char **argv) { return run_verb(argc, argv); }
int cli_attach(int argc, char **argv) { return run_verb(argc, argv); }
int cli_detach(int argc, char **argv) { return run_verb(argc, argv); }
int cli_reload(int argc, char **argv) { return run_verb(argc, argv); }
