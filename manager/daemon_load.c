/*
 * daemon_load.c — from files to the list of stacks, at start and on reload.
 *
 * ztier.conf: --config FILE, else SYSCONFDIR/ztier/ztier.conf, else the
 * shipped DATADIR/ztier/ztier.conf, else built-in defaults; at start, one
 * that cannot be read or has a problem stops ztierd.  Policies: --policy
 * FILE alone, or every NAME.conf of the policy directories (daemon_dropin.c)
 * with its drop-ins NAME.conf.d/ *.conf from all of them, read in order on top
 * of the built-in defaults (zt_policy_load), then validated.  An invalid
 * policy becomes a FAILED stack with its FILE:LINE problems logged; the
 * others still build.
 *
 * Order: zram swap devices first, then ztier devices in policy-name order;
 * teardown is the reverse.  On reload a stack that still exists keeps its
 * devices: what can change live is applied (zram mem_limit), what cannot is
 * logged as needing `ztierctl down NAME; ztierctl up NAME`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build/paths.h"        /* generated: ZT_VERSION, ZT_SYSCONFDIR, ... */
#include "policy/common/common.h"
#include "manager/daemon.h"
#include "zramctl-glue/zramctl_glue.h"

/* A path of the system's tree under d->root (zram-generator's way: the
 * golden tests read a fake tree as a normal user); paths given on the
 * command line are the user's and are taken as they are. */
static void rooted(const struct zd_daemon *d, char *out, size_t len, const char *path)
{
	snprintf(out, len, "%s%s", d->root ? d->root : "", path);
}

static const char *const conf_candidates[] = { ZT_SYSCONFDIR "/ztier/ztier.conf",
					       ZT_DATADIR "/ztier/ztier.conf" };

/* --config, else the first of the search list that exists, else NULL
 * (and the log says where it looked). */
static const char *conf_file(const struct zd_daemon *d, char *buf, size_t len)
{
	char other[ZT_PATH_MAX];

	if (d->conf_path)
		return d->conf_path;
	for (size_t i = 0; i < 2; i++) {
		rooted(d, buf, len, conf_candidates[i]);
		if (access(buf, F_OK) == 0)
			return buf;
	}
	rooted(d, other, sizeof(other), conf_candidates[0]);
	zd_log(ZD_INFO, "no ztier.conf: neither %s nor %s exists; built-in defaults "
	       "(no zram swap device)", other, buf);
	return NULL;
}

/* Problems found (a file that cannot be read is one); c->path names it. */
static int read_conf(struct zd_daemon *d, struct zd_conf *c)
{
	char buf[ZT_PATH_MAX];
	const char *path = conf_file(d, buf, sizeof(buf));
	int n;

	zd_conf_default(c);
	if (!path)
		return 0;
	snprintf(c->path, sizeof(c->path), "%s", path);
	n = zd_conf_load(c, path);      /* which logs why it could not read */
	return n < 0 ? 1 : n;
}

static void apply_overrides(struct zd_daemon *d, struct zd_conf *c)
{
	char buf[ZT_PATH_MAX];

	for (unsigned i = 0; d->root && i < c->npolicy_dirs; i++) {
		rooted(d, buf, sizeof(buf), c->policy_dirs[i]);
		snprintf(c->policy_dirs[i], ZT_PATH_MAX, "%s", buf);
	}
	if (d->opt_policy_dir) {
		snprintf(c->policy_dirs[0], ZT_PATH_MAX, "%s", d->opt_policy_dir);
		c->npolicy_dirs = 1;
	}
	if (d->opt_socket)
		snprintf(c->socket, sizeof(c->socket), "%s", d->opt_socket);
}

/* Drop-ins NAME.conf.d/ *.conf from every policy directory, in order. */
static int load_dropins(const struct zd_conf *c, const char *name, struct zt_policy *p)
{
	const char *dirs[ZD_DIRS_MAX];
	char buf[ZD_DIRS_MAX][ZT_PATH_MAX];
	struct zd_filelist l;
	int problems = 0;

	for (unsigned i = 0; i < c->npolicy_dirs; i++) {
		snprintf(buf[i], ZT_PATH_MAX, "%.4000s/%.80s.d", c->policy_dirs[i], name);
		dirs[i] = buf[i];
	}
	if (zd_dropins_collect(dirs, c->npolicy_dirs, ".conf", &l))
		return 1;
	for (unsigned i = 0; i < l.n; i++) {
		int n = zt_policy_load(p, l.v[i].path, zd_log_problem, NULL);
		problems += n < 0 ? 1 : n;
	}
	zd_filelist_free(&l);
	return problems;
}

/* One policy (a main file and its drop-ins) -> heap policy, or NULL. */
struct zt_policy *zd_policy_load(const struct zd_conf *c, const char *path,
				 const char *fname)
{
	struct zt_policy *p = malloc(sizeof(*p));
	int n;

	if (!p)
		return NULL;
	zt_policy_default(p);
	n = zt_policy_load(p, path, zd_log_problem, NULL);
	if (n < 0) {
		zd_log(ZD_ERR, "%s: %s", path, strerror(-n));
		n = 1;
	}
	if (fname)
		n += load_dropins(c, fname, p);
	if (n == 0)
		n = zt_policy_validate(p, zd_log_problem, NULL);   /* names and targets too */
	if (n) {
		free(p);
		return NULL;
	}
	return p;
}

/* ---- the wanted list ------------------------------------------------------- */

struct wanted {
	unsigned n;
	struct zd_stack v[ZD_STACKS_MAX];
};

static struct zd_stack *want(struct wanted *w, enum zd_kind kind, const char *name)
{
	for (unsigned i = 0; i < w->n; i++)
		if (!strcmp(w->v[i].name, name)) {
			zd_log(ZD_ERR, "%s: declared twice; the second is ignored", name);
			return NULL;
		}
	if (w->n == ZD_STACKS_MAX) {
		zd_log(ZD_ERR, "%s: more than %d stacks; ignored", name, ZD_STACKS_MAX);
		return NULL;
	}
	struct zd_stack *s = &w->v[w->n++];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->zram_id = s->ublk_id = s->pidfd = -1;
	return s;
}

static void want_policy(struct wanted *w, const struct zd_conf *c, const char *path,
			const char *fname, int *problems)
{
	struct zt_policy *p = zd_policy_load(c, path, fname);
	char base[ZT_NAME_MAX];
	struct zd_stack *s;

	if (!p) {
		const char *b = strrchr(path, '/');
		snprintf(base, sizeof(base), "%s", b ? b + 1 : path);
		base[strcspn(base, ".")] = '\0';
		if ((s = want(w, ZD_KIND_ZTIER, base))) {
			s->state = ZD_ST_FAILED;
			snprintf(s->reason, sizeof(s->reason), "invalid policy %s", path);
		}
		(*problems)++;
		return;
	}
	if (!(s = want(w, ZD_KIND_ZTIER, p->name))) {
		free(p);
		return;
	}
	s->policy = p;
	zt_spill_path(p, s->spill, sizeof(s->spill));
}

/* zram-generator's host-memory-limit: a device meant for small machines
 * is not created on a large one (and one built is taken down on reload). */
static bool above_limit(const struct zd_zswap *z, uint64_t ram)
{
	char a[ZT_SIZE_EXPR_MAX], b[ZT_SIZE_EXPR_MAX];

	if (!z->host_memory_limit || ram <= z->host_memory_limit)
		return false;
	zd_log(ZD_INFO, "%s: not created: RAM (%s) is above its host-memory-limit (%s)", z->name,
	       zt_size_format(&(struct zt_size){ .bytes = ram }, a, sizeof(a)),
	       zt_size_format(&(struct zt_size){ .bytes = z->host_memory_limit }, b, sizeof(b)));
	return true;
}

/* Where an admin who finds no ztier device built should look. */
static void say_no_policy(const struct zd_conf *c)
{
	char where[1024];
	size_t at = 0;

	where[0] = '\0';
	for (unsigned i = 0; i < c->npolicy_dirs && at < sizeof(where); i++)
		at += (size_t)snprintf(where + at, sizeof(where) - at, "%s%s", i ? ", " : "",
				       c->policy_dirs[i]);
	zd_log(ZD_INFO, "no policy (NAME.conf) in %s: no ztier device", where);
}

static int collect(struct zd_daemon *d, const struct zd_conf *c, struct wanted *w)
{
	const char *dirs[ZD_DIRS_MAX];
	struct zd_filelist l;
	uint64_t ram = d->ram ? d->ram : zt_ram_bytes();
	int problems = 0, err;

	for (unsigned i = 0; i < c->nzswap; i++) {
		struct zd_stack *s = above_limit(&c->zswap[i], ram) ? NULL :
				     want(w, ZD_KIND_ZRAM, c->zswap[i].name);
		if (s)
			s->zswap = c->zswap[i];
	}
	if (d->policy_file) {
		want_policy(w, c, d->policy_file, NULL, &problems);
		return problems;
	}
	for (unsigned i = 0; i < c->npolicy_dirs; i++)
		dirs[i] = c->policy_dirs[i];
	if ((err = zd_dropins_collect(dirs, c->npolicy_dirs, ".conf", &l))) {
		zd_log(ZD_ERR, "reading policy directories: %s", strerror(-err));
		return 1;
	}
	for (unsigned i = 0; i < l.n; i++)
		want_policy(w, c, l.v[i].path, l.v[i].name, &problems);
	if (!l.n)
		say_no_policy(c);
	zd_filelist_free(&l);
	return problems;
}

/* ---- merging into the running list ------------------------------------------------ */

void zd_stack_free(struct zd_stack *s)
{
	free(s->policy);
	free(s->pending);
	s->policy = s->pending = NULL;
	s->has_pending = false;
}

struct zd_stack *zd_stack_find(struct zd_daemon *d, const char *name)
{
	for (unsigned i = 0; i < d->nstacks; i++)
		if (!strcmp(d->stacks[i].name, name))
			return &d->stacks[i];
	return NULL;
}


static bool same_policy(const struct zt_policy *a, const struct zt_policy *b)
{
	if (!a || !b)
		return a == b;
	return zt_policy_same(a, b);
}

/* What a built device cannot change (mem_limit and maintenance aside). */
static bool same_build(const struct zd_zswap *a, const struct zd_zswap *b)
{
	return !strcmp(a->zram.algorithm, b->zram.algorithm) &&
	       !strcmp(a->zram.params, b->zram.params) &&
	       !memcmp(&a->zram.size, &b->zram.size, sizeof(a->zram.size)) &&
	       a->priority == b->priority && a->discard == b->discard &&
	       a->host_memory_limit == b->host_memory_limit;
}

static void update_zram(struct zd_stack *s, const struct zd_zswap *z, const char *file)
{
	struct zg_dev dev = { .id = -1 };   /* zeroed: busy_timeout_ms = default */

	if (memcmp(&s->zswap.zram.mem_limit, &z->zram.mem_limit, sizeof(z->zram.mem_limit)) &&
	    s->zram_id >= 0 && zg_attach(&dev, s->zram_id) == 0 &&
	    zg_set_mem_limit(&dev, zt_size_resolve(&z->zram.mem_limit, 0)) == 0)
		zd_log(ZD_INFO, "%s: memory-limit applied live", s->name);
	if (s->state == ZD_ST_UP && !same_build(&s->zswap, z))
		zd_log(ZD_WARN, "%s: size, algorithm, priority or discard changed: needs "
		       "'ztierctl down %s; ztierctl up %s'", s->name, s->name, s->name);
	zd_maint_reload(s, z, file);        /* what a built device takes live */
	struct zt_maint in_force = s->zswap.maint;
	s->zswap = *z;
	if (s->zram_id >= 0)
		s->zswap.maint = in_force;
}

/* A built stack keeps the policy it was built with (teardown needs its
 * mount point, status shows what is in force); the new one is pending. */
static void set_pending(struct zd_stack *s, struct zd_stack *n)
{
	free(s->pending);
	s->pending = NULL;
	s->has_pending = !same_policy(s->policy, n->policy);
	if (!s->has_pending) {
		free(n->policy);
		n->policy = NULL;
		return;
	}
	s->pending = n->policy;
	n->policy = NULL;
	snprintf(s->pending_reason, sizeof(s->pending_reason), "%s", n->reason);
	zd_log(ZD_WARN, "%s: policy changed%s; the running stack keeps the old one until "
	       "'ztierctl down %s; ztierctl up %s'", s->name, s->pending ? "" :
	       " (the new one is invalid)", s->name, s->name);
}

static void update_ztier(struct zd_stack *s, struct zd_stack *n)
{
	if (s->state == ZD_ST_UP || s->state == ZD_ST_DEGRADED)
		return set_pending(s, n);
	free(s->pending);
	s->pending = NULL;
	s->has_pending = false;
	free(s->policy);
	s->policy = n->policy;
	n->policy = NULL;
	snprintf(s->spill, sizeof(s->spill), "%s", n->spill);
	if (!s->policy) {
		s->state = n->state;
		memcpy(s->reason, n->reason, sizeof(s->reason));
	} else if (s->state == ZD_ST_FAILED) {
		s->state = ZD_ST_DOWN;
	}
}

static void merge(struct zd_daemon *d, struct wanted *w)
{
	for (unsigned i = 0; i < d->nstacks; i++)
		d->stacks[i].removed = !d->stacks[i].added;
	for (unsigned i = 0; i < w->n; i++) {
		struct zd_stack *n = &w->v[i], *s = zd_stack_find(d, n->name);
		if (s && s->kind == n->kind) {
			s->removed = false;
			if (s->kind == ZD_KIND_ZRAM)
				update_zram(s, &n->zswap, d->conf.path);
			else
				update_ztier(s, n);
		} else if (d->nstacks < ZD_STACKS_MAX && !s) {
			d->stacks[d->nstacks++] = *n;
			n->policy = NULL;
		} else {
			zd_log(ZD_ERR, "%s: cannot add (name taken or too many stacks)", n->name);
		}
		free(n->policy);
	}
}

int zd_config_read(struct zd_daemon *d, bool reload)
{
	struct wanted *w = calloc(1, sizeof(*w));
	struct zd_conf *c = malloc(sizeof(*c));
	int problems;

	if (!w || !c) {
		free(w);
		free(c);
		return 1;
	}
	problems = read_conf(d, c);
	if (problems && !reload) {
		/* At start nothing runs that a half-read file could keep
		 * going: refuse, as ztierd(8) says (a reload goes on). */
		zd_log(ZD_ERR, "%s: %d problem(s): not starting", c->path, problems);
		free(w);
		free(c);
		return -EINVAL;
	}
	apply_overrides(d, c);
	if (reload && strcmp(c->socket, d->conf.socket))
		zd_log(ZD_WARN, "socket path changed: needs a restart of ztierd");
	if (reload)
		snprintf(c->socket, sizeof(c->socket), "%s", d->conf.socket);
	d->conf = *c;
	zd_log_set_level((enum zd_level)(d->opt_level >= 0 ? d->opt_level : c->level));
	problems += collect(d, c, w);
	merge(d, w);
	free(w);
	free(c);
	return problems;
}
