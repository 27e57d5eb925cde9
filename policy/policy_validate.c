/*
 * policy_validate.c — checks that need more than one key.
 *
 * The key setters (policy_keys.c) have checked every value on its own; here
 * we check the combinations: that each class's tier and fallback can hold
 * that class, that a tier that is used is also configured (zram needs a
 * size, spill a target, a file target a size), that the thresholds are in
 * order, that a file system has a type and a mount point, and that a swap
 * policy's name, when it comes from the file name, is a valid name, and a
 * policy never makes the server allocate on its I/O path (refused for a
 * declared [swap] policy; the rest are warnings, zt_policy_warnings).  Each problem
 * is reported at the line of the key that causes it (struct zt_origin), or
 * without a line when that key was left at its built-in default.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy/common/common.h"
#include "policy/policy.h"

struct check {
	const struct zt_policy *p;
	struct zt_problems pr;
	bool warnings;                /* the warnings pass: report only those */
};

__attribute__((format(printf, 3, 4)))
static void problem(struct check *c, int key, const char *fmt, ...)
{
	const struct zt_policy *p = c->p;
	const struct zt_origin *o = &p->origin[key];
	const char *file = "(built-in policy)";
	va_list ap;

	if (o->line > 0 && o->file < p->nfiles)
		file = p->files[o->file];
	else if (p->nfiles)
		file = p->source;
	va_start(ap, fmt);
	zt_vproblem(&c->pr, file, o->line, fmt, ap);
	va_end(ap);
}

/* A problem in the validation pass, a warning (counted the same) in the
 * warnings pass: each pass reports only its own kind. */
#define warning(c, key, ...) do {                                           \
		if ((c)->warnings)                                          \
			problem(c, key, "warning: " __VA_ARGS__);           \
	} while (0)
#define refusal(c, key, ...) do {                                           \
		if (!(c)->warnings)                                         \
			problem(c, key, __VA_ARGS__);                       \
	} while (0)

static bool tier_used(const struct zt_policy *p, enum zt_tier t, int *key)
{
	for (int c = 0; c < ZT_CLASS_COUNT; c++) {
		if (p->rule[c].tier == t) {
			*key = ZT_KEY_TIER + c;
			return true;
		}
		if (p->rule[c].fallback == t) {
			*key = ZT_KEY_FALLBACK + c;
			return true;
		}
	}
	return false;
}

static void check_rule(struct check *c, enum zt_class cls)
{
	const struct zt_class_rule *r = &c->p->rule[cls];
	const char *name = zt_class_name(cls);

	if (r->tier == ZT_TIER_NONE)
		problem(c, ZT_KEY_TIER + cls, "[%s] tier none cannot hold pages "
			"(none is only a fallback: fail the write)", name);
	else if (!zt_tier_accepts(r->tier, cls))
		problem(c, ZT_KEY_TIER + cls, "tier %s cannot take %s pages "
			"(meta holds only samefill pages)", zt_tier_name(r->tier), name);
	if (r->fallback != ZT_TIER_NONE && !zt_tier_accepts(r->fallback, cls))
		problem(c, ZT_KEY_FALLBACK + cls, "fallback %s cannot take %s pages "
			"(meta holds only samefill pages)", zt_tier_name(r->fallback), name);
	else if (r->fallback != ZT_TIER_NONE && r->fallback == r->tier)
		problem(c, ZT_KEY_FALLBACK + cls, "[%s] fallback is the same tier "
			"as tier (%s)", name, zt_tier_name(r->tier));
	if (r->codec.kind != ZT_CODEC_RAW && c->p->origin[ZT_KEY_CODEC + cls].line &&
	    r->tier != ZT_TIER_STORE && r->fallback != ZT_TIER_STORE)
		problem(c, ZT_KEY_CODEC + cls, "[%s] codec applies only to the store "
			"tier, and neither tier nor fallback is store", name);
}

static void check_tiers_configured(struct check *c)
{
	const struct zt_policy *p = c->p;
	int key;

	if (tier_used(p, ZT_TIER_ZRAM, &key) && !zt_size_is_set(&p->zram.size))
		problem(c, key, "tier zram is used but [zram] has no size");
	if (tier_used(p, ZT_TIER_SPILL, &key) && !p->spill.target[0])
		problem(c, key, "tier spill is used but [spill] has no target");
	if (p->spill.target[0] == '/' && strncmp(p->spill.target, "/dev/", 5) &&
	    !zt_size_is_set(&p->spill.size))
		problem(c, ZT_KEY_SPILL_TARGET, "spill target %s is a file: [spill] "
			"needs a size", p->spill.target);
}

static void check_use(struct check *c)
{
	const struct zt_policy *p = c->p;

	if (p->use.use != ZT_USE_FS)
		return;
	if (!p->use.fs_type[0])
		problem(c, ZT_KEY_USE, "[fs] needs a type (ext4, xfs or btrfs)");
	if (!p->use.mount_point[0])
		problem(c, ZT_KEY_USE, "[fs] needs a mount-point");
}

bool zt_policy_commits_upfront(const struct zt_policy *p)
{
	if (p->device.commit == ZT_COMMIT_AUTO)
		return p->use.use == ZT_USE_SWAP;
	return p->device.commit == ZT_COMMIT_UPFRONT;
}

/* A swap device's server must never allocate on the I/O path: under
 * memory pressure its allocation waits for reclaim, and reclaim waits for
 * swap-out to this very device.  What can still allocate there: */
static void check_swap_safety(struct check *c)
{
	const struct zt_policy *p = c->p;
	bool declared = p->origin[ZT_KEY_USE].line > 0;   /* a [swap] section */
	int key;

	if (p->use.use != ZT_USE_SWAP)
		return;
	if (!zt_policy_commits_upfront(p) && zt_size_is_set(&p->device.mem_limit)) {
		if (declared)
			refusal(c, ZT_KEY_MEMORY_COMMIT, "memory-commit = on-demand cannot "
				"serve swap: the store would commit memory while the kernel "
				"swaps out to it, and wait for reclaim that waits for this "
				"device (use upfront, the default for swap)");
		else
			warning(c, ZT_KEY_MEMORY_COMMIT, "memory-commit = on-demand: not "
				"safe as swap (the store commits memory on the I/O path); "
				"use this device for a file system or a test only");
	}
	if (tier_used(p, ZT_TIER_ZRAM, &key)) {
		if (declared)
			refusal(c, key, "the zram tier cannot serve swap: a write into "
				"kernel zram allocates memory (zsmalloc, GFP_NOIO) while the "
				"kernel swaps out to this device, and under pressure that "
				"allocation waits forever (use store; the stack's own zram "
				"swap in ztier.conf is safe)");
		else
			warning(c, key, "the zram tier is not safe as swap (its writes "
				"allocate kernel memory under pressure); use this device for "
				"a file system or a test only");
	}
	if (tier_used(p, ZT_TIER_SPILL, &key) && p->spill.target[0] == '/' &&
	    strncmp(p->spill.target, "/dev/", 5)) {
		if (declared)
			refusal(c, ZT_KEY_SPILL_TARGET, "spill target %s is a file: it cannot "
				"serve swap (the server's writes into a file take bios from the "
				"same kernel pool as the swap-out they serve, and the guest "
				"deadlocked so); use a block device or partition", p->spill.target);
		else
			warning(c, ZT_KEY_SPILL_TARGET, "spill target %s is a file: not safe "
				"as swap (file-system I/O shares the kernel's bio pool with "
				"swap-out); use a block device", p->spill.target);
	}
	if (zt_policy_commits_upfront(p) && tier_used(p, ZT_TIER_STORE, &key)) {
		const struct zt_size *m = &p->device.mem_limit;

		if (!zt_size_is_set(m))
			refusal(c, key, "the store of a swap device commits its whole "
				"memory-limit at start: [device] memory-limit none would "
				"lock all of RAM (give it a size, e.g. ram/4)");
		else if (m->ram_den && 2 * m->ram_num > m->ram_den)
			refusal(c, key, "the store of a swap device commits its whole "
				"memory-limit at start: [device] memory-limit above ram/2 "
				"would lock most of RAM");
	}
}

/* writeback-device and recompress-algorithm act on the zram tier only:
 * set with no class going to zram, they do nothing. */
static void check_maint_tier(struct check *c)
{
	const struct zt_maint *m = &c->p->maint;
	int key;

	if (tier_used(c->p, ZT_TIER_ZRAM, &key))
		return;
	if (m->writeback_device[0])
		warning(c, ZT_KEY_WB_DEVICE, "writeback-device is for the zram tier, which "
			"no class uses: nothing is written back (store pages demote to spill)");
	else if (m->recomp_algorithm[0] && c->p->origin[ZT_KEY_MAINTENANCE].line > 0)
		warning(c, ZT_KEY_MAINTENANCE, "recompress-algorithm is for the zram tier, "
			"which no class uses: nothing is recompressed");
}

int zt_policy_warnings(const struct zt_policy *p, zt_policy_report_fn report, void *ctx)
{
	struct check c = { p, { report, ctx, 0 }, true };

	check_swap_safety(&c);
	check_maint_tier(&c);
	return c.pr.count;
}

/* A name taken from the file name (no [policy] name key) gets the key's
 * check: "$", "%", "|" or a space would otherwise reach udev rules and
 * status lines. */
static void check_name(struct check *c)
{
	const struct zt_policy *p = c->p;

	if (!zt_name_ok(p->name))
		zt_problem(&c->pr, p->nfiles ? p->files[0] : "(built-in policy)", 0,
			   "bad policy name '%s' (the file's name): " ZT_NAME_RULE
			   ", or set [policy] name", p->name);
}

/* [maintenance]: reported at the last maintenance key set.  zram writes
 * back over whole slots of its backing device: the device's own spill
 * would lose the pages ztier keeps there. */
static void check_maintenance(struct check *c)
{
	const struct zt_policy *p = c->p;
	char msg[300], spill[ZT_PATH_MAX];

	if (zt_maint_check(&p->maint, msg, sizeof(msg)))
		problem(c, ZT_KEY_MAINTENANCE, "%s", msg);
	zt_spill_path(p, spill, sizeof(spill));
	if (p->maint.writeback_device[0] && !strcmp(p->maint.writeback_device, spill))
		problem(c, ZT_KEY_WB_DEVICE, "writeback-device %s is this device's own spill "
			"([spill] target): zram would write its idle pages over the spill's; "
			"name another block device", spill);
}

int zt_policy_validate(const struct zt_policy *p, zt_policy_report_fn report,
		       void *ctx)
{
	struct check c = { p, { report, ctx, 0 }, false };
	const struct zt_thresholds *t = &p->thresholds;

	for (int cls = 0; cls < ZT_CLASS_COUNT; cls++)
		check_rule(&c, (enum zt_class)cls);
	if (t->text_entropy >= t->random_entropy)
		problem(&c, p->origin[ZT_KEY_RANDOM_ENTROPY].line ? ZT_KEY_RANDOM_ENTROPY
			: ZT_KEY_TEXT_ENTROPY, "text-entropy (%g) must be below "
			"random-entropy (%g)", t->text_entropy, t->random_entropy);
	check_name(&c);
	check_tiers_configured(&c);
	check_use(&c);
	check_swap_safety(&c);
	check_maintenance(&c);
	return c.pr.count;
}
