/*
 * maint.c — the maintenance keys of a zram device: parse, range-check, the
 * defaults and why they are what they are.
 *
 * The same keys appear in a policy's [maintenance] section and in
 * ztier.conf's [zram-swap NAME]; both call zt_maint_set() so a value means
 * the same in either file.  The defaults follow what phones, which have
 * done this for years, settled on (anchors-2026.md: Android's mmd, ChromeOS
 * swap_management), scaled for servers and desktops where a pass costs a
 * scan of the device's slot table and nothing else.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/common/common.h"
#include "policy/policy.h"

#define FAIL(...) zt_fail(msg, len, -EINVAL, __VA_ARGS__)

void zt_maint_default(struct zt_maint *m)
{
	memset(m, 0, sizeof(*m));
	/* Pages untouched for most of a day are not part of any daily working
	 * set: mmd writes back pages idle 20-25 h. */
	m->wb_idle_age = 20 * 3600;
	/* huge_idle first (stored raw: a whole page of RAM each), then idle;
	 * huge pages still in use would only be read back soon. */
	m->wb_pages = ZT_WB_HUGE_IDLE | ZT_WB_IDLE;
	/* 1 GiB a day, mmd's budget: bounds the wear of a flash backing
	 * device (365 GiB a year) while still moving a day's cold pages. */
	m->wb_budget = 1ull << 30;
	/* Pages idle 2 h are cold enough that a slower, stronger codec costs
	 * nothing on their rare reads (mmd: 2-4 h). */
	m->recomp_idle_age = 2 * 3600;
	/* Objects under 1 KiB gain little from a stronger codec (mmd's bound). */
	m->recomp_threshold = 1024;
	/* Hourly, like mmd: idle ages are hours, a finer schedule finds
	 * nothing new and every pass scans the whole slot table. */
	m->interval = 3600;
	/* Under pressure, at most every 10 minutes (mmd's backoff): a pass
	 * that just ran has already moved what was idle. */
	m->backoff = 600;
	/* Tasks stalled on memory 10% of the last 10 s: reclaim is hurting,
	 * freeing zram's RAM now is worth an early pass. */
	m->pressure = 10;
}

const char *const zt_maint_keys[] = {
	"writeback-device", "writeback-idle-age", "writeback-pages", "writeback-budget",
	"recompress-algorithm", "recompress-idle-age", "recompress-threshold",
	"maintenance-interval", "maintenance-backoff", "pressure-trigger", NULL
};

static const char *const wb_kind[ZT_WB_KINDS] = {
	"huge_idle", "idle", "huge", "incompressible"
};

const char *zt_wb_kind_name(unsigned bit)
{
	for (unsigned i = 0; i < ZT_WB_KINDS; i++)
		if (bit == 1u << i)
			return wb_kind[i];
	return NULL;
}

int zt_duration_parse(const char *v, unsigned *secs)
{
	static const struct { char c; unsigned mul; } unit[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }
	};
	unsigned long long n;
	char *end;

	if (!strcmp(v, "off")) {
		*secs = 0;
		return 0;
	}
	if (!isdigit((unsigned char)v[0]))
		return -EINVAL;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno)
		return -EINVAL;
	for (unsigned i = 0; *end && i < sizeof(unit) / sizeof(unit[0]); i++)
		if (end[0] == unit[i].c && !end[1]) {
			n *= unit[i].mul;
			end++;
		}
	if (*end || n > 366ull * 86400)
		return -EINVAL;
	*secs = (unsigned)n;
	return 0;
}

double zt_psi_some_avg10(const char *text)
{
	double v;

	if (sscanf(text, "some avg10=%lf", &v) != 1 || v < 0 || v > 100)
		return -1;
	return v;
}

static int set_duration(unsigned *dst, const char *key, const char *v, bool zero_ok,
			char *msg, size_t len)
{
	unsigned s;

	if (zt_duration_parse(v, &s))
		return FAIL("bad duration '%s' for %s: expected seconds or a number with "
			    "s, m, h or d (at most 366d)%s", v, key, zero_ok ? ", or off" : "");
	if (!s && !zero_ok)
		return FAIL("%s must not be 0", key);
	*dst = s;
	return 0;
}

static int set_pages(struct zt_maint *m, const char *v, char *msg, size_t len)
{
	char buf[128];
	unsigned mask = 0;

	if (!strcmp(v, "none")) {
		m->wb_pages = 0;
		return 0;
	}
	if (strlen(v) >= sizeof(buf))
		return FAIL("writeback-pages is too long");
	strcpy(buf, v);
	for (char *save, *t = strtok_r(buf, " ,", &save); t; t = strtok_r(NULL, " ,", &save)) {
		unsigned i = 0;
		while (i < ZT_WB_KINDS && strcmp(t, wb_kind[i]))
			i++;
		if (i == ZT_WB_KINDS)
			return FAIL("writeback-pages: unknown kind '%s' (expected idle, huge, "
				    "huge_idle, incompressible, or none)", t);
		mask |= 1u << i;
	}
	if (!mask)
		return FAIL("writeback-pages: name the kinds (idle, huge, huge_idle, "
			    "incompressible) or none");
	m->wb_pages = mask;
	return 0;
}

/* Whole bytes with an optional K/M/G/T suffix (no RAM fractions: a budget
 * or threshold does not scale with the machine). */
static int set_bytes(uint64_t *dst, const char *key, const char *v, uint64_t max,
		     char *msg, size_t len)
{
	struct zt_size s;
	char why[200];

	if (!strcmp(v, "none") || !strcmp(v, "0")) {
		*dst = 0;
		return 0;
	}
	if (zt_size_parse_msg(v, &s, why, sizeof(why)))
		return FAIL("bad size '%s' for %s: %s", v, key, why);
	if (s.ram_den || s.expr[0])
		return FAIL("%s '%s': an amount in bytes such as 1G, not a share of RAM", key, v);
	if (s.bytes > max)
		return FAIL("%s '%s' is too large (at most %llu bytes)", key, v,
			    (unsigned long long)max);
	*dst = s.bytes;
	return 0;
}

static int set_string(char *dst, size_t cap, const char *key, const char *v,
		      char *msg, size_t len)
{
	if (strlen(v) >= cap || strchr(v, ' '))
		return FAIL("%s '%s': one word of at most %zu characters", key, v, cap - 1);
	strcpy(dst, v);
	return 0;
}

static int set_device(struct zt_maint *m, const char *v, char *msg, size_t len)
{
	if (!strcmp(v, "none")) {
		m->writeback_device[0] = '\0';
		return 0;
	}
	if (v[0] != '/' || strlen(v) >= 256)
		return FAIL("writeback-device '%s': an absolute path of a block device "
			    "(e.g. /dev/disk/by-partlabel/zram-wb), or none", v);
	return set_string(m->writeback_device, 256, "writeback-device", v, msg, len);
}

static int set_pressure(struct zt_maint *m, const char *v, char *msg, size_t len)
{
	char *end;
	long n;

	if (!strcmp(v, "off")) {
		m->pressure = 0;
		return 0;
	}
	errno = 0;
	n = strtol(v, &end, 10);
	if (end == v || (*end && strcmp(end, "%")) || errno || n < 0 || n > 100)
		return FAIL("pressure-trigger '%s': a percentage 1 to 100 (PSI memory "
			    "some avg10), or off", v);
	m->pressure = (unsigned)n;
	return 0;
}

int zt_maint_set(struct zt_maint *m, const char *k, const char *v, char *msg, size_t len)
{
	if (!strcmp(k, "writeback-device"))
		return set_device(m, v, msg, len);
	if (!strcmp(k, "writeback-idle-age"))
		return set_duration(&m->wb_idle_age, k, v, true, msg, len);
	if (!strcmp(k, "writeback-pages"))
		return set_pages(m, v, msg, len);
	if (!strcmp(k, "writeback-budget"))
		return set_bytes(&m->wb_budget, k, v, 1ull << 50, msg, len);
	if (!strcmp(k, "recompress-algorithm"))
		return !strcmp(v, "none") ? (m->recomp_algorithm[0] = '\0', 0) :
		       set_string(m->recomp_algorithm, sizeof(m->recomp_algorithm), k, v,
				  msg, len);
	if (!strcmp(k, "recompress-idle-age"))
		return set_duration(&m->recomp_idle_age, k, v, true, msg, len);
	if (!strcmp(k, "recompress-threshold"))
		return set_bytes(&m->recomp_threshold, k, v, 4095, msg, len);
	if (!strcmp(k, "maintenance-interval"))
		return set_duration(&m->interval, k, v, false, msg, len);
	if (!strcmp(k, "maintenance-backoff"))
		return set_duration(&m->backoff, k, v, false, msg, len);
	if (!strcmp(k, "pressure-trigger"))
		return set_pressure(m, v, msg, len);
	return -ENOENT;
}

int zt_maint_check(const struct zt_maint *m, char *msg, size_t len)
{
	if (m->writeback_device[0] && m->wb_idle_age && !m->wb_pages)
		return FAIL("writeback-device is set but writeback-pages is none: set "
			    "writeback-idle-age = off to disable writeback");
	if (m->backoff > m->interval)
		return FAIL("maintenance-backoff (%us) is longer than maintenance-interval "
			    "(%us): a pressure-triggered pass would never come sooner",
			    m->backoff, m->interval);
	return 0;
}
