/*
 * tier.c — tier and codec names, and which tier may hold which class.
 *
 * The rule table is tiny on purpose: meta keeps only a 64-bit fill word per
 * page, so it can hold only same-filled pages; "none" holds nothing (it is
 * only meaningful as a fallback: fail the write).  Every other tier stores
 * whole pages and accepts any class.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

static const char *const tier_names[ZT_TIER_COUNT] = {
	[ZT_TIER_NONE] = "none",
	[ZT_TIER_META] = "meta",
	[ZT_TIER_STORE] = "store",
	[ZT_TIER_ZRAM] = "zram",
	[ZT_TIER_SPILL] = "spill",
};

const char *zt_tier_name(enum zt_tier t)
{
	return (unsigned)t < ZT_TIER_COUNT ? tier_names[t] : "unknown";
}

int zt_tier_from_name(const char *name)
{
	for (int t = 0; t < ZT_TIER_COUNT; t++)
		if (strcmp(name, tier_names[t]) == 0)
			return t;
	return -EINVAL;
}

bool zt_tier_accepts(enum zt_tier t, enum zt_class c)
{
	switch (t) {
	case ZT_TIER_META:
		return c == ZT_CLASS_SAMEFILL;
	case ZT_TIER_STORE:
	case ZT_TIER_ZRAM:
	case ZT_TIER_SPILL:
		return (unsigned)c < ZT_CLASS_COUNT;
	default:
		return false;
	}
}

#define ZSTD_LEVEL_DEFAULT 3
#define ZSTD_LEVEL_MAX 19
#define LZ4HC_LEVEL_DEFAULT 9     /* lz4's own LZ4HC_CLEVEL_DEFAULT */
#define LZ4HC_LEVEL_MAX 12

/* "NAME" (the default level) or "NAME:N" (1..max): 1 if s names it, 0 if
 * not, -EINVAL / -ERANGE for a bad level. */
static int parse_leveled(const char *s, const char *name, int dflt, int max, int *level)
{
	size_t n = strlen(name);
	char *end;
	long l;

	if (strncmp(s, name, n) != 0 || (s[n] != '\0' && s[n] != ':'))
		return 0;
	if (s[n] == '\0') {
		*level = dflt;
		return 1;
	}
	if (s[n + 1] < '0' || s[n + 1] > '9')
		return -EINVAL;
	l = strtol(s + n + 1, &end, 10);
	if (*end)
		return -EINVAL;
	if (l < 1 || l > max)
		return -ERANGE;
	*level = (int)l;
	return 1;
}

int zt_codec_parse(const char *s, struct zt_codec *out)
{
	int level, r;

	if (strcmp(s, "raw") == 0) {
		*out = (struct zt_codec){ ZT_CODEC_RAW, 0 };
		return 0;
	}
	if (strcmp(s, "lz4") == 0) {
		*out = (struct zt_codec){ ZT_CODEC_LZ4, 0 };
		return 0;
	}
	r = parse_leveled(s, "lz4hc", LZ4HC_LEVEL_DEFAULT, LZ4HC_LEVEL_MAX, &level);
	if (r > 0)
		*out = (struct zt_codec){ ZT_CODEC_LZ4, level };
	if (r)
		return r < 0 ? r : 0;
	r = parse_leveled(s, "zstd", ZSTD_LEVEL_DEFAULT, ZSTD_LEVEL_MAX, &level);
	if (r > 0)
		*out = (struct zt_codec){ ZT_CODEC_ZSTD, level };
	return r ? (r < 0 ? r : 0) : -EINVAL;
}

const char *zt_codec_format(const struct zt_codec *c, char *buf, size_t len)
{
	switch (c->kind) {
	case ZT_CODEC_RAW:
		snprintf(buf, len, "raw");
		break;
	case ZT_CODEC_LZ4:
		if (c->level)
			snprintf(buf, len, "lz4hc:%d", c->level);
		else
			snprintf(buf, len, "lz4");
		break;
	case ZT_CODEC_ZSTD:
		snprintf(buf, len, "zstd:%d", c->level);
		break;
	default:
		snprintf(buf, len, "unknown");
	}
	return buf;
}

const char *zt_spill_path(const struct zt_policy *p, char *out, size_t len)
{
	const char *t = p->spill.target;

	if (!t[0] || strcmp(t, "none") == 0)
		out[0] = '\0';
	else if (t[0] == '/')
		snprintf(out, len, "%s", t);
	else
		snprintf(out, len, "/dev/disk/by-id/%.4000s", t);
	return out;
}
