/*
 * tier_blk.c — block tiers: 4 KiB slots on a block device or a file.
 *
 * The spill tier (NVMe or a file) and, next, the zram tier (a kernel zram
 * device owned by the ztier device) are the same thing from here: an fd
 * opened O_DIRECT (no page cache: a swap device must not need memory to make
 * progress, and the data must not be cached twice) plus a lock-free slot
 * allocator (slots.h).  Slot s lives at byte s * 4096; its entry is
 * zu_pte_slot(tier, s).
 *
 * The data moves by io_uring on the queue's own ring (the target asks io_fd
 * for fd + offset), so a queue never blocks on the device.  A sub-page
 * read-modify-write's I/O goes on the ring too (tiered_rmw.c), a packed
 * page's included; only its last resort uses pread/pwrite (get,
 * write_sync) under the entry lock; 4 KiB-aligned I/O (swap, filesystems)
 * never does.
 * Discard and overwrite free the slot.  A file that does not exist is created
 * with the requested size (fallocate: a sparse file could fail later with
 * ENOSPC in the middle of swap-out); a file system without O_DIRECT is used
 * buffered.  A target in /dev names a device and is never created, whatever
 * the size: an absent one is "not present" (ENOENT; ztierd waits for it),
 * and a regular file there (devtmpfs: RAM) is refused, not grown.
 *
 * A spill file holds every process's swapped-out memory, so it must be the
 * server's alone (issue #13's review found any existing file taken, through
 * symlinks): a file target is opened with O_NOFOLLOW, created with O_EXCL
 * and mode 0600, and an existing one is used only if it is a regular file
 * of the server's own user (root in production), with no group or other
 * permission bits and no second hard link.  Devices (in /dev) are not files
 * of anyone's: /dev/disk/by-id names are symlinks and are followed.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/common/common.h"
#include "ublk/demote.h"
#include "ublk/tier.h"

struct ztu_blk {
	int fd;
	enum zt_tier tier;
	struct zu_slots *slots;
	bool borrowed;                /* slots are a shared state's */
	uint64_t crypt_id;            /* 0, or the dm-crypt mapping fd is on */
	bool keep_crypt;              /* leave the mapping (and key) at close */
	bool sync;                    /* pwrite/pread on the queue thread, no
	                                 io_uring (see ztu_blk_encrypt)        */
};

static int open_direct(const char *path, int flags)
{
	int fd = open(path, flags | O_RDWR | O_CLOEXEC | O_DIRECT, 0600);

	if (fd < 0 && errno == EINVAL)     /* no O_DIRECT on this file system */
		fd = open(path, flags | O_RDWR | O_CLOEXEC, 0600);
	return fd < 0 ? -errno : fd;
}

/* An existing spill file: -EPERM unless no one else can read it or reach
 * it by another name. */
static int file_private(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (st.st_uid != geteuid() || (st.st_mode & 077) || st.st_nlink != 1)
		return -EPERM;
	return 0;
}

/* A file target: created (create) or an existing private one; never a
 * symlink (-ELOOP). */
static int open_file(const char *path, bool create)
{
	int fd = create ? open_direct(path, O_NOFOLLOW | O_CREAT | O_EXCL) : -EEXIST;
	int err;

	if (fd != -EEXIST)
		return fd;
	fd = open_direct(path, O_NOFOLLOW);
	if (fd >= 0 && (err = file_private(fd))) {
		close(fd);
		return err;
	}
	return fd;
}

static const char *why(int ret, bool device)
{
	if (device)
		return ret == -ENOENT ? "not present: " : "";
	if (ret == -ELOOP)
		return "a symbolic link is refused: ";
	if (ret == -EPERM)
		return "an existing file must be the server user's, mode 0600, one link: ";
	return "";
}

/* "/dev" or a path below it, however many '/' separate the names. */
static bool in_dev(const char *p)
{
	if (*p != '/')
		return false;
	while (*p == '/')
		p++;
	return !strncmp(p, "dev", 3) && (p[3] == '/' || !p[3]);
}

bool ztu_path_is_device(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[ZT_PATH_MAX], real[PATH_MAX];

	if (in_dev(path))
		return true;
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	/* A directory that does not exist cannot take a new file anyway. */
	return realpath(dir, real) && in_dev(real);
}

static int backing_size(int fd, bool device, uint64_t want, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode))
		return ioctl(fd, BLKGETSIZE64, size) < 0 ? -errno : 0;
	if (device)
		return -ENOTBLK;      /* a file in /dev (devtmpfs): never grown */
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (want && (uint64_t)st.st_size < want) {
		int ret = posix_fallocate(fd, 0, (off_t)want);
		if (ret == EOPNOTSUPP || ret == EINVAL)
			ret = ftruncate(fd, (off_t)want) < 0 ? errno : 0;
		if (ret)
			return -ret;
		st.st_size = (off_t)want;
	}
	*size = want ? want : (uint64_t)st.st_size;
	return 0;
}

int ztu_blk_open(struct ztu_blk **out, enum zt_tier tier, const char *path,
		 uint64_t size, char *msg, size_t len)
{
	struct ztu_blk *b = calloc(1, sizeof(*b));
	bool device = ztu_path_is_device(path);
	uint64_t bytes = 0;
	int ret;

	if (!b)
		return -ENOMEM;
	b->tier = tier;
	b->fd = device ? open_direct(path, 0) : open_file(path, size != 0);
	ret = b->fd < 0 ? b->fd : backing_size(b->fd, device, size, &bytes);
	if (!ret && bytes < ZT_PAGE_SIZE)
		ret = -ENOSPC;
	if (!ret) {
		b->slots = zu_slots_create(bytes / ZT_PAGE_SIZE);
		if (!b->slots)
			ret = -errno;
	}
	if (ret) {
		snprintf(msg, len, "%s %s: %s%s", zt_tier_name(tier), path, why(ret, device),
			 strerror(-ret));
		ztu_blk_close(b);
		return ret;
	}
	*out = b;
	return 0;
}

int ztu_blk_probe_slots(const char *path, uint64_t size, uint64_t *slots, char *msg,
			size_t len)
{
	bool device = ztu_path_is_device(path);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	uint64_t bytes = 0;
	int ret = fd < 0 ? -errno : 0;

	if (!ret && fstat(fd, &st) < 0)
		ret = -errno;
	else if (!ret && S_ISBLK(st.st_mode))
		ret = ioctl(fd, BLKGETSIZE64, &bytes) < 0 ? -errno : 0;
	else if (!ret && (device || !S_ISREG(st.st_mode)))
		ret = device ? -ENOTBLK : -EINVAL;
	else if (!ret)
		bytes = size ? size : (uint64_t)st.st_size;
	if (fd >= 0)
		close(fd);
	if (ret)
		return zt_fail(msg, len, ret, "spill %s: %s%s", path, why(ret, device),
			       strerror(-ret));
	*slots = bytes / ZT_PAGE_SIZE;
	return 0;
}

/* Serve the tier through a dm-crypt mapping over what b->fd opened
 * (spill_crypt.c): from here on b->fd is the mapping's. */
int ztu_blk_encrypt(struct ztu_blk *b, bool recovering, bool swap, char *msg, size_t len)
{
	char mapped[96];
	uint64_t id = ztu_crypt_id_of(b->fd), bytes;
	int ret = ztu_crypt_setup(b->fd, recovering, mapped, sizeof(mapped), msg, len);
	int fd;

	if (ret)
		return ret;
	b->crypt_id = id;
	b->keep_crypt = recovering;       /* a failed take-over leaves it */
	/* dm-crypt takes no REQ_NOWAIT, so io_uring hands every read and
	 * write to an io-wq worker thread, made and reaped on demand: under
	 * swap pressure that thread creation is an allocation on the swap-out
	 * path, and ublk-swap.t's guest hung with a worker stuck in its exit.
	 * The queue thread (an IO_FLUSHER) does the I/O itself instead, as the
	 * kernel's own swap on dm-crypt does: slower, never stuck. */
	b->sync = swap;
	fd = open_direct(mapped, 0);
	if (fd < 0)
		return zt_fail_errno(msg, len, fd, mapped);
	close(b->fd);
	b->fd = fd;
	if ((ret = backing_size(fd, true, 0, &bytes)))
		return zt_fail_errno(msg, len, ret, mapped);
	if (bytes / ZT_PAGE_SIZE < zu_slots_total(b->slots))
		return zt_fail(msg, len, -ENOSPC, "%s: %llu bytes, the spill had %llu", mapped,
			       (unsigned long long)bytes,
			       (unsigned long long)(zu_slots_total(b->slots) * ZT_PAGE_SIZE));
	return 0;
}

uint64_t ztu_blk_crypt_id(const struct ztu_blk *b)
{
	return b ? b->crypt_id : 0;
}

void ztu_blk_keep_crypt(struct ztu_blk *b, bool keep)
{
	if (b)
		b->keep_crypt = keep;
}

void ztu_blk_close(struct ztu_blk *b)
{
	char msg[256];

	if (!b)
		return;
	if (b->fd >= 0)
		close(b->fd);
	if (b->crypt_id && !b->keep_crypt && ztu_crypt_remove(b->crypt_id, msg, sizeof(msg)))
		fprintf(stderr, "ztier-ublk: %s\n", msg);
	if (b->slots && !b->borrowed)
		zu_slots_destroy(b->slots);
	free(b);
}

void ztu_blk_use_slots(struct ztu_blk *b, struct zu_slots *sl)
{
	if (!b->borrowed)
		zu_slots_destroy(b->slots);
	b->slots = sl;
	b->borrowed = true;
}

int ztu_blk_fd(const struct ztu_blk *b)
{
	return b->fd;
}

struct zu_slots *ztu_blk_slots(const struct ztu_blk *b)
{
	return b->slots;
}

uint64_t ztu_blk_used(const struct ztu_blk *b)
{
	return b ? zu_slots_used(b->slots) : 0;
}

uint64_t ztu_blk_total(const struct ztu_blk *b)
{
	return b ? zu_slots_total(b->slots) : 0;
}

static struct ztu_blk *blk_of(struct ztu_tier_ctx *c, uint64_t entry)
{
	return c->t->blk[zu_pte_tier(entry)];
}

static int blk_put_tier(struct ztu_tier_ctx *c, enum zt_tier tier, uint64_t *entry)
{
	struct ztu_blk *b = c->t->blk[tier];
	uint64_t slot;
	int ret;

	if (!b)
		return -ENOSPC;
	ret = zu_slots_alloc(b->slots, &c->cursor, &slot);
	if (ret)
		return ret;
	*entry = zu_pte_slot(tier, slot);
	return 0;
}

static int blk_write_sync(struct ztu_tier_ctx *c, uint64_t entry, const void *page);

/* A sync tier writes the page here (the entry is published after); an
 * async one only takes the slot, and the queue writes it by io_uring. */
static int blk_put(struct ztu_tier_ctx *c, enum zt_tier tier, const void *page, const struct zt_page_class *cls,
		   const struct zt_codec *codec, bool last, uint64_t *entry)
{
	int ret = blk_put_tier(c, tier, entry);

	if (ret || !c->t->blk[tier]->sync)
		return ret;
	if ((ret = blk_write_sync(c, *entry, page)))
		zu_slots_free(c->t->blk[tier]->slots, zu_pte_slot_nr(*entry));
	return ret;
}

/* The fd and offset of an entry's slot. */
static int blk_fd(struct ztu_tier_ctx *c, uint64_t entry, off_t *off)
{
	*off = (off_t)(zu_pte_slot_nr(entry) * ZT_PAGE_SIZE);
	return blk_of(c, entry)->fd;
}

/* For the queue's io_uring: -1 for a sync tier, which the target then
 * reads with get and writes with put. */
static int blk_io_fd(struct ztu_tier_ctx *c, uint64_t entry, off_t *off)
{
	int fd = blk_fd(c, entry, off);

	return blk_of(c, entry)->sync ? -1 : fd;
}

/* A write to a slot, which lies inside the device as it was opened, that
 * fails with ENOSPC: the kernel says so for a write at or past the end of a
 * block device, and an unplugged disk has size 0.  That disk is gone (EIO);
 * one that kept its size ran out of real space (thin provisioning). */
int ztu_blk_write_error(const struct ztu_blk *b, off_t off, int err)
{
	uint64_t size;

	if (err != -ENOSPC)
		return err;
	if (ioctl(b->fd, BLKGETSIZE64, &size) < 0 || size < (uint64_t)off + ZT_PAGE_SIZE)
		return -EIO;
	return err;
}

static int blk_get(struct ztu_tier_ctx *c, uint64_t entry, void *page)
{
	off_t off;
	int fd = blk_fd(c, entry, &off);
	ssize_t n = pread(fd, c->scratch, ZT_PAGE_SIZE, off);

	if (n != ZT_PAGE_SIZE)
		return n < 0 ? -errno : -EIO;
	if (zu_pte_is_packed(entry))       /* the store's bytes (demote.h) */
		return page == c->scratch ? -EINVAL :
		       zu_packed_decode(c->codec, entry, c->scratch, page);
	if (page != c->scratch)
		memcpy(page, c->scratch, ZT_PAGE_SIZE);
	return 0;
}

static int blk_write_sync(struct ztu_tier_ctx *c, uint64_t entry, const void *page)
{
	off_t off;
	int fd = blk_fd(c, entry, &off);
	ssize_t n;

	if (page != c->scratch)
		memcpy(c->scratch, page, ZT_PAGE_SIZE);
	n = pwrite(fd, c->scratch, ZT_PAGE_SIZE, off);
	if (n != ZT_PAGE_SIZE)
		return n < 0 ? ztu_blk_write_error(blk_of(c, entry), off, -errno) : -EIO;
	return 0;
}

static void blk_drop(struct ztu_tier_ctx *c, uint64_t entry)
{
	zu_slots_free(blk_of(c, entry)->slots, zu_pte_slot_nr(entry));
}

const struct ztu_tier_ops ztu_tier_blk = {
	.name = "blk",
	.put = blk_put,
	.get = blk_get,
	.drop = blk_drop,
	.io_fd = blk_io_fd,
	.write_sync = blk_write_sync,
};
