/*
 * t_blk.c — opening a block tier's target (ublk/tier_blk.c): a target in
 * /dev names a device and is never created, whatever the policy's size (an
 * absent one is "not present", ENOENT; a regular file there is refused); a
 * file target elsewhere is created at its size.  Runs before any ublk call,
 * so on the host; /dev is written only by the checks that it is not (and a
 * regular file there, removed again, when root may).  A spill file is the
 * server's alone: created 0600 with O_EXCL, never through a symlink, an
 * existing one only if private (issue #13's review).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/tap.h"
#include "ublk/tier.h"
#include "ublk/ztublk.h"

static char dir[] = "/tmp/t_blk.XXXXXX";

/* Opening path with size must fail with want, and leave nothing at path
 * nor at created (where path leads: the same file through a symlink). */
static void refused(const char *path, const char *created, uint64_t size, int want,
		    const char *say, const char *what)
{
	struct ztu_blk *b = NULL;
	char msg[512] = "";
	struct stat st;
	int ret = ztu_blk_open(&b, ZT_TIER_SPILL, path, size, msg, sizeof(msg));

	if (ret == 0)
		ztu_blk_close(b);
	is_int(ret, want, what);
	if (!ok(strstr(msg, path) && strstr(msg, say), "%s: says '%s'", what, say))
		tap_diag("  got: %s", msg);
	bool made = stat(created, &st) == 0 && S_ISREG(st.st_mode);
	ok(!made || want == -ENOTBLK, "%s: nothing created at %s", what, created);
	if (made && want != -ENOTBLK)
		unlink(created);
}

static void test_is_device(void)
{
	char link[128];

	ok(ztu_path_is_device("/dev/nvme0n1"), "/dev/nvme0n1 is a device");
	ok(ztu_path_is_device("/dev/disk/by-id/nvme-x"), "a by-id path is a device");
	ok(ztu_path_is_device("//dev//sdb"), "//dev//sdb is a device");
	ok(!ztu_path_is_device("/devices/x"), "/devices/x is not");
	ok(!ztu_path_is_device("/var/lib/ztier/spill.img"), "a file elsewhere is not");
	ok(!ztu_path_is_device("spill.img"), "a relative file here is not");
	snprintf(link, sizeof(link), "%s/devlink/x", dir);
	ok(!ztu_path_is_device(link), "a directory not (yet) there is judged by name");
}

static void test_device_targets(void)
{
	char path[128], link[128], via[160];

	snprintf(path, sizeof(path), "/dev/ztier-t-blk-%d", (int)getpid());
	refused(path, path, 1 << 20, -ENOENT, "not present", "a /dev target that is absent");
	refused("/dev/disk/by-id/ztier-t-nonexistent", "/dev/disk/by-id/ztier-t-nonexistent",
		64 << 20, -ENOENT, "not present", "a by-id target that is not plugged in");

	snprintf(link, sizeof(link), "%s/devlink", dir);
	snprintf(via, sizeof(via), "%s/ztier-t-blk-%d", link, (int)getpid());
	if (symlink("/dev", link) == 0)
		refused(via, path, 1 << 20, -ENOENT, "not present",
			"a target whose directory leads into /dev");

	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0) {
		tap_diag("cannot create %s (%s): regular file in /dev not tried", path,
			 strerror(errno));
		return;
	}
	close(fd);
	refused(path, path, 1 << 20, -ENOTBLK, "Block device required",
		"a regular file in /dev");
	struct stat st;
	ok(stat(path, &st) == 0 && st.st_size == 0, "a regular file in /dev: not grown");
	unlink(path);
}

static void test_file_targets(void)
{
	struct ztu_blk *b = NULL;
	char path[128], msg[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/spill.img", dir);
	is_int(ztu_blk_open(&b, ZT_TIER_SPILL, path, 1 << 20, msg, sizeof(msg)), 0,
	       "a file target with a size is created");
	ok(stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 1 << 20, "at its size");
	is_int(ztu_blk_total(b), 256, "256 slots of 4 KiB");
	ztu_blk_close(b);
	unlink(path);

	snprintf(path, sizeof(path), "%s/nosize.img", dir);
	refused(path, path, 0, -ENOENT, "No such file", "a file target without a size is not created");
}

/* Open path (size 1 MiB) and expect want, with say in the message. */
static void open_is(const char *path, int want, const char *say, const char *what)
{
	struct ztu_blk *b = NULL;
	char msg[512] = "";
	int ret = ztu_blk_open(&b, ZT_TIER_SPILL, path, 1 << 20, msg, sizeof(msg));

	if (ret == 0)
		ztu_blk_close(b);
	is_int(ret, want, what);
	if (say && !ok(strstr(msg, say) != NULL, "%s: says '%s'", what, say))
		tap_diag("  got: %s", msg);
}

static void make_file(const char *path, mode_t mode)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, mode);

	if (fd >= 0) {
		fchmod(fd, mode);
		close(fd);
	}
}

static void test_private_files(void)
{
	char path[128], other[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s/new.img", dir);
	open_is(path, 0, NULL, "a new spill file is created");
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "mode 0600");
	open_is(path, 0, NULL, "our own 0600 file is used again");
	snprintf(other, sizeof(other), "%s/victim", dir);
	make_file(other, 0600);
	unlink(path);
	if (symlink(other, path) == 0) {
		open_is(path, -ELOOP, "symbolic link", "a symlink is not followed");
		ok(stat(other, &st) == 0 && st.st_size == 0, "its target is left as it was");
		unlink(path);
	}
	make_file(path, 0644);
	open_is(path, -EPERM, "mode 0600", "an existing file readable by others is refused");
	chmod(path, 0600);
	unlink(other);
	if (link(path, other) == 0)
		open_is(path, -EPERM, "one link", "a file with a second hard link is refused");
	unlink(other);
	if (geteuid() == 0 && chown(path, 65534, (gid_t)-1) == 0)
		open_is(path, -EPERM, "user's", "a file of another user is refused");
	unlink(path);
}

int main(void)
{
	if (!mkdtemp(dir))
		tap_skip_all("cannot create a temporary directory");
	test_is_device();
	test_device_targets();
	test_file_targets();
	test_private_files();
	char link[128];
	snprintf(link, sizeof(link), "%s/devlink", dir);
	unlink(link);
	rmdir(dir);
	return tap_done();
}
