/*
 * daemon_dropin.c — systemd-style drop-in directories.
 *
 * ztierd reads policies from several directories, lowest precedence first
 * (/usr/share/ztier/policy.d, /etc/ztier/policy.d, /run/ztier/policy.d), as
 * zram-generator and systemd do: all names are sorted together in lexical
 * (strcmp) order; a name present in a later directory replaces the earlier
 * file of that name; and a winner that is a symlink to /dev/null masks the
 * name altogether.  This file only reads directories, so it is unit-tested
 * on the host with temporary directories.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "manager/daemon.h"

bool zd_is_masked(const char *path)
{
	char target[PATH_MAX];
	ssize_t n = readlink(path, target, sizeof(target) - 1);

	if (n < 0)
		return false;
	target[n] = '\0';
	return strcmp(target, "/dev/null") == 0;
}

void zd_filelist_free(struct zd_filelist *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static bool has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);

	return n > s && strcmp(name + n - s, suffix) == 0;
}

/* Set name -> path: replace an entry of that name or append one. */
static int put(struct zd_filelist *l, const char *name, const char *path)
{
	for (unsigned i = 0; i < l->n; i++)
		if (strcmp(l->v[i].name, name) == 0) {
			snprintf(l->v[i].path, sizeof(l->v[i].path), "%s", path);
			return 0;
		}
	if (l->n == l->cap) {
		unsigned cap = l->cap ? l->cap * 2 : 16;
		struct zd_file *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	snprintf(l->v[l->n].name, sizeof(l->v[l->n].name), "%s", name);
	snprintf(l->v[l->n].path, sizeof(l->v[l->n].path), "%s", path);
	l->n++;
	return 0;
}

static int scan_dir(const char *dir, const char *suffix, struct zd_filelist *l)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int err = 0;

	if (!d)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	while (!err && (e = readdir(d))) {
		char path[ZT_PATH_MAX];
		if (e->d_name[0] == '.' || !has_suffix(e->d_name, suffix) ||
		    strlen(e->d_name) >= sizeof(l->v[0].name))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path))
			continue;
		err = put(l, e->d_name, path);
	}
	closedir(d);
	return err;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct zd_file *)a)->name, ((const struct zd_file *)b)->name);
}

static void drop_masked(struct zd_filelist *l)
{
	unsigned j = 0;

	for (unsigned i = 0; i < l->n; i++)
		if (!zd_is_masked(l->v[i].path))
			l->v[j++] = l->v[i];
	l->n = j;
}

int zd_dropins_collect(const char *const *dirs, unsigned ndirs, const char *suffix,
		       struct zd_filelist *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < ndirs; i++) {
		int err = scan_dir(dirs[i], suffix, out);
		if (err) {
			zd_filelist_free(out);
			return err;
		}
	}
	drop_masked(out);
	if (out->n)
		qsort(out->v, out->n, sizeof(out->v[0]), by_name);
	return 0;
}
