/*
 * policy_same.c — do two policies ask for the same device?
 *
 * ztierd compares the policy a running stack was built with against the one
 * a reload read: the same, nothing to do; different, the new one is pending
 * until the stack is rebuilt.  A field left out of a field-by-field
 * comparison is a change that a reload drops without a word (it happened to
 * [zram]), so the whole struct is compared byte for byte and only what says
 * where a setting came from (file names, lines) is cleared first: a field
 * added to struct zt_policy is compared without anyone listing it here.
 *
 * Both sides are canonical copies: provenance zeroed, and the bytes after
 * each string's NUL zeroed (a drop-in that shortens a value leaves the old
 * tail behind).  What the copies do not normalise (a string field not
 * listed below, padding, -0.0) can only make equal policies look different:
 * a needless "policy changed", never a change dropped.  Padding is zero in
 * practice: zt_policy_default clears the whole struct and setters store
 * fields, not padded structs.
 */
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

static void clear_tail(char *s, size_t size)
{
	size_t n = strnlen(s, size);

	memset(s + n, 0, size - n);
}

#define CLEAR_TAIL(field) clear_tail(field, sizeof(field))

static void canonical(struct zt_policy *p)
{
	memset(p->source, 0, sizeof(p->source));
	p->nfiles = 0;
	memset(p->files, 0, sizeof(p->files));
	memset(p->origin, 0, sizeof(p->origin));

	CLEAR_TAIL(p->name);
	CLEAR_TAIL(p->zram.algorithm);
	CLEAR_TAIL(p->zram.params);
	CLEAR_TAIL(p->spill.target);
	CLEAR_TAIL(p->use.fs_type);
	CLEAR_TAIL(p->use.mount_point);
}

bool zt_policy_same(const struct zt_policy *a, const struct zt_policy *b)
{
	struct zt_policy *c = malloc(2 * sizeof(*c));   /* ~45 KiB each */
	bool same;

	if (!c)
		return false;           /* "changed" is the answer that loses nothing */
	c[0] = *a;
	c[1] = *b;
	canonical(&c[0]);
	canonical(&c[1]);
	same = memcmp(&c[0], &c[1], sizeof(*c)) == 0;
	free(c);
	return same;
}
