/*
 * daemon_zswap.c — zswap in front of ztierd's swap stacks.
 *
 * An enabled zswap takes each page the kernel swaps out before any swap
 * device does; a stack behind it sees only what zswap rejects (a pool at
 * max_pool_percent, a page that does not compress) or writes back later,
 * so its tiers, classes and maintenance would act on leftovers.  With
 * `zswap = disable` (ztier.conf's [ztierd], the default) ztierd turns
 * zswap off while any of its swap stacks is up and turns it back on when
 * none is, or when it stops.  That zswap was on is kept in a file next to
 * the control socket, so a ztierd killed in between is followed by one that
 * still restores it.  With `zswap = keep` it is left alone and the log
 * says once what it means.  Every change is one log line; `ztierctl
 * status` shows the state through the snapshot's "@zswap" line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "manager/daemon.h"

#define ZSWAP_PARAMS "/sys/module/zswap/parameters/"

static int read_param(const char *name, char *buf, size_t len)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), ZSWAP_PARAMS "%s", name);
	if (!(f = fopen(path, "re")))
		return -errno;
	if (!fgets(buf, (int)len, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static void read_state(struct zd_kzswap *z)
{
	char v[32];

	z->present = read_param("enabled", v, sizeof(v)) == 0;
	z->enabled = z->present && (v[0] == 'Y' || v[0] == 'y' || v[0] == '1');
	z->max_pool_percent = read_param("max_pool_percent", v, sizeof(v)) == 0 ? atoi(v) : -1;
}

static int write_enabled(bool on)
{
	int fd = open(ZSWAP_PARAMS "enabled", O_WRONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, on ? "Y" : "N", 1) != 1)
		err = -errno;
	close(fd);
	return err;
}

void zd_run_file(const struct zd_daemon *d, const char *name, char *buf, size_t len)
{
	const char *slash = strrchr(d->conf.socket, '/');
	int dir = slash ? (int)(slash - d->conf.socket) : 0;

	snprintf(buf, len, "%.*s/%s", dir, d->conf.socket, name);
}

/* The file that says zswap was on before ztierd turned it off. */
static void saved_path(const struct zd_daemon *d, char *buf, size_t len)
{
	zd_run_file(d, "zswap-was-enabled", buf, len);
}

bool zd_swap_stacks_up(const struct zd_daemon *d)
{
	for (unsigned i = 0; i < d->nstacks; i++)
		if (d->stacks[i].swap_on)
			return true;
	return false;
}

static void turn_off(struct zd_daemon *d)
{
	char path[ZT_PATH_MAX];
	int err, fd;

	saved_path(d, path, sizeof(path));
	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) >= 0)
		close(fd);
	if ((err = write_enabled(false))) {
		unlink(path);
		zd_log(ZD_ERR, "zswap: cannot disable it (%s): the swap stacks see only what zswap "
		       "rejects or writes back", strerror(-err));
		return;
	}
	d->kzswap.ours = true;
	d->kzswap.enabled = false;
	zd_log(ZD_INFO, "zswap disabled while ztier's swap stacks are up (it was enabled, "
	       "max_pool_percent %d%%; zswap = disable): otherwise they would see only what it "
	       "rejects or writes back; enabled again when ztierd stops", d->kzswap.max_pool_percent);
}

void zd_zswap_restore(struct zd_daemon *d)
{
	char path[ZT_PATH_MAX];
	int err;

	if (!d->kzswap.ours)
		return;
	saved_path(d, path, sizeof(path));
	if ((err = write_enabled(true))) {
		zd_log(ZD_ERR, "zswap: cannot enable it again: %s (it stays off)", strerror(-err));
		return;
	}
	unlink(path);
	d->kzswap.ours = false;
	d->kzswap.enabled = true;
	zd_log(ZD_INFO, "zswap enabled again, as it was before ztierd");
}

void zd_zswap_apply(struct zd_daemon *d)
{
	struct zd_kzswap *z = &d->kzswap;
	char path[ZT_PATH_MAX];
	bool up = zd_swap_stacks_up(d);

	read_state(z);
	saved_path(d, path, sizeof(path));
	if (!z->ours && z->present && !z->enabled && access(path, F_OK) == 0)
		z->ours = true;               /* a killed ztierd turned it off */
	if (!z->present)
		return;
	if (!up || d->conf.zswap_keep) {
		if (z->ours)
			zd_zswap_restore(d);
		if (up && z->enabled && !z->said_keep)
			zd_log(ZD_INFO, "zswap is enabled (max_pool_percent %d%%; zswap = keep): the "
			       "swap stacks see only what it rejects or writes back",
			       z->max_pool_percent);
		z->said_keep = z->said_keep || (up && z->enabled);
		return;
	}
	if (z->enabled)
		turn_off(d);
}

void zd_zswap_status(const struct zd_daemon *d, char *buf, size_t len)
{
	const struct zd_kzswap *z = &d->kzswap;
	const char *action = !z->present ? "absent" : z->ours ? "disabled by ztierd" :
			     z->enabled ? (d->conf.zswap_keep ? "kept" : "enabled") : "off";
	const char *note = z->ours ? "enabled again when ztierd stops" :
			   z->enabled && zd_swap_stacks_up(d) ?
			   "the swap stacks see only what zswap rejects or writes back" : "-";

	snprintf(buf, len, "@zswap\t%s\t%d\t%s\t%s", !z->present ? "-" : z->enabled ? "Y" : "N",
		 z->max_pool_percent, action, note);
}
