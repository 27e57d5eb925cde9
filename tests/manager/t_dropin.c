/*
 * t_dropin.c — ztierd's drop-in directories (manager/daemon_dropin.c):
 * lexical order across directories, a later directory overriding a name,
 * a symlink to /dev/null masking it, suffix filter, missing directories.
 * The source is compiled into this test (ztierd's files are not a library).
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/tap.h"
#include "manager/daemon_dropin.c"

static char root[64];

static void put_file(const char *rel, const char *text)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	FILE *f = fopen(p, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void mask(const char *rel)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	if (symlink("/dev/null", p))
		perror(p);
}

static void cleanup(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd)) { /* best effort */ }
}

int main(void)
{
	struct zd_filelist l;
	char usr[128], etc[128], run[128], none[128];

	snprintf(root, sizeof(root), "/tmp/t_dropin.XXXXXX");
	if (!mkdtemp(root))
		tap_skip_all("mkdtemp failed");
	snprintf(usr, sizeof(usr), "%s/usr", root);
	snprintf(etc, sizeof(etc), "%s/etc", root);
	snprintf(run, sizeof(run), "%s/run", root);
	snprintf(none, sizeof(none), "%s/none", root);
	mkdir(usr, 0755);
	mkdir(etc, 0755);
	mkdir(run, 0755);
	put_file("usr/50-default.conf", "usr");
	put_file("usr/10-db.conf", "usr");
	put_file("usr/90-build.conf", "usr");
	put_file("usr/README", "not a drop-in");
	put_file("usr/.hidden.conf", "hidden");
	put_file("etc/50-default.conf", "etc");     /* overrides usr's */
	put_file("etc/20-web.conf", "etc");
	mask("etc/90-build.conf");             /* masks usr's     */
	put_file("run/10-db.conf", "run");          /* overrides usr's */
	mask("run/30-gone.conf");              /* masks nothing: absent elsewhere */

	const char *dirs[] = { usr, none, etc, run };
	int err = zd_dropins_collect(dirs, 4, ".conf", &l);
	is_int(err, 0, "collect succeeds with a missing directory");
	is_int(l.n, 3, "three names survive (README, hidden, masked left out)");
	if (l.n == 3) {
		is_str(l.v[0].name, "10-db.conf", "lexical order: 10-db first");
		is_str(l.v[1].name, "20-web.conf", "then 20-web");
		is_str(l.v[2].name, "50-default.conf", "then 50-default");
		char want[256];
		snprintf(want, sizeof(want), "%s/10-db.conf", run);
		is_str(l.v[0].path, want, "/run overrides /usr for 10-db");
		snprintf(want, sizeof(want), "%s/50-default.conf", etc);
		is_str(l.v[2].path, want, "/etc overrides /usr for 50-default");
	}
	zd_filelist_free(&l);

	char p[256];
	snprintf(p, sizeof(p), "%s/90-build.conf", etc);
	ok(zd_is_masked(p), "a symlink to /dev/null is a mask");
	snprintf(p, sizeof(p), "%s/20-web.conf", etc);
	ok(!zd_is_masked(p), "a regular file is not");

	/* masking the winner of a higher directory: /run masks /etc's 20-web */
	mask("run/20-web.conf");
	err = zd_dropins_collect(dirs, 4, ".conf", &l);
	is_int(l.n, 2, "a mask in a later directory removes the name");
	zd_filelist_free(&l);

	/* an unreadable directory is an error, not silently empty */
	const char *bad[] = { "/proc/self/fd/999999/x" };
	err = zd_dropins_collect(bad, 1, ".conf", &l);
	is_int(err, 0, "ENOENT/ENOTDIR directory counts as empty");
	is_int(l.n, 0, "and yields nothing");
	zd_filelist_free(&l);

	cleanup();
	return tap_done();
}
