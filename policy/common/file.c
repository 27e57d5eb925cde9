/*
 * file.c — open a file that a person named as configuration or input.
 *
 * `ztierctl add FIFO` once left ztierd blocked in open(), deaf to signals
 * and udev; `ztierctl add /dev/zero` grew the (OOM-exempt) daemon to 2 GB
 * before a failed allocation read as end of file.  So a file read as text
 * or pages must be a regular file, of a bounded size where the caller says:
 *   - stat() first: a FIFO or a device is refused without being opened
 *     (opening one can block, or act: a tape rewinds, a modem hangs up);
 *   - open(O_NONBLOCK), since the name may be swapped for a FIFO between
 *     the two calls, then fstat() decides on what was really opened;
 *   - O_NONBLOCK is cleared again (it means nothing to a regular file, but
 *     the descriptor is handed on).
 * Symbolic links are followed unless the caller adds O_NOFOLLOW: a policy
 * directory may hold links to shipped files (systemd's way), and what a
 * link names is checked like any file.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/common/common.h"

static const char *kind(mode_t m)
{
	return S_ISFIFO(m) ? "a FIFO" : S_ISCHR(m) ? "a character device" :
	       S_ISBLK(m) ? "a block device" : S_ISSOCK(m) ? "a socket" : "not a file";
}

/* 0 if st is a regular file of at most max bytes (max 0: any size). */
static int check(const struct stat *st, uint64_t max, char *msg, size_t len)
{
	if (S_ISDIR(st->st_mode))
		return zt_fail_errno(msg, len, -EISDIR, "cannot read");
	if (!S_ISREG(st->st_mode))
		return zt_fail(msg, len, -EINVAL, "not a regular file (%s)", kind(st->st_mode));
	if (max && (uint64_t)st->st_size > max)
		return zt_fail(msg, len, -EFBIG, "too large (%lld bytes, at most %llu)",
			       (long long)st->st_size, (unsigned long long)max);
	return 0;
}

int zt_open_regular(const char *path, int flags, uint64_t max, char *msg, size_t len)
{
	struct stat st;
	int fd, err;

	if ((flags & O_NOFOLLOW ? lstat(path, &st) : stat(path, &st)) < 0)
		return zt_fail_errno(msg, len, -errno, "cannot read");
	if ((err = check(&st, max, msg, len)))
		return err;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (flags & O_NOFOLLOW));
	if (fd < 0)
		return zt_fail_errno(msg, len, -errno, "cannot read");
	if (fstat(fd, &st) < 0 || (err = check(&st, max, msg, len)) ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		err = err ? err : zt_fail_errno(msg, len, -errno, "cannot read");
		close(fd);
		return err;
	}
	return fd;
}
