/*
 * t_tools.c — where ztierd looks for mkswap and mkfs (manager/daemon_swap.c):
 * a fixed PATH whatever it inherited (issue #13's review: a root shell's
 * PATH may lead through a user's directory), ZTIERD_TOOL_PATH on purpose;
 * and zd_run finds its program there and only there.
 */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/tap.h"
#include "manager/daemon_log.c"
#include "manager/daemon_swap.c"

int main(void)
{
	char dir[] = "/tmp/t_tools.XXXXXX", tool[64];

	if (!mkdtemp(dir))
		tap_skip_all("cannot create a temporary directory");
	snprintf(tool, sizeof(tool), "%s/zt-tool", dir);
	FILE *f = fopen(tool, "w");
	if (f) {
		fputs("#!/bin/sh\nexit 0\n", f);
		fclose(f);
		chmod(tool, 0755);
	}
	char *argv[] = { "zt-tool", NULL };

	setenv("PATH", dir, 1);
	unsetenv("ZTIERD_TOOL_PATH");
	is_int(zd_run(argv), 0, "an inherited PATH finds the planted tool before");
	zd_tool_path();
	is_str(getenv("PATH"), "/usr/sbin:/usr/bin:/sbin:/bin", "the inherited PATH is replaced");
	is_int(zd_run(argv), -ENOENT, "the planted tool is not run any more");
	setenv("ZTIERD_TOOL_PATH", dir, 1);
	zd_tool_path();
	is_int(zd_run(argv), 0, "ZTIERD_TOOL_PATH is where tools are looked for");
	unlink(tool);
	rmdir(dir);
	return tap_done();
}
