/*
 * t_tools.c — where ztierd looks for mkswap and mkfs (manager/daemon_swap.c):
 * a fixed PATH whatever it inherited (issue #13's review: a root shell's
 * PATH may lead through a user's directory), ZTIERD_TOOL_PATH on purpose;
 * and zd_run finds its program there and only there.  The mount point of an
 * [fs] stack is never a symlink: mounted through its O_PATH fd, unmounted
 * with UMOUNT_NOFOLLOW (a tmpfs stands in for the new file system, as root).
 */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/tap.h"
#include "manager/daemon_log.c"
#include "manager/daemon_swap.c"

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
	test_mount_point(dir);
	rmdir(dir);
	return tap_done();
}
