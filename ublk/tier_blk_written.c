/*
 * tier_blk_written.c — a spill file that swap-out can write without the
 * file system allocating anything.
 *
 * A spill file is created with fallocate, which gives it *unwritten*
 * extents: the first O_DIRECT write into one makes the file system convert
 * it at I/O completion (a journal transaction and memory, in a worker that
 * may itself have to reclaim by swapping out to the device this write
 * serves), and a hole would make it allocate blocks.  The kernel's own swap
 * files refuse holes for the same reason.  So before a swap device starts,
 * every byte of a spill file is written once unless FIEMAP shows it fully
 * written already: later starts cost one ioctl.  A file system without
 * FIEMAP is left as it is (nothing to learn about its blocks).
 */
#include <errno.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ublk/tier.h"

#define EXTENTS   64
#define ZERO_CHUNK (1u << 20)

/* Flags that mean a write would make the file system do work. */
#define NOT_PLAIN (FIEMAP_EXTENT_UNWRITTEN | FIEMAP_EXTENT_DELALLOC | \
		   FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_DATA_INLINE | \
		   FIEMAP_EXTENT_SHARED)

/* 1: [0, size) is all written extents; 0: it is not; -errno. */
static int fully_written(int fd, uint64_t size)
{
	size_t len = sizeof(struct fiemap) + EXTENTS * sizeof(struct fiemap_extent);
	struct fiemap *fm = calloc(1, len);
	uint64_t pos = 0;
	int ret = 1;

	if (!fm)
		return -ENOMEM;
	while (ret == 1 && pos < size) {
		memset(fm, 0, len);
		fm->fm_start = pos;
		fm->fm_length = size - pos;
		fm->fm_flags = FIEMAP_FLAG_SYNC;
		fm->fm_extent_count = EXTENTS;
		if (ioctl(fd, FS_IOC_FIEMAP, fm) < 0) {
			ret = -errno;
			break;
		}
		if (fm->fm_mapped_extents == 0)
			ret = 0;                              /* a hole to the end */
		for (unsigned i = 0; ret == 1 && i < fm->fm_mapped_extents; i++) {
			const struct fiemap_extent *e = &fm->fm_extents[i];

			if (e->fe_logical > pos || (e->fe_flags & NOT_PLAIN))
				ret = 0;                      /* a hole, or not plain */
			pos = e->fe_logical + e->fe_length;
		}
	}
	free(fm);
	return ret;
}

static int write_zeros(int fd, uint64_t size)
{
	void *buf = NULL;
	int ret = 0;

	if (posix_memalign(&buf, ZT_PAGE_SIZE, ZERO_CHUNK))
		return -ENOMEM;
	memset(buf, 0, ZERO_CHUNK);
	for (uint64_t off = 0; off < size && !ret; ) {
		size_t n = size - off < ZERO_CHUNK ? (size_t)(size - off) : ZERO_CHUNK;
		ssize_t w = pwrite(fd, buf, n, (off_t)off);

		if (w <= 0)
			ret = w < 0 ? -errno : -EIO;
		else
			off += (uint64_t)w;
	}
	if (!ret && fdatasync(fd) < 0)
		ret = -errno;
	free(buf);
	return ret;
}

int ztu_blk_make_written(struct ztu_blk *b, const char *path, char *msg, size_t len)
{
	int fd = ztu_blk_fd(b), ret;
	uint64_t size = ztu_blk_total(b) * ZT_PAGE_SIZE;     /* what is used */
	struct stat st;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	ret = fully_written(fd, size);
	if (ret == -EOPNOTSUPP || ret == -ENOTTY || ret == 1)
		return 0;
	if (ret == 0)
		ret = write_zeros(fd, size);
	if (ret)
		snprintf(msg, len, "spill %s: writing it once so that swap-out never makes the "
			 "file system allocate: %s", path, strerror(-ret));
	return ret;
}
