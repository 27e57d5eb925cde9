/*
 * t_tools.c — where ztierd looks for mkswap and mkfs, and how long it
 * waits for them (manager/daemon_tool.c):
 * a fixed PATH whatever it inherited (issue #13's review: a root shell's
 * PATH may lead through a user's directory), ZTIERD_TOOL_PATH on purpose;
 * and zd_run finds its program there and only there.  The mount point of an
 * [fs] stack is never a symlink: mounted through its O_PATH fd, unmounted
 * with UMOUNT_NOFOLLOW (a tmpfs stands in for the new file system, as root).
 */
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tests/tap.h"
#include "manager/daemon_log.c"
#include "manager/daemon_swap.c"
#include "manager/daemon_tool.c"

static void test_mount_point(const char *dir)
{
	char mnt[64], link[64], path[64];
	struct stat a, b;

	snprintf(mnt, sizeof(mnt), "%s/mnt", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	ok(symlink(mnt, link) == 0, "a symlink to the mount point");
	int fd = mount_point(link);
	ok(fd == -ELOOP || fd == -ENOTDIR, "a symlink is no mount point (%d)", fd);
	fd = mount_point(mnt);
	ok(fd >= 0, "the mount point is created and opened");
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (geteuid() != 0 || mount("zt-tools", path, "tmpfs", 0, "size=64k") < 0) {
		ok(1, "# SKIP mounting a tmpfs needs root");
	} else {
		ok(stat(mnt, &a) == 0 && stat(dir, &b) == 0 && a.st_dev != b.st_dev,
		   "mounting through /proc/self/fd/N mounts on the directory");
		is_int(zd_umount(link), -EINVAL, "umount through the symlink: refused");
		is_int(zd_umount(mnt), 0, "umount of the directory itself");
	}
	if (fd >= 0)
		close(fd);
	unlink(link);
	rmdir(mnt);
}

/* A script in dir named name, body after the #! line. */
static void script(const char *dir, const char *name, const char *body)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w"))) {
		fprintf(f, "#!/bin/sh\n%s\n", body);
		fclose(f);
		chmod(path, 0755);
	}
}

static long long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000LL + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* The bounded wait: a tool that hangs is killed at the bound, its stderr
 * kept; a child it left behind holding stderr does not hold ztierd. */
static void test_bounded(const char *dir)
{
	char *hang[] = { "zt-hang", NULL }, *quick[] = { "zt-fail", NULL };
	char *left[] = { "zt-leaves", NULL };
	char err[64];
	struct timespec t0;

	script(dir, "zt-hang", "echo 'stuck on /dev/x' >&2; exec /bin/sleep 30");
	script(dir, "zt-fail", "echo 'first line' >&2; echo second >&2; exit 3");
	script(dir, "zt-leaves", "/bin/sleep 30 & echo 'gone' >&2; exit 0");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	is_int(zd_run_for(hang, 300, err, sizeof(err)), -ETIMEDOUT, "a hung tool: -ETIMEDOUT");
	ok(ms_since(&t0) < 5000, "... at the bound, killed (%lld ms)", ms_since(&t0));
	is_str(err, "stuck on /dev/x", "... and what it said is kept");
	is_int(zd_run_for(quick, 5000, err, sizeof(err)), -EIO, "a failing tool: -EIO");
	is_str(err, "first line", "... its first line of stderr");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	is_int(zd_run_for(left, 5000, err, sizeof(err)), 0, "a tool that left a child running: 0");
	ok(ms_since(&t0) < 4000, "... at its own exit, not its child's (%lld ms)", ms_since(&t0));
	is_str(err, "gone", "... with its stderr");
	is_int(zd_run_for(hang, 300, NULL, 0), -ETIMEDOUT, "stderr not read: bounded too");
}

/* A child handed over as stuck is reaped by the loop's call once it ends,
 * and not before (its exit status stays to be taken until then). */
static void test_abandoned(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		usleep(200 * 1000);
		_exit(0);
	}
	zd_child_abandon(pid);
	zd_child_reap_abandoned();
	ok(kill(pid, 0) == 0, "an abandoned child still running is left alone");
	for (int i = 0; i < 100 && kill(pid, 0) == 0; i++) {   /* a zombie answers too */
		usleep(20 * 1000);
		zd_child_reap_abandoned();
	}
	errno = 0;
	ok(kill(pid, 0) < 0 && errno == ESRCH && waitpid(pid, NULL, WNOHANG) < 0,
	   "once it exits the loop's call reaps it (no zombie left)");
}

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
	test_bounded(dir);
	for (const char *const *n = (const char *const[]){ "zt-hang", "zt-fail", "zt-leaves", NULL };
	     *n; n++) {
		snprintf(tool, sizeof(tool), "%s/%s", dir, *n);
		unlink(tool);
	}
	test_mount_point(dir);
	test_abandoned();
	rmdir(dir);
	return tap_done();
}
