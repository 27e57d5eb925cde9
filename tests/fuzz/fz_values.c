/*
 * fz_values.c — libFuzzer harness: the value parsers that policy files and
 * ztier.conf share (sizes, codecs, tiers, classes, yes/no, priorities,
 * memory limits, log levels), the name and udev-rule checks, and the
 * escaping of text for terminals; size expressions ("min(ram / 2, 4G)").  What parses must format and parse back
 * to the same value: a size or codec written by `ztierctl policy show` is
 * read again by the daemon.  What the checks pass holds no byte a udev rule
 * would read as syntax; what zt_printable writes is printable and fits.
 */
#include "tests/fuzz/fuzz.h"
#include "manager/daemon_log.c"
#include "policy/common/common.h"
#include "policy/policy.h"

static void size_round_trip(const char *s)
{
	struct zt_size a, b;
	char buf[ZT_SIZE_EXPR_MAX];

	if (zt_size_parse(s, &a))
		return;
	(void)zt_size_resolve(&a, 1ull << 34);
	if (!zt_size_is_set(&a))
		return;
	if (zt_size_parse(zt_size_format(&a, buf, sizeof(buf)), &b) ||
	    zt_size_resolve(&a, 1ull << 34) != zt_size_resolve(&b, 1ull << 34))
		abort();
}

/* An expression evaluates (or refuses) at any RAM without a crash, and
 * what parses resolves to whole pages. */
static void size_expr(const char *s)
{
	static const uint64_t rams[] = { 0, 4096, 1ull << 30, UINT64_MAX };
	struct zt_size z;
	char msg[256];
	long double v;

	for (size_t i = 0; i < 4; i++)
		(void)zt_size_eval(s, rams[i], &v, msg, sizeof(msg));
	if (zt_size_parse_msg(s, &z, msg, sizeof(msg)) == 0)      /* 16E clamps: not there */
		for (size_t i = 1; i < 3; i++)
			if (zt_size_resolve(&z, rams[i]) % ZT_PAGE_SIZE && (z.ram_den || z.expr[0]))
				abort();
}

static void codec_round_trip(const char *s)
{
	struct zt_codec a, b;
	char buf[64];

	if (zt_codec_parse(s, &a))
		return;
	if (zt_codec_parse(zt_codec_format(&a, buf, sizeof(buf)), &b) ||
	    memcmp(&a, &b, sizeof(a)))
		abort();
}

static void checks(const char *s, size_t n)
{
	char out[256];

	if (zt_name_ok(s) && (!n || n >= ZT_NAME_MAX || strpbrk(s, " $%|/\"")))
		abort();
	if (zt_rule_safe(s) && strpbrk(s, " $%|*?[\"\\\n"))
		abort();
	size_t len = n % sizeof(out);             /* sizes 0..255, small ones too */
	zt_printable(out, len, s, "\t");
	if (len && strlen(out) >= len)
		abort();
	for (size_t i = 0; len && out[i]; i++)
		if ((out[i] < 0x20 && out[i] != '\t') || out[i] == 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fz_string(data, size);
	char msg[400];
	struct zt_size lim;
	bool b;
	int pri;

	checks(s, strlen(s));
	size_round_trip(s);
	size_expr(s);
	codec_round_trip(s);
	(void)zt_tier_from_name(s);
	(void)zt_class_from_name(s);
	(void)zt_value_bool("key", s, &b, msg, sizeof(msg));
	if (zt_value_priority("key", s, &pri, msg, sizeof(msg)) == 0 && (pri < -1 || pri > 32767))
		abort();
	(void)zt_value_mem_limit("key", s, &lim, msg, sizeof(msg));
	(void)zd_level_parse(s);
	free(s);
	return 0;
}
