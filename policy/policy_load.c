/*
 * policy_load.c — read one policy file (INI, libinih) on top of a policy.
 *
 * libinih parses "key = value" lines and calls a handler per key, but
 * Debian builds it without INI_HANDLER_LINENO, it reports only the first
 * syntax error, and it never tells the handler about a section with no keys.
 * So we feed it through the shared line reader (common/ini_reader.c), which counts
 * lines (the handler runs while its line is current, so the reader's line is
 * the key's line), checks each line's shape, hands section headers to
 * enter_section() here and passes inih only well-formed "key = value" lines
 * (no continuations, comments cut, long lines reported, not split).
 * Every problem is reported and counted; parsing goes on so that one run
 * shows all of them.  Only a regular file of at most ZT_CONFIG_MAX bytes is
 * read (zt_open_regular): a FIFO or /dev/zero named as a policy is refused.
 */
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/common/common.h"
#include "policy/policy.h"
#include "policy/policy_keys.h"

struct load_ctx {
	struct zt_policy *p;
	const char *file;
	unsigned file_idx;
	struct zt_ini_reader rd;  /* the file, and the line being read        */
	struct zt_problems pr;
	char section[64];       /* current section ("" before the first one)  */
	bool section_ok;        /* false: unknown section, its keys are skipped */
	int use_line[2];        /* line of [swap] and of [fs] in this file     */
};

/* [swap] or [fs]: a device is one or the other, so not both in one file. */
static void enter_use_section(struct load_ctx *c, bool fs)
{
	int other = c->use_line[!fs];

	if (other) {
		zt_problem(&c->pr, c->file, c->rd.line, "[%s] conflicts with [%s] on line %d: the device "
			"is either swap or a file system", fs ? "fs" : "swap",
			fs ? "swap" : "fs", other);
		return;
	}
	c->use_line[fs] = c->rd.line;
	c->p->use.use = fs ? ZT_USE_FS : ZT_USE_SWAP;
	c->p->origin[ZT_KEY_USE] = (struct zt_origin){ c->file_idx, c->rd.line };
}

/* A "[name]" header (name trimmed), or NULL for one without ']'. */
static void enter_section(void *ctx, const char *s)
{
	struct load_ctx *c = ctx;

	c->section_ok = false;
	snprintf(c->section, sizeof(c->section), "?");
	if (!s)
		return;         /* the reader reported the missing ']' */
	if (!zt_section_known(s)) {
		zt_problem(&c->pr, c->file, c->rd.line, "unknown section [%s] (expected policy, classify, "
			"samefill, text, mixed, random, device, zram, spill, swap or fs)", s);
		return;
	}
	snprintf(c->section, sizeof(c->section), "%s", s);
	c->section_ok = true;
	if (strcmp(s, "swap") == 0 || strcmp(s, "fs") == 0)
		enter_use_section(c, strcmp(s, "fs") == 0);
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *c = user;
	char msg[400];

	if (!c->section_ok)
		return 1;       /* unknown section: reported once, at its header */
	if (!c->section[0]) {
		zt_problem(&c->pr, c->file, c->rd.line, "key '%s' outside any section", name);
		return 1;
	}
	const struct zt_key_def *k = zt_key_find(c->section, name);
	if (!k) {
		char keys[256];
		zt_key_list(c->section, keys, sizeof(keys));
		zt_problem(&c->pr, c->file, c->rd.line, "unknown key '%s' in [%s] (expected %s)",
			name, c->section, keys);
		return 1;
	}
	if (!*value) {
		zt_problem(&c->pr, c->file, c->rd.line, "empty value for '%s'", name);
		return 1;
	}
	int cls = zt_class_from_name(c->section);
	if (k->set(c->p, cls, value, msg, sizeof(msg))) {
		zt_problem(&c->pr, c->file, c->rd.line, "%s", msg);
		return 1;
	}
	if (k->key >= 0)
		c->p->origin[k->key + (cls >= 0 ? cls : 0)] =
			(struct zt_origin){ c->file_idx, c->rd.line };
	if (!strcmp(k->section, "maintenance"))   /* also the last of them */
		c->p->origin[ZT_KEY_MAINTENANCE] = (struct zt_origin){ c->file_idx, c->rd.line };
	return 1;
}

/* The policy's default name: the file's base name without ".conf". */
static void name_from_path(struct zt_policy *p, const char *path)
{
	const char *base = strrchr(path, '/');
	size_t len;

	base = base ? base + 1 : path;
	len = strlen(base);
	if (len > 5 && strcmp(base + len - 5, ".conf") == 0)
		len -= 5;
	if (len >= ZT_NAME_MAX)
		len = ZT_NAME_MAX - 1;
	memcpy(p->name, base, len);
	p->name[len] = 0;
}

/* A regular file of at most ZT_CONFIG_MAX bytes (common/file.c says why). */
static FILE *open_policy(struct load_ctx *c, int *err)
{
	char msg[160];
	int fd = zt_open_regular(c->file, 0, ZT_CONFIG_MAX, msg, sizeof(msg));
	FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;

	*err = 0;
	if (f)
		return f;
	if (fd >= 0) {
		*err = zt_fail_errno(msg, sizeof(msg), -errno, "cannot read");
		close(fd);
	} else {
		*err = fd;
	}
	zt_problem(&c->pr, c->file, 0, "%s", msg);
	return NULL;
}

/* After ini_parse_stream (its result r): 0, or the errno that cut the file
 * short.  inih sees only lines the reader checked, so a syntax error of its
 * own is not expected; it is reported all the same, never dropped. */
static int read_end(struct load_ctx *c, int r)
{
	int err = c->rd.err;

	if (err == -EFBIG)
		zt_problem(&c->pr, c->file, 0, "file too large (more than %u bytes)", ZT_CONFIG_MAX);
	else if (err || ferror(c->rd.f))
		zt_problem(&c->pr, c->file, 0, "read error: %s", strerror(err ? -err : EIO));
	else if (r == -2)
		err = -ENOMEM;
	else if (r > 0)
		zt_problem(&c->pr, c->file, r, "syntax error");
	return err || !ferror(c->rd.f) ? err : -EIO;
}

int zt_policy_load(struct zt_policy *p, const char *path,
		   zt_policy_report_fn report, void *ctx)
{
	struct load_ctx c = {
		.p = p, .file = path, .file_idx = p->nfiles,
		.pr = { .report = report, .ctx = ctx },
		.section_ok = true,
	};
	int err;

	if (p->nfiles >= ZT_POLICY_FILES_MAX) {
		zt_problem(&c.pr, c.file, 0, "too many policy files (at most %d)", ZT_POLICY_FILES_MAX);
		return -E2BIG;
	}
	c.rd = (struct zt_ini_reader){ .section = enter_section, .ctx = &c,
				       .pr = &c.pr, .file = path };
	c.rd.f = open_policy(&c, &err);
	if (!c.rd.f)
		return err;
	snprintf(p->files[p->nfiles++], ZT_PATH_MAX, "%s", path);
	snprintf(p->source, sizeof(p->source), "%s", path);
	if (c.file_idx == 0)
		name_from_path(p, path);
	err = read_end(&c, ini_parse_stream(zt_ini_read_line, &c.rd, on_key, &c));
	zt_ini_reader_free(&c.rd);
	fclose(c.rd.f);
	return err ? err : c.pr.count;
}
