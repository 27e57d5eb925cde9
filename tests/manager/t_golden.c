/*
 * t_golden.c — golden cases for ztierd's configuration loading, as a normal
 * user (zram-generator's tests/NN-name/ is the model).
 *
 * Each tests/manager/golden/NN-name/ holds a system tree root/ (etc/ztier/
 * ztier.conf, usr/local/share/ztier/policy.d/, run/ztier/policy.d/, ...),
 * optionally a second tree reload/ and the expected output.  One loop runs
 * them all: ztierd's own loading code (daemon_load.c and below, compiled in)
 * reads root/ as at start, the stacks it wants are printed as `ztierctl
 * status` lines with the log lines before them; with reload/, every stack
 * is then taken as built and the configuration is reloaded from reload/,
 * and printed again.  Paths are printed without the case's directory.
 * A file ram (MemTotal in bytes) makes the case's machine that large and
 * adds each stack's --dry-run line (sizes resolved) after it.
 * ZT_GOLDEN_UPDATE=1 writes the output as the new expected file.
 */
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/tap.h"
#include "manager/daemon_log.c"
#include "manager/daemon_ztierconf.c"
#include "manager/daemon_dropin.c"
#include "manager/daemon_load.c"
#include "manager/daemon_maint_live.c"
#include "manager/daemon_stack.c"
#include "manager/daemon_maint.c"
#include "manager/daemon_maint_pass.c"
#include "manager/daemon_maint_show.c"
#include "manager/daemon_maint_tier.c"
#include "manager/daemon_ublk.c"
#include "manager/daemon_swap.c"
#include "manager/daemon_tool.c"
#include "manager/daemon_watch.c"
#include "manager/daemon_udev.c"
#include "manager/daemon_recover.c"
#include "manager/daemon_supervise.c"
#include "manager/daemon_restart.c"
#include "manager/daemon_adopt.c"
#include "manager/daemon_adopt_fs.c"
#include "manager/daemon_plan.c"
#include "manager/daemon_snap.c"
#include "manager/daemon_zswap.c"
#include "manager/daemon_notify.c"

#define GOLDEN_DIR "tests/manager/golden"
#define OUT_MAX    (64u << 10)

/* Every occurrence of cut in s removed, in place. */
static void strip(char *s, const char *cut)
{
	size_t n = strlen(cut);
	char *p;

	while (n && (p = strstr(s, cut)))
		memmove(p, p + n, strlen(p + n) + 1);
}

/* The stacks as status lines, a ztier stack's policy files after it; with
 * the case's RAM given, what --dry-run would print for it too. */
static void dump(FILE *out, const struct zd_daemon *d)
{
	char line[ZT_PATH_MAX + 1024];

	for (unsigned i = 0; i < d->nstacks; i++) {
		const struct zd_stack *s = &d->stacks[i];
		zd_stack_status(s, line, sizeof(line));
		fprintf(out, "%s%s\n", line, s->removed ? "\t(removed)" : "");
		for (unsigned f = 0; s->policy && f < s->policy->nfiles; f++)
			fprintf(out, "\tpolicy %s: %s\n", s->policy->name, s->policy->files[f]);
		if (d->ram) {
			zd_plan_line(s, d->ram, line, sizeof(line));
			fprintf(out, "\tplan %s\n", line);
		}
	}
}

/* NN-name/ram: MemTotal in bytes for the case (host-memory-limit, sizes). */
static uint64_t case_ram(const char *dir)
{
	char path[600];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/ram", dir);
	if ((f = fopen(path, "r"))) {
		if (fscanf(f, "%llu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

/* One reading of the configuration; the log (stderr) and stacks to out. */
static void step(FILE *out, struct zd_daemon *d, const char *name, bool reload)
{
	int saved, r;

	fprintf(out, "# %s\n", name);
	saved = tap_stderr_to(out);
	r = zd_config_read(d, reload);
	tap_stderr_restore(saved);
	if (r < 0)
		fprintf(out, "# not starting\n");
	else
		fprintf(out, "# %d problem(s)\n", r);
	dump(out, d);
}

/* As if ztierd had built what it could: what a reload must respect. */
static void mark_built(struct zd_daemon *d)
{
	for (unsigned i = 0; i < d->nstacks; i++)
		if (d->stacks[i].state == ZD_ST_DOWN)
			d->stacks[i].state = ZD_ST_UP;
}

static void run_case(const char *dir, char *got, size_t len)
{
	static struct zd_daemon d;
	char root[512], again[512];
	struct stat st;
	FILE *out = tmpfile();
	size_t n;

	memset(&d, 0, sizeof(d));
	d.opt_level = -1;
	snprintf(root, sizeof(root), "%s/root", dir);
	snprintf(again, sizeof(again), "%s/reload", dir);
	d.root = root;
	d.ram = case_ram(dir);
	setvbuf(out, NULL, _IONBF, 0);          /* its lines and the log's in order */
	step(out, &d, "load", false);
	if (stat(again, &st) == 0) {
		mark_built(&d);
		d.root = again;
		step(out, &d, "reload", true);
	}
	for (unsigned i = 0; i < d.nstacks; i++)
		zd_stack_free(&d.stacks[i]);
	rewind(out);
	n = fread(got, 1, len - 1, out);
	got[n] = '\0';
	fclose(out);
	strip(got, root);
	strip(got, again);
}

/* The expected file's text into buf ("" when there is none). */
static void read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, len - 1, f) : 0;

	buf[n] = '\0';
	if (f)
		fclose(f);
}

static void check_case(const char *name)
{
	static char got[OUT_MAX], want[OUT_MAX];
	char dir[300], path[320];
	FILE *f;

	snprintf(dir, sizeof(dir), GOLDEN_DIR "/%s", name);
	snprintf(path, sizeof(path), "%s/expected", dir);
	run_case(dir, got, sizeof(got));
	if (getenv("ZT_GOLDEN_UPDATE") && (f = fopen(path, "w"))) {
		fputs(got, f);
		fclose(f);
	}
	read_file(path, want, sizeof(want));
	if (!ok(strcmp(got, want) == 0, "%s", name))
		tap_diag("got:\n%s", got);
}

int main(void)
{
	struct dirent **list;
	int n;

	unsetenv("JOURNAL_STREAM");
	if (strcmp(ZT_SYSCONFDIR, "/etc") || strcmp(ZT_DATADIR, "/usr/local/share"))
		tap_skip_all("the golden trees are laid out for SYSCONFDIR=/etc, PREFIX=/usr/local");
	n = scandir(GOLDEN_DIR, &list, NULL, alphasort);
	if (n < 0)
		tap_skip_all("run from the repository root (" GOLDEN_DIR " not found)");
	for (int i = 0; i < n; i++) {
		if (list[i]->d_name[0] != '.')
			check_case(list[i]->d_name);
		free(list[i]);
	}
	free(list);
	return tap_done();
}
