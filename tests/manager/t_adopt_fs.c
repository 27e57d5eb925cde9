/*
 * t_adopt_fs.c — what a restarted ztierd sees of an [fs] stack an earlier
 * one left (manager/daemon_adopt_fs.c): the source mounted on the policy's
 * mount point, read from mountinfo files written here (escaped paths,
 * stacked mounts, lines of any length), and the refusal it makes of a ublk
 * device found there: one log line naming the device and the way out,
 * never -ENOENT (which would build a second device).  The live-server half
 * (ID.stats + the kernel's device) needs ublk: tests/vm/manager.sh.
 */
#include <stdlib.h>
#include <unistd.h>

#include "tests/tap.h"
#include "manager/daemon_log.c"
#include "manager/daemon_adopt_fs.c"

static const char *write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
	return path;
}

static void test_mount_source(const char *mi)
{
	char src[64] = "", big[9000];

	write_file(mi,
		"22 1 0:21 / /proc rw,nosuid shared:12 - proc proc rw\n"
		"90 1 259:3 / /mnt/kept rw,relatime shared:40 - ext4 /dev/ublkb3 rw\n"
		"91 1 0:50 / /mnt/with\\040space rw - tmpfs a\\134b rw\n"
		"92 1 0:51 / /mnt/stacked rw - tmpfs under rw\n"
		"93 92 259:4 / /mnt/stacked rw - ext4 /dev/ublkb12 rw\n"
		"garbage without a separator\n");
	is_int(mount_source(mi, "/mnt/kept", src, sizeof(src)), 0, "a mount point is found");
	is_str(src, "/dev/ublkb3", "its source");
	is_int(mount_source(mi, "/mnt/with space", src, sizeof(src)), 0, "an escaped mount point");
	is_str(src, "a\\b", "an escaped source");
	is_int(mount_source(mi, "/mnt/stacked", src, sizeof(src)), 0, "stacked mounts");
	is_str(src, "/dev/ublkb12", "the topmost one counts");
	is_int(mount_source(mi, "/mnt/kep", src, sizeof(src)), -ENOENT, "a prefix is not a match");
	is_int(mount_source(mi, "/mnt", src, sizeof(src)), -ENOENT, "nothing on /mnt");
	memset(big, 'o', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	FILE *f = fopen(mi, "w");
	if (f) {
		fprintf(f, "94 1 0:52 / /mnt/long rw,%s - ext4 /dev/ublkb5 rw\n", big);
		fclose(f);
	}
	is_int(mount_source(mi, "/mnt/long", src, sizeof(src)), 0, "a line of 9000 bytes");
	is_str(src, "/dev/ublkb5", "its source");
	is_int(mount_source("/nonexistent/mountinfo", "/mnt", src, sizeof(src)), -ENOENT,
	       "no mountinfo: -ENOENT");
}

static void test_ublk_id(void)
{
	is_int(ublk_id_of("/dev/ublkb0"), 0, "/dev/ublkb0 is device 0");
	is_int(ublk_id_of("/dev/ublkb17"), 17, "/dev/ublkb17 is device 17");
	is_int(ublk_id_of("/dev/ublkb"), -1, "no number: not ours");
	is_int(ublk_id_of("/dev/ublkb1p1"), -1, "a partition: not ours");
	is_int(ublk_id_of("/dev/sda1"), -1, "a disk: not ours");
	is_int(ublk_id_of("/dev/ublkc3"), -1, "the char device: not a disk");
}

static void test_refusal(const char *mi, const char *log)
{
	static struct zt_policy p;
	static struct zd_stack s;
	FILE *lf = fopen(log, "w+");
	char line[512] = "";

	p.use.use = ZT_USE_FS;
	snprintf(p.use.mount_point, sizeof(p.use.mount_point), "/mnt/kept");
	snprintf(s.name, sizeof(s.name), "t-adopt-fs-kept");
	s.policy = &p;
	write_file(mi, "90 1 259:3 / /mnt/kept rw - ext4 /dev/ublkb3 rw\n");
	int saved = lf ? tap_stderr_to(lf) : -1;
	int err = fs_left(&s, mi);
	if (saved >= 0)
		tap_stderr_restore(saved);
	is_int(err, -EEXIST, "a ublk device on the mount point: refused, not built again");
	ok(strstr(s.reason, "/dev/ublkb3 is mounted on /mnt/kept") != NULL, "status names it: %s",
	   s.reason);
	ok(strstr(s.reason, "umount it, 'ztier-ublk del 3', then 'ztierctl up t-adopt-fs-kept'"),
	   "and says what to do");
	if (lf) {
		rewind(lf);
		if (!fgets(line, sizeof(line), lf))
			line[0] = '\0';
		line[strcspn(line, "\n")] = '\0';
		ok(strstr(line, "t-adopt-fs-kept: not building a second device: /dev/ublkb3") &&
		   !fgets(line, sizeof(line), lf), "one log line: %s", line);
		fclose(lf);
	}
	write_file(mi, "91 1 0:50 / /mnt/kept rw - tmpfs tmpfs rw\n");
	s.reason[0] = '\0';
	is_int(fs_left(&s, mi), -ENOENT, "another file system there: nothing left of ours");
	write_file(mi, "92 1 259:3 / /mnt/other rw - ext4 /dev/ublkb3 rw\n");
	is_int(fs_left(&s, mi), -ENOENT, "a ublk device mounted elsewhere: not this stack's");
	is_str(s.reason, "", "no reason when there is nothing to refuse");
}

int main(void)
{
	char dir[] = "/tmp/t_adopt_fs.XXXXXX", mi[64], log[64];

	if (!mkdtemp(dir))
		tap_skip_all("cannot create a temporary directory");
	snprintf(mi, sizeof(mi), "%s/mountinfo", dir);
	snprintf(log, sizeof(log), "%s/log", dir);
	test_mount_source(mi);
	test_ublk_id();
	test_refusal(mi, log);
	unlink(mi);
	unlink(log);
	rmdir(dir);
	return tap_done();
}
