/*
 * config_text.c — a server's resolved config as a file, and its identity
 * (ztu_config_save, ztu_config_load, ztu_config_id).
 *
 * Why text, by name.  The saved config outlives the binary that wrote it:
 * after a package upgrade, a recovery or a live restart (ztierctl restart)
 * is run by a newer ztier-ublk than the server that saved it, and a new
 * ztierd adopts the old servers by their configs.  The struct's bytes
 * could only be read by the build that wrote them, so every upgrade left
 * the old devices to servers nothing could take over.  So:
 *   - one `key=value` line per field; the value runs to the end of the
 *     line, with bytes up to ' ', '%' and 0x7f written as %XX (a path may
 *     hold anything);
 *   - `format=1` comes first.  A reader refuses a higher format: it is
 *     raised only when a key's meaning changes;
 *   - every key of the format must be there, once, and a key the reader
 *     does not know is refused, with FILE:LINE: a newer server's feature
 *     is never dropped in silence;
 *   - a key added later is written only when it is not its default, and
 *     read as its default when missing: an older server's config then
 *     reads back to the same text, so to the same identity;
 *   - the first line is a comment that names the version that wrote it,
 *     for people; nothing reads it.
 * Identity: FNV-1a of the lines after that comment.  The state's header
 * keeps it (state.h), and an attach refuses a state made for another one.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build/paths.h"        /* generated: ZT_VERSION */
#include "policy/common/common.h"
#include "ublk/ztublk.h"

#define FORMAT    1
#define FILE_MAX  (64u << 10)     /* above any config: two escaped paths are 24 KiB */
#define LINE_MAX_ (64 + 3 * ZT_PATH_MAX)    /* a key and an escaped path   */
#define LEVEL_MAX 22                        /* zstd's highest; lz4hc's is 12 */

/* A field added to struct ztu_config needs its key below (and, to keep
 * older configs readable, a default: see above).  A tripwire for whoever
 * adds one, on the ABI we build on (others lay the struct out otherwise). */
#if defined(__x86_64__) && defined(__LP64__)
_Static_assert(sizeof(struct ztu_config) == 8880, "a new config field needs its key here");
#endif

/* unsigned and uint32_t fields are one kind: the same 4 bytes on every
 * ABI Linux has. */
_Static_assert(sizeof(unsigned) == sizeof(uint32_t), "unsigned is 32 bits");
enum kind { K_STR, K_U64, K_U32, K_BOOL, K_DOUBLE, K_TARGET, K_RULE };

struct key {
	const char *name;
	enum kind kind;
	size_t off, size;
};

#define FIELD(n, k, f) { n, k, offsetof(struct ztu_config, f), \
			 sizeof(((struct ztu_config *)0)->f) }
#define RULE(n, c) { n, K_RULE, offsetof(struct ztu_config, rule) + \
		     (c) * sizeof(struct zt_class_rule), sizeof(struct zt_class_rule) }

static const struct key keys[] = {
	FIELD("name", K_STR, name),
	FIELD("target", K_TARGET, target),
	FIELD("size", K_U64, size),
	FIELD("queues", K_U32, queues),
	FIELD("depth", K_U32, depth),
	FIELD("io-buf-bytes", K_U32, io_buf_bytes),
	FIELD("mem-limit", K_U64, mem_limit),
	FIELD("commit-upfront", K_BOOL, commit_upfront),
	FIELD("text-entropy", K_DOUBLE, thresholds.text_entropy),
	FIELD("random-entropy", K_DOUBLE, thresholds.random_entropy),
	FIELD("text-byteset", K_U32, thresholds.text_byteset),
	RULE("rule.samefill", ZT_CLASS_SAMEFILL),
	RULE("rule.text", ZT_CLASS_TEXT),
	RULE("rule.mixed", ZT_CLASS_MIXED),
	RULE("rule.random", ZT_CLASS_RANDOM),
	FIELD("zram.algorithm", K_STR, zram.algorithm),
	FIELD("zram.params", K_STR, zram.params),
	FIELD("zram.disksize", K_U64, zram.disksize),
	FIELD("zram.mem-limit", K_U64, zram.mem_limit),
	FIELD("zram.backing-dev", K_STR, zram.backing_dev),
	FIELD("zram.recomp-algorithm", K_STR, zram.recomp_algorithm),
	FIELD("spill-path", K_STR, spill_path),
	FIELD("spill-size", K_U64, spill_size),
	FIELD("spill-encrypt", K_BOOL, spill_encrypt),
	FIELD("state-path", K_STR, state_path),
	FIELD("demote-age", K_U32, demote_age),
	FIELD("demote-budget", K_U64, demote_budget),
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))
_Static_assert(ZT_CLASS_COUNT == 4, "one rule key per class");

static const char *const codec_names[] = { "raw", "lz4", "zstd" };
static const char *const target_names[] = { "tiered", "null" };
static const char *const bool_names[] = { "no", "yes" };

/* ---- writing -------------------------------------------------------------------- */

static void escape(const char *s, char *out)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= ' ' || c == '%' || c == 0x7f)
			out += sprintf(out, "%%%02X", c);
		else
			*out++ = (char)c;
	}
	*out = '\0';
}

static void rule_text(const struct zt_class_rule *r, char *out)
{
	unsigned kind = (unsigned)r->codec.kind;

	sprintf(out, "%s %s %s %d", zt_tier_name(r->tier), zt_tier_name(r->fallback),
		kind < sizeof(codec_names) / sizeof(codec_names[0]) ? codec_names[kind] : "unknown", r->codec.level);
}

/* One key's line, with its newline, into line (LINE_MAX_ bytes). */
static void key_line(const struct ztu_config *cfg, const struct key *k, char *line)
{
	const char *f = (const char *)cfg + k->off;
	char *v = line + sprintf(line, "%s=", k->name);
	uint64_t u64;
	uint32_t u32;
	double d;
	bool b;

	switch (k->kind) {
	case K_STR:
		escape(f, v);
		break;
	case K_U64:
		memcpy(&u64, f, sizeof(u64));
		sprintf(v, "%" PRIu64, u64);
		break;
	case K_U32:
		memcpy(&u32, f, sizeof(u32));
		sprintf(v, "%" PRIu32, u32);
		break;
	case K_BOOL:
		memcpy(&b, f, sizeof(b));
		strcpy(v, bool_names[b]);
		break;
	case K_DOUBLE:                    /* 17 digits: read back exactly */
		memcpy(&d, f, sizeof(d));
		sprintf(v, "%.17g", d);
		break;
	case K_TARGET:
		strcpy(v, target_names[cfg->target == ZTU_TARGET_NULL]);
		break;
	case K_RULE:
		rule_text((const struct zt_class_rule *)f, v);
		break;
	}
	strcat(v, "\n");
}

/* Every line after the comment, each handed to out. */
static int each_line(const struct ztu_config *cfg, int (*out)(void *ctx, const char *s),
		     void *ctx)
{
	char line[LINE_MAX_];
	int ret;

	snprintf(line, sizeof(line), "format=%d\n", FORMAT);
	if ((ret = out(ctx, line)))
		return ret;
	for (size_t i = 0; i < NKEYS; i++) {
		key_line(cfg, &keys[i], line);
		if ((ret = out(ctx, line)))
			return ret;
	}
	return 0;
}

static int hash_line(void *ctx, const char *s)
{
	uint64_t *h = ctx;

	for (; *s; s++)
		*h = (*h ^ (unsigned char)*s) * UINT64_C(0x100000001b3);
	return 0;
}

uint64_t ztu_config_id(const struct ztu_config *cfg)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	each_line(cfg, hash_line, &h);
	return h;
}

static int write_line(void *ctx, const char *s)
{
	int fd = *(int *)ctx;

	for (size_t len = strlen(s); len;) {
		ssize_t n = write(fd, s, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

int ztu_config_save(int fd, const struct ztu_config *cfg)
{
	int ret = write_line(&fd, "# ztier-ublk device config, written by ztier " ZT_VERSION "\n");

	return ret ? ret : each_line(cfg, write_line, &fd);
}

/* ---- reading -------------------------------------------------------------------- */

struct reader {
	const char *path;
	unsigned line;
	char *msg;
	size_t len;
};

static int bad(struct reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct reader *r, const char *fmt, ...)
{
	char what[ZTU_MSG_MAX], where[ZT_PATH_MAX + 16];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return zt_fail(r->msg, r->len, -EPROTO, "%s: %s",
		       zt_where(where, sizeof(where), r->path, (int)r->line), what);
}

static int hex(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* %XX back to its byte, in place; -1 for a broken one or a NUL. */
static int unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (*s != '%') {
			*o++ = *s;
			continue;
		}
		if (hex(s[1]) < 0 || hex(s[2]) < 0 || !(hex(s[1]) | hex(s[2])))
			return -1;
		*o++ = (char)(hex(s[1]) << 4 | hex(s[2]));
		s += 2;
	}
	*o = '\0';
	return 0;
}

static bool number(const char *v, uint64_t max, uint64_t *out)
{
	char *end;

	if (*v < '0' || *v > '9')
		return false;
	errno = 0;
	*out = strtoull(v, &end, 10);
	return !errno && !*end && *out <= max;
}

static int named(const char *v, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(v, names[i]))
			return i;
	return -1;
}

static bool parse_rule(const char *v, struct zt_class_rule *r)
{
	char tier[16], fallback[16], codec[16], level[16], end;
	int t, f, c;
	uint64_t lv;

	if (sscanf(v, "%15s %15s %15s %15s%c", tier, fallback, codec, level, &end) != 4)
		return false;
	t = zt_tier_from_name(tier);
	f = zt_tier_from_name(fallback);
	c = named(codec, codec_names, 3);
	if (t < 0 || f < 0 || c < 0 || !number(level, LEVEL_MAX, &lv))
		return false;
	*r = (struct zt_class_rule){ .tier = (enum zt_tier)t, .fallback = (enum zt_tier)f,
				     .codec = { .kind = (enum zt_codec_kind)c, .level = (int)lv } };
	return true;
}

/* The value v of key k into cfg: true, or false if it is not one. */
static bool set_value(struct ztu_config *cfg, const struct key *k, char *v)
{
	char *f = (char *)cfg + k->off;
	uint64_t n;
	char *end;
	double d;
	int i;

	switch (k->kind) {
	case K_STR:
		if (unescape(v) || strlen(v) >= k->size)
			return false;
		strcpy(f, v);
		return true;
	case K_U64:
		if (!number(v, UINT64_MAX, &n))
			return false;
		memcpy(f, &n, sizeof(uint64_t));
		return true;
	case K_U32:
		if (!number(v, UINT32_MAX, &n))
			return false;
		memcpy(f, &(uint32_t){ (uint32_t)n }, sizeof(uint32_t));
		return true;
	case K_BOOL:
		if ((i = named(v, bool_names, 2)) < 0)
			return false;
		memcpy(f, &(bool){ i == 1 }, sizeof(bool));
		return true;
	case K_DOUBLE:
		errno = 0;
		d = strtod(v, &end);
		if (!*v || *end || errno || !isfinite(d))   /* nan(...) would not read back */
			return false;
		memcpy(f, &d, sizeof(double));
		return true;
	case K_TARGET:
		if ((i = named(v, target_names, 2)) < 0)
			return false;
		cfg->target = i ? ZTU_TARGET_NULL : ZTU_TARGET_TIERED;
		return true;
	case K_RULE:
		return parse_rule(v, (struct zt_class_rule *)f);
	}
	return false;
}

static int read_format(struct reader *r, const char *v, const char *shown, bool *format_seen)
{
	uint64_t f;
	bool is_number = number(v, UINT32_MAX, &f);

	if (*format_seen)
		return bad(r, "format given twice");
	if (!is_number || f != FORMAT)
		return bad(r, "format '%s': this ztier-ublk reads format %d%s", shown, FORMAT,
			   is_number && f > FORMAT ? " (a newer ztier wrote it)" : "");
	*format_seen = true;
	return 0;
}

static const struct key *find_key(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (!strcmp(name, keys[i].name))
			return &keys[i];
	return NULL;
}

/* One `key=value` line (comments and blank lines skipped by the caller).
 * Messages show keys and values as printable text, cut short. */
static int read_line(struct reader *r, char *s, struct ztu_config *cfg, bool *seen,
		     bool *format_seen)
{
	char *v = strchr(s, '='), key[64], val[64];
	const struct key *k;

	if (!v)
		return bad(r, "'%s': not key=value", zt_printable(key, sizeof(key), s, ""));
	*v++ = '\0';
	zt_printable(key, sizeof(key), s, "");
	zt_printable(val, sizeof(val), v, "");
	if (!strcmp(s, "format"))
		return read_format(r, v, val, format_seen);
	if (!*format_seen)
		return bad(r, "'%s' before format=", key);
	if (!(k = find_key(s)))
		return bad(r, "unknown key '%s' (a newer ztier's?)", key);
	if (seen[k - keys])
		return bad(r, "'%s' given twice", key);
	seen[k - keys] = true;
	return set_value(cfg, k, v) ? 0 : bad(r, "%s: bad value '%s'", key, val);
}

static int parse(struct reader *r, char *text, struct ztu_config *cfg)
{
	bool seen[NKEYS] = { false }, format_seen = false;
	char *next;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	for (char *s = text; *s; s = next) {
		next = strchr(s, '\n');
		r->line++;
		if (!next)
			return bad(r, "the last line has no newline: cut short?");
		*next++ = '\0';
		if (*s && *s != '#' && (ret = read_line(r, s, cfg, seen, &format_seen)))
			return ret;
	}
	if (!format_seen)
		return zt_fail(r->msg, r->len, -EPROTO, "%s: not a ztier-ublk config (no format=)",
			       r->path);
	for (size_t i = 0; i < NKEYS; i++)
		if (!seen[i])
			return zt_fail(r->msg, r->len, -EPROTO, "%s: no %s= (cut short?)", r->path,
				       keys[i].name);
	return 0;
}

static int read_file(int fd, char *buf, size_t cap, size_t *got)
{
	*got = 0;
	for (;;) {
		ssize_t n = read(fd, buf + *got, cap - 1 - *got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		*got += (size_t)n;
		if (*got == cap - 1)
			return -EFBIG;
	}
	buf[*got] = '\0';
	return 0;
}

int ztu_config_load(int fd, const char *path, struct ztu_config *cfg, char *msg, size_t len)
{
	struct reader r = { .path = path, .msg = msg, .len = len };
	char *text = malloc(FILE_MAX);
	size_t got;
	int ret;

	if (!text)
		return zt_fail(msg, len, -ENOMEM, "%s: out of memory", path);
	ret = read_file(fd, text, FILE_MAX, &got);
	if (ret == -EFBIG)
		ret = zt_fail(msg, len, -EPROTO, "%s: over %u KiB: not a config", path,
			      FILE_MAX >> 10);
	else if (ret)
		ret = zt_fail_errno(msg, len, ret, path);
	else if (memchr(text, '\0', got))
		ret = zt_fail(msg, len, -EPROTO, "%s: holds a NUL byte: not a config (an older "
			      "ztier's?)", path);
	else
		ret = parse(&r, text, cfg);
	free(text);
	return ret;
}
