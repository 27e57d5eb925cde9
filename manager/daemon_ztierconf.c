/*
 * daemon_ztierconf.c — ztier.conf: the daemon's own settings and plain zram swap.
 *
 *   [ztierd]
 *   policy-dir = /etc/ztier/policy.d      (repeatable; replaces the defaults)
 *   socket = /run/ztier/ztierd.sock
 *   log-level = info                      (error, warning, info, debug)
 *
 *   [zram-swap fast]                      (one plain zram swap device)
 *   size = ram/4
 *   algorithm = lz4
 *   params = level=3
 *   memory-limit = 1G
 *   priority = 150
 *   discard = yes
 *   host-memory-limit = 64G               (not created on a machine with more)
 *   writeback-device = /dev/...           (and the other maintenance keys of
 *                                          policy/maint.c, as in a policy)
 *
 * Plain zram swap lives here rather than in a policy: a policy describes one
 * ztier device (its classes, tiers, codecs), while a zram swap device has
 * none of that; it is the zram-generator [zramN] section of ztier.  libinih
 * parses, fed by the policy files' line reader (policy/common/ini_reader.c): whole
 * lines, no continuations, sections seen here, FILE:LINE for every problem
 * the same way as for a policy.  Like a policy it must be a regular file of
 * at most ZT_CONFIG_MAX bytes (zt_open_regular).
 */
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build/paths.h"        /* generated: ZT_VERSION, ZT_SYSCONFDIR, ... */
#include "manager/daemon.h"
#include "policy/common/common.h"

void zd_conf_default(struct zd_conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->socket, sizeof(c->socket), "%s", ZD_SOCKET_PATH);
	snprintf(c->policy_dirs[0], ZT_PATH_MAX, "%s", ZT_DATADIR "/ztier/policy.d");
	snprintf(c->policy_dirs[1], ZT_PATH_MAX, "%s", ZT_SYSCONFDIR "/ztier/policy.d");
	snprintf(c->policy_dirs[2], ZT_PATH_MAX, "%s", ZD_RUN_DIR "/policy.d");
	c->npolicy_dirs = 3;
	c->level = ZD_INFO;
	c->page_cluster = -1;
	c->recover_deaths = 5;        /* a server that dies 5 times a minute */
	c->recover_seconds = 60;      /* dies of its input, not of bad luck  */
}

struct conf_ctx {
	struct zd_conf *c;
	struct zt_ini_reader rd;
	const char *path;
	struct zt_problems pr;            /* to the log, FILE:LINE          */
	bool dirs_given;
	bool section_seen;
	char section[ZT_NAME_MAX + 16];  /* "" before the first / after a bad one */
};

/* A problem at the line being read (every key handler's case). */
#define PROBLEM(x, ...) zt_problem(&(x)->pr, (x)->path, (x)->rd.line, __VA_ARGS__)

/* "N/SECONDS": N server deaths within SECONDS are a crash loop. */
static void recover_limit(struct conf_ctx *x, const char *v)
{
	unsigned n, sec;
	char end;

	if (sscanf(v, "%u/%u%c", &n, &sec, &end) != 2 || n < 1 || n > ZD_DEATHS_MAX ||
	    sec < 1 || sec > 86400)
		return (void)PROBLEM(x, "recover-limit '%s': expected DEATHS/SECONDS, 1..%d "
				     "deaths within 1..86400 s (e.g. 5/60)", v, ZD_DEATHS_MAX);
	x->c->recover_deaths = n;
	x->c->recover_seconds = sec;
}

/* keep, or 0..31 (the kernel's own bound for vm.page-cluster). */
static void page_cluster(struct conf_ctx *x, const char *v)
{
	char *end;
	long n = strtol(v, &end, 10);

	if (!strcmp(v, "keep"))
		x->c->page_cluster = -1;
	else if (end == v || *end || n < 0 || n > 31)
		PROBLEM(x, "page-cluster '%s': expected keep or 0..31 (swap-in readahead of "
			"2^N pages)", v);
	else
		x->c->page_cluster = (int)n;
}

static void daemon_key(struct conf_ctx *x, const char *k, const char *v)
{
	struct zd_conf *c = x->c;
	int l;

	if (!strcmp(k, "policy-dir")) {
		if (!x->dirs_given)
			c->npolicy_dirs = 0;
		x->dirs_given = true;
		if (c->npolicy_dirs == ZD_DIRS_MAX)
			return PROBLEM(x, "more than %d policy-dir lines", ZD_DIRS_MAX);
		snprintf(c->policy_dirs[c->npolicy_dirs++], ZT_PATH_MAX, "%s", v);
	} else if (!strcmp(k, "socket")) {
		if (v[0] != '/' || strlen(v) >= sizeof(c->socket))
			return PROBLEM(x, "socket '%s': need an absolute path under %zu bytes",
				       v, sizeof(c->socket));
		snprintf(c->socket, sizeof(c->socket), "%s", v);
	} else if (!strcmp(k, "log-level")) {
		if ((l = zd_level_parse(v)) < 0)
			return PROBLEM(x, "log-level '%s': expected error, warning, info or debug", v);
		c->level = l;
	} else if (!strcmp(k, "recover-limit")) {
		recover_limit(x, v);
	} else if (!strcmp(k, "zswap")) {
		if (strcmp(v, "disable") && strcmp(v, "keep"))
			return PROBLEM(x, "zswap '%s': expected disable (while swap stacks are up) "
				       "or keep", v);
		c->zswap_keep = !strcmp(v, "keep");
	} else if (!strcmp(k, "page-cluster")) {
		page_cluster(x, v);
	} else {
		PROBLEM(x, "unknown key '%s' in [ztierd] (expected policy-dir, socket, log-level, "
			"recover-limit, zswap, page-cluster)", k);
	}
}

static struct zd_zswap *zswap_for(struct conf_ctx *x, const char *name)
{
	struct zd_conf *c = x->c;

	for (unsigned i = 0; i < c->nzswap; i++)
		if (!strcmp(c->zswap[i].name, name))
			return &c->zswap[i];
	if (c->nzswap == ZD_STACKS_MAX || !name[0] || strlen(name) >= ZT_NAME_MAX) {
		PROBLEM(x, "[zram-swap %s]: bad name or too many devices", name);
		return NULL;
	}
	struct zd_zswap *z = &c->zswap[c->nzswap++];
	memset(z, 0, sizeof(*z));
	snprintf(z->name, sizeof(z->name), "%s", name);
	z->priority = -1;
	z->discard = true;
	zt_maint_default(&z->maint);
	z->line = x->rd.line;
	return z;
}

/* zram-generator's host-memory-limit: "none" or an absolute size (it is
 * compared with RAM, so a fraction of RAM would mean nothing). */
static void host_limit(struct conf_ctx *x, struct zd_zswap *z, const char *v)
{
	struct zt_size s;
	char msg[200];

	if (!strcmp(v, "none")) {
		z->host_memory_limit = 0;
		return;
	}
	if (zt_size_parse_msg(v, &s, msg, sizeof(msg)))
		return PROBLEM(x, "host-memory-limit '%s': %s (e.g. 8G or none)", v, msg);
	if (s.ram_den || s.expr[0] || !s.bytes)
		return PROBLEM(x, "host-memory-limit '%s': an amount of RAM such as 8G, or none", v);
	if (!v[strspn(v, "0123456789")])
		return PROBLEM(x, "host-memory-limit '%s' has no unit: write one (%sM: "
			       "zram-generator's host-memory-limit is in MiB)", v, v);
	z->host_memory_limit = s.bytes;
}

static void zswap_key(struct conf_ctx *x, const char *name, const char *k, const char *v)
{
	struct zd_zswap *z = zswap_for(x, name);
	char msg[400];
	int err;

	if (!z)
		return;
	if ((err = zt_maint_set(&z->maint, k, v, msg, sizeof(msg))) != -ENOENT) {
		z->maint_line = x->rd.line;
		for (unsigned i = 0; zt_maint_keys[i] && i < ZD_MAINT_KEYS; i++)
			if (!strcmp(zt_maint_keys[i], k))
				z->maint_key_line[i] = x->rd.line;
		if (err)
			PROBLEM(x, "%s", msg);
	} else if (!strcmp(k, "size")) {
		if (zt_size_parse_msg(v, &z->zram.size, msg, sizeof(msg)))
			PROBLEM(x, "size '%s': %s", v, msg);
		else if (!zt_size_is_set(&z->zram.size))
			PROBLEM(x, "size must not be 0");
	} else if (!strcmp(k, "memory-limit")) {
		if (zt_value_mem_limit(k, v, &z->zram.mem_limit, msg, sizeof(msg)))
			PROBLEM(x, "%s", msg);
	} else if (!strcmp(k, "algorithm")) {
		if (strlen(v) >= sizeof(z->zram.algorithm) || strchr(v, ' '))
			return PROBLEM(x, "algorithm '%s': one kernel algorithm name", v);
		snprintf(z->zram.algorithm, sizeof(z->zram.algorithm), "%s", v);
	} else if (!strcmp(k, "params")) {
		if (strlen(v) >= sizeof(z->zram.params))
			return PROBLEM(x, "params too long");
		snprintf(z->zram.params, sizeof(z->zram.params), "%s", v);
	} else if (!strcmp(k, "priority")) {
		if (zt_value_priority(k, v, &z->priority, msg, sizeof(msg)))
			PROBLEM(x, "%s", msg);
	} else if (!strcmp(k, "discard")) {
		if (zt_value_bool(k, v, &z->discard, msg, sizeof(msg)))
			PROBLEM(x, "%s", msg);
	} else if (!strcmp(k, "host-memory-limit")) {
		host_limit(x, z, v);
	} else {
		PROBLEM(x, "unknown key '%s' in [zram-swap %s] (expected size, algorithm, "
			"params, memory-limit, priority, discard, host-memory-limit or a "
			"maintenance key: writeback-device, writeback-idle-age, ...)", k, name);
	}
}

/* A section header: known ones become current; keys of others are skipped
 * (the header is the one problem reported). */
static void on_section(void *ctx, const char *name)
{
	struct conf_ctx *x = ctx;

	x->section[0] = '\0';
	x->section_seen = true;
	if (!name)
		return;
	if (strcmp(name, "ztierd") && strncmp(name, "zram-swap ", 10))
		return PROBLEM(x, "unknown section [%s] (expected [ztierd] or [zram-swap NAME])",
			       name);
	if (strlen(name) >= sizeof(x->section))
		return PROBLEM(x, "[%.40s...]: name too long", name);
	snprintf(x->section, sizeof(x->section), "%s", name);
	if (name[0] == 'z' && name[1] == 'r')
		zswap_for(x, name + 10);      /* declared even without keys */
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct conf_ctx *x = user;

	(void)section;                        /* always "": the reader keeps it */
	if (!strcmp(x->section, "ztierd"))
		daemon_key(x, name, value);
	else if (!strncmp(x->section, "zram-swap ", 10))
		zswap_key(x, x->section + 10, name, value);
	else if (x->rd.line > 0 && !x->section_seen)
		PROBLEM(x, "key '%s' outside any section", name);
	return 1;
}

/* The file as a stream, or NULL with the reason reported (line 0). */
static FILE *conf_open(struct conf_ctx *x, int *err)
{
	char msg[160];
	int fd = zt_open_regular(x->path, 0, ZT_CONFIG_MAX, msg, sizeof(msg));
	FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;

	if (f)
		return f;
	*err = fd >= 0 ? zt_fail_errno(msg, sizeof(msg), -errno, "cannot read") : fd;
	if (fd >= 0)
		close(fd);
	zt_problem(&x->pr, x->path, 0, "%s", msg);
	return NULL;
}

/* Checks across the keys of one [zram-swap NAME], once it is all read. */
static void check_zswap(struct conf_ctx *x, const struct zd_zswap *z)
{
	char msg[300];

	if (!zt_size_is_set(&z->zram.size))
		zt_problem(&x->pr, x->path, z->line, "[zram-swap %s] needs a size", z->name);
	if (zt_maint_check(&z->maint, msg, sizeof(msg)))
		zt_problem(&x->pr, x->path, z->maint_line, "[zram-swap %s]: %s", z->name, msg);
}

int zd_conf_load(struct zd_conf *c, const char *path)
{
	struct conf_ctx x = { .c = c, .path = path, .pr = { .report = zd_log_problem } };
	int r, err = 0;

	x.rd = (struct zt_ini_reader){ .section = on_section, .ctx = &x, .pr = &x.pr,
				       .file = path };
	if (!(x.rd.f = conf_open(&x, &err)))
		return err;
	snprintf(c->path, sizeof(c->path), "%s", path);
	r = ini_parse_stream(zt_ini_read_line, &x.rd, on_key, &x);
	/* A read error or a file grown too large ends it like EOF would. */
	err = x.rd.err ? x.rd.err : ferror(x.rd.f) ? -EIO : r == -2 ? -ENOMEM : 0;
	zt_ini_reader_free(&x.rd);
	fclose(x.rd.f);
	if (err) {
		zt_problem(&x.pr, path, 0, "%s", err == -EFBIG ? "file too large" : strerror(-err));
		return err;
	}
	if (r > 0)
		zt_problem(&x.pr, path, r, "syntax error");
	for (unsigned i = 0; i < c->nzswap; i++)
		check_zswap(&x, &c->zswap[i]);
	return x.pr.count;
}
