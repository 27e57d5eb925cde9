/*
 * daemon_swap.c — the last step of a stack: swap or a file system.
 *
 * mkswap and mkfs are util-linux/e2fsprogs programs (their on-disk formats are
 * theirs to write), run with posix_spawn and an empty signal mask; swapon,
 * swapoff, mount and umount are the system calls, so the priority and discard
 * flags are exactly what the policy declared and errors are real errnos.
 */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/swap.h>
#include <sys/wait.h>

#include "manager/daemon.h"

extern char **environ;

int zd_run(char *const argv[])
{
	posix_spawnattr_t attr;
	sigset_t none;
	pid_t pid;
	int status, err;

	sigemptyset(&none);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
	err = posix_spawnp(&pid, argv[0], NULL, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	if (err)
		return -err;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

int zd_mkswap(const char *dev, const char *label)
{
	char *argv[] = { "mkswap", "-q", "-L", (char *)label, (char *)dev, NULL };

	return zd_run(argv);
}

int zd_swapon(const char *dev, int priority, bool discard)
{
	int flags = 0;

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
int zd_swapoff(const char *dev, dev_t rdev)
{
	char tmp[64];
	int err;

	if (swapoff(dev) == 0)
		return 0;
	err = -errno;
	if (err != -ENOENT || !rdev)
		return err;
	snprintf(tmp, sizeof(tmp), "/run/ztier/swapoff-%u-%u", major(rdev), minor(rdev));
	mkdir("/run/ztier", 0755);
	unlink(tmp);
	if (mknod(tmp, S_IFBLK | 0600, rdev) < 0)
		return err;
	err = swapoff(tmp) ? -errno : 0;
	unlink(tmp);
	return err;
}

dev_t zd_rdev(const char *dev)
{
	struct stat st;

	return stat(dev, &st) == 0 && S_ISBLK(st.st_mode) ? st.st_rdev : 0;
}

/* mkfs.TYPE with its own "force, quiet" flags (the device is new: nothing
 * on it to protect), then mount, creating the mount point if needed. */
int zd_mkfs_mount(const char *dev, const char *type, const char *dir)
{
	char prog[32];
	const char *force = !strncmp(type, "ext", 3) ? "-F" : !strcmp(type, "xfs") ? "-f" : NULL;
	int err;

	snprintf(prog, sizeof(prog), "mkfs.%s", type);
	char *argv[] = { prog, "-q", (char *)(force ? force : dev), (char *)(force ? dev : NULL),
			 NULL };
	if ((err = zd_run(argv)))
		return err;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return mount(dev, dir, type, 0, NULL) ? -errno : 0;
}

int zd_umount(const char *dir)
{
	return umount2(dir, 0) ? -errno : 0;
}
