/*
 * daemon_swap.c — the last step of a stack: swap or a file system.
 *
 * mkswap and mkfs are util-linux/e2fsprogs programs (their on-disk formats are
 * theirs to write), run by zd_run (daemon_tool.c: a fixed PATH, a bounded
 * wait); swapon, swapoff, mount and umount are the system calls, so the
 * priority and discard flags are exactly what the policy declared and
 * errors are real errnos.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/swap.h>
#include <unistd.h>

#include "build/paths.h"        /* generated: ZT_VERSION, ZT_SYSCONFDIR, ... */
#include "manager/daemon.h"

int zd_mkswap(const char *dev, const char *label)
{
	char *argv[] = { "mkswap", "-q", "-L", (char *)label, (char *)dev, NULL };

	return zd_run(argv);
}

/* Writeback throttling off for a swap disk (queue/wbt_lat_usec = 0), as
 * advised for swap on ublk: wbt makes swap-out wait for earlier writes to
 * complete, and under memory pressure kswapd and every reclaiming task
 * queue up behind the disk's throttle while the server that would complete
 * those writes may itself be waiting for memory.  A disk without wbt (zram
 * is bio-based) has no such file, or a read-only one: nothing to do. */
static void wbt_off(const char *dev)
{
	const char *name = strrchr(dev, '/');
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/block/%s/queue/wbt_lat_usec",
		 name ? name + 1 : dev);
	f = fopen(path, "we");
	if (!f) {
		if (errno != ENOENT && errno != EACCES)  /* EACCES: read-only, no wbt */
			zd_log(ZD_WARN, "%s: %s", path, strerror(errno));
		return;
	}
	bool failed = fputs("0", f) == EOF;

	failed |= fclose(f) == EOF;      /* the sysfs write happens here */
	if (failed)
		zd_log(ZD_WARN, "%s: writeback throttling stays on: %s", dev, strerror(errno));
	else
		zd_log(ZD_DEBUG, "%s: writeback throttling off (wbt_lat_usec = 0)", dev);
}

int zd_swapon(const char *dev, int priority, bool discard)
{
	int flags = 0;

	wbt_off(dev);

	if (priority >= 0)
		flags |= SWAP_FLAG_PREFER |
			 ((priority << SWAP_FLAG_PRIO_SHIFT) & SWAP_FLAG_PRIO_MASK);
	if (discard)
		flags |= SWAP_FLAG_DISCARD;
	return swapon(dev, flags) ? -errno : 0;
}

/* swapoff(2) takes a path.  When the node is gone while the swap is still
 * active (a ublk disk whose server died is deleted by the kernel, and
 * /proc/swaps shows "/dev/ublkbN (deleted)"), a temporary node with the
 * same device number lets us name it: otherwise the swap would pin the disk
 * forever and DEL_DEV would wait for it. */
/* KiB of swap in use on path (/proc/swaps), or -1 when it is not listed. */
static long long swap_used_kib(const char *path)
{
	char name[4096];
	long long size, used;
	FILE *f = fopen("/proc/swaps", "re");
	long long found = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%*[^\n]\n") == EOF) {           /* the header */
		fclose(f);
		return -1;
	}
	while (found < 0 && fscanf(f, "%4095s %*s %lld %lld %*[^\n]\n", name, &size,
				   &used) == 3)
		if (!strcmp(name, path))
			found = used;
	fclose(f);
	return found;
}

/* swapoff(2), again after EINTR: the kernel gives up moving pages back when
 * a signal is pending, and a large swap can take minutes.  Retried while
 * each try brings pages back; three tries in a row that move nothing (a
 * signal that never stops coming) end it with EINTR. */
static int swapoff_retrying(const char *path)
{
	long long left = -1;
	int idle = 0;

	while (swapoff(path) < 0) {
		long long now;

		if (errno != EINTR)
			return -errno;
		now = swap_used_kib(path);
		idle = now < 0 || (left >= 0 && now >= left) ? idle + 1 : 0;
		if (idle >= 3)
			return -EINTR;
		zd_log(ZD_INFO, "%s: swapoff interrupted, %lld KiB left: again", path, now);
		left = now;
	}
	return 0;
}

int zd_swapoff(const char *dev, dev_t rdev)
{
	char tmp[64];
	int err;

	err = swapoff_retrying(dev);
	if (err == 0)
		return 0;
	if (err != -ENOENT || !rdev)
		return err;
	snprintf(tmp, sizeof(tmp), ZD_RUN_DIR "/swapoff-%u-%u", major(rdev), minor(rdev));
	mkdir(ZD_RUN_DIR, 0755);
	unlink(tmp);
	if (mknod(tmp, S_IFBLK | 0600, rdev) < 0)
		return err;
	err = swapoff_retrying(tmp);
	unlink(tmp);
	return err;
}

dev_t zd_rdev(const char *dev)
{
	struct stat st;

	return stat(dev, &st) == 0 && S_ISBLK(st.st_mode) ? st.st_rdev : 0;
}

/* The mount point, created if needed, as an O_PATH fd: a symlink put there
 * would otherwise have the file system mounted wherever it leads (/etc). */
static int mount_point(const char *dir)
{
	int fd;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	fd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* mkfs.TYPE with its own "force, quiet" flags (the device is new: nothing
 * on it to protect), then mount on the directory that mount_point opened
 * (through /proc/self/fd: what was checked is what is mounted on).  ext*
 * gets 4 KiB blocks, a ztier page: mke2fs picks 1 KiB for a device under
 * 512 MiB, and then every block written is a read-modify-write of a page
 * in the server. */
int zd_mkfs_mount(const char *dev, const char *type, const char *dir)
{
	char prog[32];
	bool ext = !strncmp(type, "ext", 3);
	int err;

	snprintf(prog, sizeof(prog), "mkfs.%s", type);
	char *ext_argv[] = { prog, "-q", "-F", "-b", "4096", (char *)dev, NULL };
	char *xfs_argv[] = { prog, "-q", "-f", (char *)dev, NULL };
	char *any_argv[] = { prog, "-q", (char *)dev, NULL };
	char **argv = ext ? ext_argv : !strcmp(type, "xfs") ? xfs_argv : any_argv;
	if ((err = zd_run(argv)))
		return err;
	return zd_mount(dev, type, dir);
}

int zd_mount(const char *dev, const char *type, const char *dir)
{
	char path[32];
	int fd = mount_point(dir), err;

	if (fd < 0)
		return fd;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	err = mount(dev, path, type, 0, NULL) ? -errno : 0;
	close(fd);
	return err;
}

int zd_umount(const char *dir)
{
	return umount2(dir, UMOUNT_NOFOLLOW) ? -errno : 0;
}
