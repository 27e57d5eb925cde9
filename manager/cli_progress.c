/*
 * cli_progress.c — what a long request is doing while ztierctl waits.
 *
 * `ztierctl down` of a large swap waits for a swapoff that moves every page
 * back to RAM: minutes.  While it waits, every CLI_TICK_MS, ztierctl asks
 * ztierd for its status (which ztierd answers at once, whatever job runs):
 * that it answers within the timeout is the sign that the job is still
 * going, and on a terminal the stack it is taking down ("stopping") shows
 * the pages its swap still holds, measured in /proc/swaps (Used, KiB).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "manager/cli.h"
#include "manager/cli_status.h"

static bool shown;

/* KiB of swap in use on dev, or -1 when /proc/swaps does not list it. */
static long long swap_used_kib(const char *dev)
{
	char name[4096];
	long long size, used, found = -1;
	FILE *f = fopen("/proc/swaps", "re");

	if (!f)
		return -1;
	if (fscanf(f, "%*[^\n]\n") == EOF) {     /* the header */
		fclose(f);
		return -1;
	}
	while (found < 0 && fscanf(f, "%4095s %*s %lld %lld %*[^\n]\n", name, &size, &used) == 3)
		if (!strcmp(name, dev))
			found = used;
	fclose(f);
	return found;
}

/* One status line of ztierd (name, kind, state, device, ...): the stack a
 * job takes down or builds, as one line on the terminal. */
static bool show_line(char *line)
{
	char *f[4], *save = NULL;
	int n = 0;

	for (char *p = strtok_r(line, "\t", &save); p && n < 4; p = strtok_r(NULL, "\t", &save))
		f[n++] = p;
	if (n < 4 || (strcmp(f[2], "stopping") && strcmp(f[2], "starting")))
		return false;
	long long kib = strcmp(f[2], "stopping") ? -1 : swap_used_kib(f[3]);
	if (kib >= 0)
		fprintf(stderr, "\r\033[Kztierctl: %s: swapoff %s: %lld pages left", f[0], f[3],
			kib * 1024 / sysconf(_SC_PAGESIZE));
	else
		fprintf(stderr, "\r\033[Kztierctl: %s: %s %s", f[0], f[2], f[3]);
	return true;
}

int cli_progress_tick(void)
{
	char *reply = NULL, *save = NULL;
	int err = cli_daemon_request("status\n", &reply);

	if (err == -ETIMEDOUT || err == -ECONNREFUSED || err == -ENOENT) {
		free(reply);
		return err;             /* said (timeout), or ztierd is gone */
	}
	if (!err && isatty(STDERR_FILENO)) {
		bool any = false;
		for (char *l = strtok_r(reply, "\n", &save); l && !any; l = strtok_r(NULL, "\n", &save))
			any = show_line(l);
		if (!any && shown)
			fputs("\r\033[K", stderr);
		shown = any || shown;
	}
	free(reply);
	return 0;
}

void cli_progress_end(void)
{
	if (shown)
		fputs("\r\033[K", stderr);
	shown = false;
}
