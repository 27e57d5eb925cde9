/*
 * daemon_plan.c — what ztierd would build, without building it.
 *
 * `ztierd --dry-run` and `ztierctl config check` read the configuration
 * through the daemon's own loading code (daemon_load.c), then print one
 * line per stack with every size resolved against this machine's RAM:
 *
 *   zram-fast: zram swap, size ram/4 = 2097152K (2G), algorithm lz4, priority 150, discard
 *   default: ztier swap, size ram = 8388608K (8G), ..., priority 100, discard;
 *            samefill->meta text->store(zstd:3) mixed->store random->zram>spill
 *
 * A size computed from RAM is printed exactly (zt_size_format: 2041752K)
 * and rounded for reading (1.9G).  Nothing here touches the
 * system: no root is needed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "manager/daemon.h"
#include "policy/common/common.h"

struct out {
	char *buf;
	size_t len, at;
};

static void plan_put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void plan_put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->at >= o->len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->at, o->len - o->at, fmt, ap);
	va_end(ap);
	o->at += n > 0 ? (size_t)n : 0;
}

/* "ram/4 = 2G", or "4G" when the size does not depend on RAM. */
static void put_size(struct out *o, const char *what, const struct zt_size *s, uint64_t ram)
{
	char text[ZT_SIZE_EXPR_MAX], bytes[ZT_SIZE_EXPR_MAX], human[16];
	struct zt_size r = { .bytes = zt_size_resolve(s, ram) };

	zt_size_format(s, text, sizeof(text));
	if (!zt_size_is_set(s))
		plan_put(o, ", %s none", what);
	else if (!r.bytes)
		plan_put(o, ", %s %s = 0 (less than a page on this machine: not built)", what, text);
	else if (s->ram_den || s->expr[0]) {
		zt_size_format(&r, bytes, sizeof(bytes));
		zt_size_human((int64_t)r.bytes, human, sizeof(human));
		plan_put(o, ", %s %s = %s", what, text, bytes);
		if (strcmp(bytes, human))
			plan_put(o, " (%s)", human);      /* 6171020K (5.9G) */
	}
	else
		plan_put(o, ", %s %s", what, text);
}

static void put_use(struct out *o, enum zt_use use, int prio, bool discard,
		    const char *fs, const char *mnt)
{
	if (use == ZT_USE_FS)
		plan_put(o, ", %s on %s", fs, mnt);
	else if (use == ZT_USE_SWAP && prio >= 0)
		plan_put(o, ", priority %d%s", prio, discard ? ", discard" : "");
	else if (use == ZT_USE_SWAP)
		plan_put(o, ", priority (kernel default)%s", discard ? ", discard" : "");
}

static void put_rules(struct out *o, const struct zt_policy *p)
{
	char codec[32];

	for (int c = 0; c < ZT_CLASS_COUNT; c++) {
		const struct zt_class_rule *r = &p->rule[c];
		plan_put(o, "%s%s->%s", c ? " " : "; ", zt_class_name((enum zt_class)c),
		    zt_tier_name(r->tier));
		if (r->tier == ZT_TIER_STORE)
			plan_put(o, "(%s)", zt_codec_format(&r->codec, codec, sizeof(codec)));
		if (r->fallback != ZT_TIER_NONE)
			plan_put(o, ">%s", zt_tier_name(r->fallback));
	}
}

/* "; writeback huge_idle,idle idle 20h to /dev/x, 1G/day; recompress zstd ...;
 * every 3600s (600s under pressure 10%)": what maintenance will do. */
static void put_maint(struct out *o, const struct zt_maint *m)
{
	char human[16];

	if (m->writeback_device[0] && m->wb_idle_age) {
		plan_put(o, "; writeback");
		for (unsigned b = 1, n = 0; b < 1u << ZT_WB_KINDS; b <<= 1)
			if (m->wb_pages & b)
				plan_put(o, "%s%s", n++ ? "," : " ", zt_wb_kind_name(b));
		zt_size_human((int64_t)m->wb_budget, human, sizeof(human));
		plan_put(o, " idle %us to %s, %s/day", m->wb_idle_age, m->writeback_device,
			 m->wb_budget ? human : "unlimited");
	}
	if (m->recomp_algorithm[0] && m->recomp_idle_age)
		plan_put(o, "; recompress %s idle %us above %llu bytes", m->recomp_algorithm,
			 m->recomp_idle_age, (unsigned long long)m->recomp_threshold);
	if (!(m->writeback_device[0] && m->wb_idle_age) &&
	    !(m->recomp_algorithm[0] && m->recomp_idle_age))
		return;
	plan_put(o, "; every %us", m->interval);
	if (m->pressure)
		plan_put(o, " (%us when memory pressure > %u%%)", m->backoff, m->pressure);
}

static void plan_ztier(struct out *o, const struct zd_stack *s, uint64_t ram)
{
	const struct zt_policy *p = s->policy;
	static const char *const uses[] = { "swap", "file system", "device" };

	plan_put(o, "%s: ztier %s", s->name, uses[p->use.use]);
	put_size(o, "size", &p->device.size, ram);
	put_size(o, "store limit", &p->device.mem_limit, ram);
	if (zt_size_is_set(&p->zram.size)) {
		put_size(o, "zram tier", &p->zram.size, ram);
		plan_put(o, " %s", p->zram.algorithm[0] ? p->zram.algorithm : "(kernel default)");
		put_maint(o, &p->maint);      /* the zram tier's */
	}
	if (s->spill[0])
		plan_put(o, ", spill %s", s->spill);
	put_use(o, p->use.use, p->use.priority, p->use.discard, p->use.fs_type,
		p->use.mount_point);
	put_rules(o, p);
}

void zd_plan_line(const struct zd_stack *s, uint64_t ram, char *buf, size_t len)
{
	struct out o = { buf, len, 0 };
	const struct zd_zswap *z = &s->zswap;

	buf[0] = '\0';
	if (s->kind == ZD_KIND_ZTIER && !s->policy) {
		plan_put(&o, "%s: not built: %s", s->name, s->reason);
		return;
	}
	if (s->kind == ZD_KIND_ZTIER)
		return plan_ztier(&o, s, ram);
	plan_put(&o, "%s: zram swap", s->name);
	put_size(&o, "size", &z->zram.size, ram);
	plan_put(&o, ", algorithm %s", z->zram.algorithm[0] ? z->zram.algorithm : "(kernel default)");
	if (z->zram.params[0])
		plan_put(&o, " (%s)", z->zram.params);
	if (zt_size_is_set(&z->zram.mem_limit))
		put_size(&o, "memory-limit", &z->zram.mem_limit, ram);
	put_use(&o, ZT_USE_SWAP, z->priority, z->discard, NULL, NULL);
	put_maint(&o, &z->maint);
}

int zd_dry_run(struct zd_daemon *d, FILE *out)
{
	uint64_t ram = d->ram ? d->ram : zt_ram_bytes();
	char line[ZT_PATH_MAX + 1024], size[ZT_SIZE_EXPR_MAX], human[16];
	int problems = zd_config_read(d, false);

	if (problems < 0)
		return 1;
	if (out)
		fprintf(out, "# %s, RAM %s (%s); stacks in build order:\n",
			d->conf.path[0] ? d->conf.path : "no ztier.conf: built-in defaults",
			zt_size_format(&(struct zt_size){ .bytes = ram }, size, sizeof(size)),
			zt_size_human((int64_t)ram, human, sizeof(human)));
	for (unsigned i = 0; i < d->nstacks; i++) {
		zd_plan_line(&d->stacks[i], ram, line, sizeof(line));
		if (out)
			fprintf(out, "%s\n", line);
		zd_stack_free(&d->stacks[i]);
	}
	return problems ? 1 : 0;
}
