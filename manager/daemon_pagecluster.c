/*
 * daemon_pagecluster.c — vm.page-cluster while ztierd's swap stacks are up,
 * only when ztier.conf asks (`page-cluster = N` in [ztierd]; default keep).
 *
 * A ublk swap device is not synchronous to the kernel (kernel zram is), so
 * each swap-in fault from a ztier device goes through readahead of up to
 * 2^page-cluster pages.  Measured in the VM (tests/vm/bench-swapin, 6.12,
 * 64 MiB of real process memory on a ztier swap, 7 interleaved rounds):
 * sequential swap-in 28, 48, 68 and 78 MiB/s at page-cluster 0..3, while a
 * random touch took a median 64-67 us at every setting (the kernel's
 * per-VMA readahead shrinks its window for random access).  So the kernel
 * default (3) is the right one for ztier, and ztierd leaves the global
 * alone unless told otherwise: it is one knob for every swap device.
 * When told, it sets the value while any swap stack is up and restores
 * the earlier one when none is, or when it stops; the earlier value is
 * kept in a file next to the control socket, so a ztierd killed in
 * between is followed by one that still restores it.  One log line per
 * change.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "manager/daemon.h"

#define PAGE_CLUSTER "/proc/sys/vm/page-cluster"

static int read_int(const char *path)
{
	FILE *f = fopen(path, "re");
	int v = -1;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static int write_int(const char *path, int v)
{
	FILE *f = fopen(path, "we");
	int err = 0;

	if (!f)
		return -errno;
	if (fprintf(f, "%d\n", v) < 0)
		err = -EIO;
	if (fclose(f) && !err)
		err = -errno;
	return err;
}

/* The file that keeps the value ztierd replaced. */
static void saved_path(const struct zd_daemon *d, char *buf, size_t len)
{
	zd_run_file(d, "page-cluster-was", buf, len);
}

void zd_pagecluster_restore(struct zd_daemon *d)
{
	char path[ZT_PATH_MAX];
	int err;

	if (!d->page_cluster_ours)
		return;
	saved_path(d, path, sizeof(path));
	if ((err = write_int(PAGE_CLUSTER, d->page_cluster_was))) {
		zd_log(ZD_ERR, "vm.page-cluster: cannot set it back to %d: %s",
		       d->page_cluster_was, strerror(-err));
		return;
	}
	zd_log(ZD_INFO, "vm.page-cluster %d again, as it was before ztierd",
	       d->page_cluster_was);
	unlink(path);
	d->page_cluster_ours = false;
}

/* Set want, keeping what was there first (in memory and in the file). */
static void set_wanted(struct zd_daemon *d, int want)
{
	char path[ZT_PATH_MAX];
	int cur = read_int(PAGE_CLUSTER), err;

	if (cur < 0 || cur == want)
		return;
	saved_path(d, path, sizeof(path));
	if (!d->page_cluster_ours && write_int(path, cur) == 0) {
		d->page_cluster_ours = true;
		d->page_cluster_was = cur;
	}
	if (!d->page_cluster_ours)
		return zd_log(ZD_ERR, "vm.page-cluster: cannot keep its value in %s: not "
			      "changing it", path);
	if ((err = write_int(PAGE_CLUSTER, want)))
		return zd_log(ZD_ERR, "vm.page-cluster: cannot set %d: %s", want, strerror(-err));
	zd_log(ZD_INFO, "vm.page-cluster %d -> %d while ztier's swap stacks are up "
	       "(page-cluster = %d); %d again when ztierd stops", cur, want, want,
	       d->page_cluster_was);
}

void zd_pagecluster_apply(struct zd_daemon *d)
{
	char path[ZT_PATH_MAX];

	saved_path(d, path, sizeof(path));
	if (!d->page_cluster_ours && (d->page_cluster_was = read_int(path)) >= 0)
		d->page_cluster_ours = true;            /* a killed ztierd's */
	if (d->conf.page_cluster < 0 || !zd_swap_stacks_up(d))
		zd_pagecluster_restore(d);
	else
		set_wanted(d, d->conf.page_cluster);
}
