/*
 * policy_keys.c — parse and range-check the value of every policy key.
 *
 * Each setter validates one value on its own (syntax and range); checks that
 * need two keys (a tier that cannot take a class, the zram tier without a
 * zram size, ...) live in policy_validate.c.  Messages say what was wrong
 * and what is expected, since they are all the user sees.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/common/common.h"
#include "policy/policy.h"
#include "policy/policy_keys.h"

#define FAIL(...) zt_fail(msg, len, -1, __VA_ARGS__)

static int parse_double(const char *v, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(v, &end);
	return (end == v || *end || errno || !isfinite(*out)) ? -1 : 0;
}

static int parse_long(const char *v, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(v, &end, 10);
	return (end == v || *end || errno) ? -1 : 0;
}

static int set_entropy(double *dst, const char *key, const char *v,
		       char *msg, size_t len)
{
	double d;

	if (parse_double(v, &d))
		return FAIL("bad value '%s' for %s: expected bits/byte, 0 to 8", v, key);
	if (d < 0 || d > 8)
		return FAIL("%s %s out of range (0 to 8 bits/byte)", key, v);
	*dst = d;
	return 0;
}

static int set_long(long *dst, const char *key, const char *v, long lo, long hi,
		    char *msg, size_t len)
{
	long n;

	if (parse_long(v, &n))
		return FAIL("bad value '%s' for %s: expected an integer", v, key);
	if (n < lo || n > hi)
		return FAIL("%s %s out of range (%ld to %ld)", key, v, lo, hi);
	*dst = n;
	return 0;
}

static int set_size(struct zt_size *dst, const char *key, const char *v,
		    bool zero_ok, char *msg, size_t len)
{
	struct zt_size s;
	char why[200];
	int err = zt_size_parse_msg(v, &s, why, sizeof(why));

	if (err == -ERANGE)
		return FAIL("%s %s", key, why);
	if (err)
		return FAIL("bad size '%s' for %s: %s", v, key, why);
	if (!zero_ok && !zt_size_is_set(&s))
		return FAIL("%s must not be 0", key);
	*dst = s;
	return 0;
}

static int copy_string(char *dst, size_t cap, const char *key, const char *v,
		       char *msg, size_t len)
{
	if (strlen(v) >= cap)
		return FAIL("%s is too long (at most %zu characters)", key, cap - 1);
	strcpy(dst, v);
	return 0;
}

/* ---- [policy] [classify] -------------------------------------------------- */

static int set_name(struct zt_policy *p, int cls, const char *v, char *msg, size_t len)
{
	if (!zt_name_ok(v))
		return FAIL("bad policy name '%s': " ZT_NAME_RULE, v);
	strcpy(p->name, v);
	return 0;
}

static int set_text_entropy(struct zt_policy *p, int cls, const char *v, char *msg, size_t len)
{
	return set_entropy(&p->thresholds.text_entropy, "text-entropy", v, msg, len);
}

static int set_random_entropy(struct zt_policy *p, int cls, const char *v, char *msg, size_t len)
{
	return set_entropy(&p->thresholds.random_entropy, "random-entropy", v, msg, len);
}

static int set_text_byteset(struct zt_policy *p, int cls, const char *v, char *msg, size_t len)
{
	long n;
	int err = set_long(&n, "text-byteset", v, 0, 256, msg, len);

	if (!err)
		p->thresholds.text_byteset = (unsigned)n;
	return err;
}

/* ---- [samefill] [text] [mixed] [random] --------------------------------- */

static int parse_tier(enum zt_tier *dst, const char *v, char *msg, size_t len)
{
	int t = zt_tier_from_name(v);

	if (t < 0)
		return FAIL("unknown tier '%s' (expected meta, store, zram, spill or none)", v);
	*dst = (enum zt_tier)t;
	return 0;
}

static int set_tier(struct zt_policy *p, int cls, const char *v, char *msg, size_t len)
{
	return parse_tier(&p->rule[cls].tier, v, msg, len);
}

static int set_fallback(struct zt_policy *p, int cls, const char *v, char *msg, size_t len)
{
	return parse_tier(&p->rule[cls].fallback, v, msg, len);
}

static int set_codec(struct zt_policy *p, int cls, const char *v, char *msg, size_t len)
{
	int err = zt_codec_parse(v, &p->rule[cls].codec);

	if (err == -ERANGE)
		return FAIL("level in '%s' out of range (zstd 1 to 19, lz4hc 1 to 12)", v);
	if (err)
		return FAIL("unknown codec '%s' (expected lz4, lz4hc, lz4hc:N, zstd, zstd:N or raw)", v);
	return 0;
}

/* ---- [device] ---------------------------------------------------------------- */

static int set_device_size(struct zt_policy *p, int cls, const char *v, char *msg, size_t len)
{
	return set_size(&p->device.size, "size", v, false, msg, len);
}

static int set_mem_limit(struct zt_size *dst, const char *v, char *msg, size_t len)
{
	return zt_value_mem_limit("memory-limit", v, dst, msg, len);
}

static int set_device_mem_limit(struct zt_policy *p, int cls, const char *v, char *msg, size_t len)
{
	return set_mem_limit(&p->device.mem_limit, v, msg, len);
}

static int set_queues(struct zt_policy *p, int cls, const char *v, char *msg, size_t len)
{
	long n;
	int err = set_long(&n, "queues", v, 1, 16, msg, len);

	if (!err)
		p->device.queues = (unsigned)n;
	return err;
}

static int set_depth(struct zt_policy *p, int cls, const char *v, char *msg, size_t len)
{
	long n;
	int err = set_long(&n, "depth", v, 1, 4096, msg, len);

	if (!err)
		p->device.depth = (unsigned)n;
	return err;
}

static int set_memory_commit(struct zt_policy *p, int cls, const char *v, char *msg, size_t len)
{
	if (strcmp(v, "upfront") == 0)
		p->device.commit = ZT_COMMIT_UPFRONT;
	else if (strcmp(v, "on-demand") == 0)
		p->device.commit = ZT_COMMIT_ON_DEMAND;
	else
		return FAIL("bad memory-commit '%s' (expected upfront or on-demand)", v);
	return 0;
}

/* ---- [zram] -------------------------------------------------------------------- */

static int set_algorithm(struct zt_policy *p, int cls, const char *v, char *msg, size_t len)
{
	static const char *const known[] = {
		"lzo", "lzo-rle", "lz4", "lz4hc", "zstd", "842", "deflate", NULL
	};
	for (int i = 0; known[i]; i++)
		if (strcmp(v, known[i]) == 0)
			return copy_string(p->zram.algorithm, sizeof(p->zram.algorithm),
					   "algorithm", v, msg, len);
	return FAIL("unknown zram algorithm '%s' (expected lzo, lzo-rle, lz4, lz4hc, "
		    "zstd, 842 or deflate)", v);
}

/* algorithm_params: space-separated key=value words ("level=3 dict=/x"). */
static int set_params(struct zt_policy *p, int cls, const char *v, char *msg, size_t len)
{
	const char *s = v;

	while (*s) {
		size_t word = strcspn(s, " \t");
		const char *eq = memchr(s, '=', word);
		if (!eq || eq == s || eq == s + word - 1)
			return FAIL("bad zram params '%s': expected key=value words, "
				    "e.g. level=3", v);
		s += word;
		s += strspn(s, " \t");
	}
	return copy_string(p->zram.params, sizeof(p->zram.params), "params", v, msg, len);
}

static int set_zram_size(struct zt_policy *p, int cls, const char *v, char *msg, size_t len)
{
	return set_size(&p->zram.size, "size", v, false, msg, len);
}

static int set_zram_mem_limit(struct zt_policy *p, int cls, const char *v, char *msg, size_t len)
{
	return set_mem_limit(&p->zram.mem_limit, v, msg, len);
}

/* ---- [spill] ------------------------------------------------------------------- */

/* "none", an absolute path (/dev/..., a file) or a /dev/disk/by-id name. */
static int set_target(struct zt_policy *p, int cls, const char *v, char *msg, size_t len)
{
	if (strcmp(v, "none") == 0) {
		p->spill.target[0] = 0;
		return 0;
	}
	if (v[0] != '/' && (strchr(v, '/') || strcmp(v, ".") == 0 || strcmp(v, "..") == 0))
		return FAIL("bad spill target '%s': expected none, an absolute path "
			    "(/dev/..., a file) or a /dev/disk/by-id name", v);
	/* ztierd writes the target into a udev rule (values.c says why). */
	if (!zt_rule_safe(v))
		return FAIL("bad spill target '%s': " ZT_RULE_UNSAFE_WHY, v);
	return copy_string(p->spill.target, sizeof(p->spill.target), "target", v, msg, len);
}

static int set_spill_size(struct zt_policy *p, int cls, const char *v, char *msg, size_t len)
{
	return set_size(&p->spill.size, "size", v, false, msg, len);
}

static int set_encrypt(struct zt_policy *p, int cls, const char *v, char *msg, size_t len)
{
	return zt_value_bool("encrypt", v, &p->spill.encrypt, msg, len);
}

/* ---- [swap] [fs] ------------------------------------------------------------- */

static int set_priority(struct zt_policy *p, int cls, const char *v, char *msg, size_t len)
{
	return zt_value_priority("priority", v, &p->use.priority, msg, len);
}

static int set_discard(struct zt_policy *p, int cls, const char *v, char *msg, size_t len)
{
	return zt_value_bool("discard", v, &p->use.discard, msg, len);
}

static int set_fs_type(struct zt_policy *p, int cls, const char *v, char *msg, size_t len)
{
	if (strcmp(v, "ext4") && strcmp(v, "xfs") && strcmp(v, "btrfs"))
		return FAIL("unknown fs type '%s' (expected ext4, xfs or btrfs)", v);
	return copy_string(p->use.fs_type, sizeof(p->use.fs_type), "type", v, msg, len);
}

static int set_mount_point(struct zt_policy *p, int cls, const char *v, char *msg, size_t len)
{
	if (v[0] != '/')
		return FAIL("bad mount-point '%s': expected an absolute path", v);
	return copy_string(p->use.mount_point, sizeof(p->use.mount_point),
			   "mount-point", v, msg, len);
}

/* ---- [maintenance]: the same keys as ztier.conf's [zram-swap NAME] ------------ */

#define MAINT_SETTER(fn, key)                                                      \
	static int fn(struct zt_policy *p, int cls, const char *v, char *msg, size_t len) \
	{                                                                           \
		(void)cls;                                                          \
		return zt_maint_set(&p->maint, key, v, msg, len);                   \
	}
MAINT_SETTER(set_wb_device, "writeback-device")
MAINT_SETTER(set_wb_idle_age, "writeback-idle-age")
MAINT_SETTER(set_wb_pages, "writeback-pages")
MAINT_SETTER(set_wb_budget, "writeback-budget")
MAINT_SETTER(set_recomp_algorithm, "recompress-algorithm")
MAINT_SETTER(set_recomp_idle_age, "recompress-idle-age")
MAINT_SETTER(set_recomp_threshold, "recompress-threshold")
MAINT_SETTER(set_maint_interval, "maintenance-interval")
MAINT_SETTER(set_maint_backoff, "maintenance-backoff")
MAINT_SETTER(set_pressure_trigger, "pressure-trigger")

/* ---- the table ----------------------------------------------------------------- */

const char *const zt_sections[] = {
	"policy", "classify", "samefill", "text", "mixed", "random",
	"device", "zram", "spill", "swap", "fs", "maintenance", NULL
};

const struct zt_key_def zt_key_defs[] = {
	{ "policy", "name", -1, set_name },
	{ "classify", "text-entropy", ZT_KEY_TEXT_ENTROPY, set_text_entropy },
	{ "classify", "random-entropy", ZT_KEY_RANDOM_ENTROPY, set_random_entropy },
	{ "classify", "text-byteset", -1, set_text_byteset },
	{ ZT_CLASS_SECTION, "tier", ZT_KEY_TIER, set_tier },
	{ ZT_CLASS_SECTION, "fallback", ZT_KEY_FALLBACK, set_fallback },
	{ ZT_CLASS_SECTION, "codec", ZT_KEY_CODEC, set_codec },
	{ "device", "size", -1, set_device_size },
	{ "device", "memory-limit", -1, set_device_mem_limit },
	{ "device", "queues", -1, set_queues },
	{ "device", "depth", -1, set_depth },
	{ "device", "memory-commit", ZT_KEY_MEMORY_COMMIT, set_memory_commit },
	{ "zram", "algorithm", -1, set_algorithm },
	{ "zram", "params", -1, set_params },
	{ "zram", "size", ZT_KEY_ZRAM_SIZE, set_zram_size },
	{ "zram", "memory-limit", -1, set_zram_mem_limit },
	{ "spill", "target", ZT_KEY_SPILL_TARGET, set_target },
	{ "spill", "size", ZT_KEY_SPILL_SIZE, set_spill_size },
	{ "spill", "encrypt", -1, set_encrypt },
	{ "swap", "priority", -1, set_priority },
	{ "swap", "discard", -1, set_discard },
	{ "fs", "type", ZT_KEY_FS_TYPE, set_fs_type },
	{ "fs", "mount-point", ZT_KEY_FS_MOUNT_POINT, set_mount_point },
	{ "maintenance", "writeback-device", ZT_KEY_WB_DEVICE, set_wb_device },
	{ "maintenance", "writeback-idle-age", ZT_KEY_MAINTENANCE, set_wb_idle_age },
	{ "maintenance", "writeback-pages", ZT_KEY_MAINTENANCE, set_wb_pages },
	{ "maintenance", "writeback-budget", ZT_KEY_MAINTENANCE, set_wb_budget },
	{ "maintenance", "recompress-algorithm", ZT_KEY_MAINTENANCE, set_recomp_algorithm },
	{ "maintenance", "recompress-idle-age", ZT_KEY_MAINTENANCE, set_recomp_idle_age },
	{ "maintenance", "recompress-threshold", ZT_KEY_MAINTENANCE, set_recomp_threshold },
	{ "maintenance", "maintenance-interval", ZT_KEY_MAINTENANCE, set_maint_interval },
	{ "maintenance", "maintenance-backoff", ZT_KEY_MAINTENANCE, set_maint_backoff },
	{ "maintenance", "pressure-trigger", ZT_KEY_MAINTENANCE, set_pressure_trigger },
};
const size_t zt_key_count = sizeof(zt_key_defs) / sizeof(zt_key_defs[0]);

static const char *table_section(const char *section)
{
	return zt_class_from_name(section) >= 0 ? ZT_CLASS_SECTION : section;
}

const struct zt_key_def *zt_key_find(const char *section, const char *name)
{
	section = table_section(section);
	for (size_t i = 0; i < zt_key_count; i++)
		if (strcmp(zt_key_defs[i].section, section) == 0 &&
		    strcmp(zt_key_defs[i].name, name) == 0)
			return &zt_key_defs[i];
	return NULL;
}

bool zt_section_known(const char *section)
{
	for (int i = 0; zt_sections[i]; i++)
		if (strcmp(zt_sections[i], section) == 0)
			return true;
	return false;
}

void zt_key_list(const char *section, char *buf, size_t len)
{
	size_t n = 0, used = 0, total = 0;

	section = table_section(section);
	for (size_t i = 0; i < zt_key_count; i++)
		total += strcmp(zt_key_defs[i].section, section) == 0;
	buf[0] = 0;
	for (size_t i = 0; i < zt_key_count && used < len; i++) {
		if (strcmp(zt_key_defs[i].section, section))
			continue;
		n++;
		const char *sep = n == 1 ? "" : n == total ? " or " : ", ";
		int w = snprintf(buf + used, len - used, "%s%s", sep, zt_key_defs[i].name);
		used += w > 0 ? (size_t)w : 0;
	}
}
