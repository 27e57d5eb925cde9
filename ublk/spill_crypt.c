/*
 * spill_crypt.c — the spill tier through dm-crypt: never plaintext on disk.
 *
 * Pages that reach the spill tier are process memory (keys, passwords), and
 * a disk keeps them after power-off.  So the spill target is used through a
 * dm-crypt mapping in plain mode, as crypttab's `swap` option does: no
 * header on the disk, aes-xts-plain64 with a 512-bit key drawn from
 * getrandom() here, handed to the kernel and wiped at once.  The key lives
 * only in the kernel's dm-crypt table; nothing ever writes it anywhere, so
 * only the mapping that wrote a spill can read it back, and when the mapping
 * goes (clean stop, `del`, reboot) what was on the disk is noise.
 *
 * 4 KiB crypt sectors: every spill I/O is one aligned page (tier_blk.c),
 * and one IV per page costs an eighth of the 512-byte default.
 *
 * The mapping's name comes from the backing itself ("ztier-spill-" and the
 * device number, or device and inode of a file), so a server that recovers
 * a device (ublk/recover.c) finds the mapping its dead predecessor made and
 * keeps it: same key, the spilled pages stay readable.  A new device whose
 * backing still has an idle mapping (a server that died without recovery)
 * replaces it with a new key; a mapping in use is someone else's (-EBUSY).
 *
 * A file target is given to libcryptsetup as /proc/self/fd/N of the fd that
 * tier_blk.c opened with O_NOFOLLOW, so the loop device that libcryptsetup
 * attaches (auto-clearing: it goes with the mapping) is that very file.
 */
#include <errno.h>
#include <fcntl.h>
#include <libcryptsetup.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "policy/common/common.h"
#include "ublk/tier.h"

#define KEY_BYTES 64                    /* aes-256 in xts: two 256-bit keys */
#define CRYPT_SECTOR 4096u

struct log_ctx {
	char *msg;
	size_t len;
};

/* libcryptsetup's errors, kept (the last one) for our own message. */
static void keep_error(int level, const char *line, void *usrptr)
{
	struct log_ctx *l = usrptr;
	size_t n;

	if (level != CRYPT_LOG_ERROR || !l->len)
		return;
	snprintf(l->msg, l->len, "%s", line);
	n = strlen(l->msg);
	if (n && l->msg[n - 1] == '\n')
		l->msg[n - 1] = '\0';
}

uint64_t ztu_crypt_id_of(int backing_fd)
{
	struct stat st;

	if (fstat(backing_fd, &st) < 0)
		return 0;
	if (S_ISBLK(st.st_mode))
		return (UINT64_C(1) << 63) | ((uint64_t)major(st.st_rdev) << 32) | minor(st.st_rdev);
	/* A file: its device in the high bits, its inode below (tmpfs and
	 * ext4 inode numbers stay far below 2^40). */
	return ((uint64_t)(major(st.st_dev) & 0xfff) << 52) |
	       ((uint64_t)(minor(st.st_dev) & 0xfff) << 40) |
	       (st.st_ino & ((UINT64_C(1) << 40) - 1));
}

void ztu_crypt_name(uint64_t id, char *name, size_t len)
{
	snprintf(name, len, "ztier-spill-%016llx", (unsigned long long)id);
}

/* An existing mapping of that name: 1 (busy), 0 (idle), -ENODEV (none). */
static int mapping_state(const char *name)
{
	struct crypt_device *cd;
	crypt_status_info st;

	if (crypt_init_by_name(&cd, name) < 0)
		return -ENODEV;
	st = crypt_status(cd, name);
	crypt_free(cd);
	if (st == CRYPT_BUSY)
		return 1;
	return st == CRYPT_ACTIVE ? 0 : -ENODEV;
}

static int remove_mapping(const char *name, struct log_ctx *l)
{
	crypt_set_log_callback(NULL, keep_error, l);
	int ret = crypt_deactivate_by_name(NULL, name, 0);

	crypt_set_log_callback(NULL, NULL, NULL);
	return ret == -ENODEV ? 0 : ret;
}

/* A new mapping over the backing fd, with a key nobody will ever see. */
static int activate(int backing_fd, const char *name, struct log_ctx *l)
{
	struct crypt_params_plain params = { .sector_size = CRYPT_SECTOR };
	struct crypt_device *cd = NULL;
	unsigned char key[KEY_BYTES];
	char path[64];
	int ret;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", backing_fd);
	mlock(key, sizeof(key));          /* best effort: never swapped out */
	if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key)) {
		ret = -errno;
		snprintf(l->msg, l->len, "getrandom: %s", strerror(errno));
	} else if (!(ret = crypt_init(&cd, path))) {
		crypt_set_log_callback(cd, keep_error, l);
		ret = crypt_format(cd, CRYPT_PLAIN, "aes", "xts-plain64", NULL, NULL,
				   sizeof(key), &params);
		if (!ret)
			ret = crypt_activate_by_volume_key(cd, name, (const char *)key,
							   sizeof(key), 0);
	}
	explicit_bzero(key, sizeof(key));
	munlock(key, sizeof(key));
	crypt_free(cd);
	return ret < 0 ? ret : 0;
}

int ztu_crypt_setup(int backing_fd, bool recovering, char *mapped, size_t mlen,
		    char *msg, size_t len)
{
	struct log_ctx l = { msg, len };
	uint64_t id = ztu_crypt_id_of(backing_fd);
	char name[64];
	int st, ret = 0;

	if (!id)
		return zt_fail_errno(msg, len, -errno, "dm-crypt");
	ztu_crypt_name(id, name, sizeof(name));
	snprintf(mapped, mlen, "/dev/mapper/%s", name);
	msg[0] = '\0';
	st = mapping_state(name);
	if (recovering && st >= 0)
		return 0;                 /* the predecessor's mapping, its key */
	if (recovering)
		return zt_fail(msg, len, -ENOKEY, "dm-crypt %s: gone, and with it the key "
			       "of every page on the spill: not recovered", name);
	if (st == 1)
		return zt_fail(msg, len, -EBUSY, "dm-crypt %s: in use by another device", name);
	if (st == 0)
		ret = remove_mapping(name, &l);
	if (!ret)
		ret = activate(backing_fd, name, &l);
	if (ret) {
		char why[256];

		snprintf(why, sizeof(why), "%s", msg[0] ? msg : strerror(-ret));
		return zt_fail(msg, len, ret, "dm-crypt %s: %s", name, why);
	}
	return 0;
}

int ztu_crypt_remove(uint64_t id, char *msg, size_t len)
{
	struct log_ctx l = { msg, len };
	char name[64];
	int ret;

	ztu_crypt_name(id, name, sizeof(name));
	msg[0] = '\0';
	ret = remove_mapping(name, &l);
	if (ret) {
		char why[256];

		snprintf(why, sizeof(why), "%s", msg[0] ? msg : strerror(-ret));
		return zt_fail(msg, len, ret, "dm-crypt %s: %s", name, why);
	}
	return 0;
}
