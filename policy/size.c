/*
 * size.c — sizes as a policy writes them: "4G", "512M", "4096", "ram/4",
 * "ram*3/4", "ram".
 *
 * Binary units (K = 1024) like zram-generator and util-linux; an optional
 * trailing "B" or "iB" is accepted ("4GiB").  A fraction of RAM is kept as a
 * fraction and resolved only when the device is set up, so one policy file
 * fits machines of any size.  Spaces around '*' and '/' are allowed.
 * Anything else is tried as an expression (size_expr.c): "min(ram / 2, 4G)".
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "policy/policy.h"

static const char *skip_spaces(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

/* Digits only (no sign, no hex); -EINVAL if none, -ERANGE on overflow. */
static int parse_u64(const char **sp, uint64_t *out)
{
	const char *s = *sp;
	uint64_t v = 0;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	for (; isdigit((unsigned char)*s); s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*sp = s;
	*out = v;
	return 0;
}

static int unit_shift(const char *s, unsigned *shift)
{
	static const char units[] = "KMGTPE";
	const char *u = *s ? strchr(units, toupper((unsigned char)*s)) : NULL;

	if (!*s) {
		*shift = 0;
		return 0;
	}
	if (strcmp(s, "B") == 0 || strcmp(s, "b") == 0) {
		*shift = 0;
		return 0;
	}
	if (!u)
		return -EINVAL;
	if (s[1] && strcmp(s + 1, "B") && strcmp(s + 1, "iB"))
		return -EINVAL;
	*shift = 10 * (unsigned)(u - units + 1);
	return 0;
}

static int parse_bytes(const char *s, struct zt_size *out)
{
	uint64_t v;
	unsigned shift;
	int err = parse_u64(&s, &v);

	if (err)
		return err;
	if (unit_shift(s, &shift))
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = (struct zt_size){ .bytes = v << shift };
	return 0;
}

static int parse_factor(const char **sp, uint32_t *out)
{
	uint64_t v;
	const char *s = skip_spaces(*sp);
	int err = parse_u64(&s, &v);

	if (err)
		return err;
	if (v == 0 || v > UINT32_MAX)
		return -ERANGE;
	*out = (uint32_t)v;
	*sp = skip_spaces(s);
	return 0;
}

#define ZT_RAM_FACTOR_MAX 1024u

/* "ram", "ram/D", "ram*N", "ram*N/D" (s points past "ram"). */
static int parse_ram(const char *s, struct zt_size *out)
{
	uint32_t num = 1, den = 1;
	int err = 0;

	s = skip_spaces(s);
	if (*s == '*') {
		s++;
		err = parse_factor(&s, &num);
	}
	if (!err && *s == '/') {
		s++;
		err = parse_factor(&s, &den);
	}
	if (err)
		return err;
	if (*s)
		return -EINVAL;
	/* A size is memory or swap for this machine: more than ZT_RAM_FACTOR_MAX
	 * times its RAM is a typo, and bounding the factors keeps every
	 * resolved size far from overflow. */
	if (num > ZT_RAM_FACTOR_MAX * den || num > ZT_RAM_FACTOR_MAX ||
	    den > ZT_RAM_FACTOR_MAX)
		return -ERANGE;
	*out = (struct zt_size){ .ram_num = num, .ram_den = den };
	return 0;
}

/* The old forms ("4G", "ram*3/4") exactly as before: 0, -ERANGE, or
 * -EINVAL when the text is none of them (maybe an expression). */
static int parse_simple(const char *s, size_t len, struct zt_size *out)
{
	char buf[64];

	if (strncmp(s, "ram", 3) == 0) {
		if (len >= sizeof(buf))
			return -EINVAL;
		memcpy(buf, s, len);
		buf[len] = 0;
		return parse_ram(buf + 3, out);
	}
	if (len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = 0;
	return parse_bytes(buf, out);
}

#define SAMPLE_SMALL (1ull << 30)   /* expressions are checked at 1 GiB ... */
#define SAMPLE_LARGE (1ull << 40)   /* ... and at 1 TiB of RAM               */

/* An expression is checked once at parse time against two machines: what
 * fails there (syntax, units, a constant division by zero, a size beyond
 * ZT_RAM_FACTOR_MAX x RAM or 16 EiB) is refused now, not at boot. */
static int check_expr(const char *s, char *msg, size_t len)
{
	static const uint64_t rams[] = { SAMPLE_SMALL, SAMPLE_LARGE };
	long double v;
	int err;

	for (size_t i = 0; i < 2; i++) {
		if ((err = zt_size_eval(s, rams[i], &v, msg, len)))
			return err;
		if (v >= 0x1p64L || v > (long double)rams[i] * ZT_RAM_FACTOR_MAX) {
			snprintf(msg, len, "'%s' out of range (more than %u x RAM or 16E)", s,
				 ZT_RAM_FACTOR_MAX);
			return -ERANGE;
		}
	}
	if (v < ZT_PAGE_SIZE) {
		snprintf(msg, len, "'%s' is %s even with 1T of RAM", s,
			 v < 0 ? "negative" : "less than a page");
		return -ERANGE;
	}
	return 0;
}

int zt_size_parse_msg(const char *s, struct zt_size *out, char *msg, size_t len)
{
	char scratch[8];
	size_t n;
	int err;

	if (!msg || !len) {
		msg = scratch;
		len = sizeof(scratch);
	}
	msg[0] = '\0';
	s = skip_spaces(s);
	n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	/* "ram*0.5" is not the old form but is an expression: try it too. */
	if ((err = parse_simple(s, n, out)) == 0 || (err == -ERANGE && strncmp(s, "ram", 3))) {
		if (err)
			snprintf(msg, len, "'%.*s' out of range", (int)n, s);
		return err;
	}
	if (n >= ZT_SIZE_EXPR_MAX) {
		snprintf(msg, len, "expression longer than %d characters", ZT_SIZE_EXPR_MAX - 1);
		return -EINVAL;
	}
	struct zt_size z = { 0 };
	memcpy(z.expr, s, n);
	if ((err = check_expr(z.expr, msg, len)))
		return err;
	*out = z;
	return 0;
}

int zt_size_parse(const char *s, struct zt_size *out)
{
	return zt_size_parse_msg(s, out, NULL, 0);
}

uint64_t zt_ram_bytes(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	uint64_t kib = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %" SCNu64 " kB", &kib) == 1)
			break;
	fclose(f);
	return kib * 1024;
}

/* Whole pages; what cannot be a size here (negative: "ram - 4G" on a 2G
 * machine) is 0, which the caller reports as it reports any 0 size. */
static uint64_t resolve_expr(const char *expr, uint64_t ram)
{
	long double v;

	if (zt_size_eval(expr, ram, &v, NULL, 0) || v < 0)
		return 0;
	if (v >= 0x1p64L)
		return UINT64_MAX & ~(uint64_t)(ZT_PAGE_SIZE - 1);
	return (uint64_t)v & ~(uint64_t)(ZT_PAGE_SIZE - 1);
}

uint64_t zt_size_resolve(const struct zt_size *s, uint64_t ram_bytes)
{
	if (!s->ram_den && !s->expr[0])
		return s->bytes;
	if (!ram_bytes)
		ram_bytes = zt_ram_bytes();
	if (s->expr[0])
		return resolve_expr(s->expr, ram_bytes);
	unsigned __int128 v = (unsigned __int128)ram_bytes * s->ram_num / s->ram_den;
	v -= v % ZT_PAGE_SIZE;          /* devices are sized in whole pages */
	return v > UINT64_MAX ? UINT64_MAX : (uint64_t)v;
}

const char *zt_size_format(const struct zt_size *s, char *buf, size_t len)
{
	static const char units[] = "KMGTPE";
	int u = -1;
	uint64_t v = s->bytes;

	if (s->expr[0]) {
		snprintf(buf, len, "%s", s->expr);
		return buf;
	}
	if (s->ram_den) {
		if (s->ram_num == 1 && s->ram_den == 1)
			snprintf(buf, len, "ram");
		else if (s->ram_num == 1)
			snprintf(buf, len, "ram/%" PRIu32, s->ram_den);
		else if (s->ram_den == 1)
			snprintf(buf, len, "ram*%" PRIu32, s->ram_num);
		else
			snprintf(buf, len, "ram*%" PRIu32 "/%" PRIu32, s->ram_num, s->ram_den);
		return buf;
	}
	while (v && v % 1024 == 0 && u < 5) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%" PRIu64, v);
	else
		snprintf(buf, len, "%" PRIu64 "%c", v, units[u]);
	return buf;
}

const char *zt_size_human(int64_t bytes, char *buf, size_t len)
{
	static const char units[] = "BKMGTPE";
	double v = (double)bytes;
	int u = 0;

	if (bytes < 1024) {
		snprintf(buf, len, bytes ? "%lldB" : "0", (long long)bytes);
		return buf;
	}
	while (v >= 1024 && u < 6) {
		v /= 1024;
		u++;
	}
	if (v < 10 && (int64_t)(v * 10) % 10)
		snprintf(buf, len, "%.1f%c", v, units[u]);
	else
		snprintf(buf, len, "%.0f%c", v, units[u]);
	return buf;
}

bool zt_size_is_set(const struct zt_size *s)
{
	return s->bytes != 0 || s->ram_den != 0 || s->expr[0];
}
