/*
 * size_expr.c — size expressions, zram-generator's zram-size grammar with
 * ztier's units: "min(ram / 2, 4G)", "ram * 0.5", "max(ram - 2G, 1G)".
 *
 *   expr    := term (('+' | '-') term)*
 *   term    := unary (('*' | '/') unary)*
 *   unary   := '-' unary | primary
 *   primary := NUMBER [UNIT] | 'ram' | ('min' | 'max') '(' expr (',' expr)* ')'
 *            | '(' expr ')'
 *   NUMBER  := digits ['.' digits]        UNIT := K M G T P E [B | iB], or B
 *
 * Every value is a size (bytes: ram, a number with a unit) or a plain
 * number (a factor).  zram-generator counts everything in MiB, so its
 * "min(ram / 2, 4096)" means 4 GiB; here ram is bytes and a number without
 * a unit is a factor, so that expression would silently be 4 KiB.  Mixing
 * a size with a plain number in +, -, min or max is therefore an error that
 * says to write the unit.  Pure: the caller gives RAM; evaluated in long
 * double (64-bit mantissa: exact for any size up to 16 EiB in whole KiB).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy/policy.h"

#define DEPTH_MAX 32                 /* nesting: bounds the recursion */

struct val {
	long double v;
	bool size;                   /* bytes; false: a plain number  */
	const char *from;            /* its text, for messages        */
	int n;
};

struct ex {
	const char *text, *p;
	long double ram;
	int depth;
	char *msg;
	size_t len;
	int err;                     /* the first error; later ones are echoes */
};

static int fail(struct ex *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct ex *x, const char *fmt, ...)
{
	va_list ap;

	if (x->err)
		return x->err;
	x->err = -EINVAL;
	if (x->msg && x->len) {
		va_start(ap, fmt);
		vsnprintf(x->msg, x->len, fmt, ap);
		va_end(ap);
	}
	return x->err;
}

static char peek(struct ex *x)
{
	while (isspace((unsigned char)*x->p))
		x->p++;
	return *x->p;
}

static bool eat(struct ex *x, char c)
{
	if (peek(x) != c)
		return false;
	x->p++;
	return true;
}

static void span(struct val *v, const char *from, const char *to)
{
	v->from = from;
	v->n = (int)(to - from);
}

/* "4096" in "min(ram/2, 4096)" is a factor: say what to write instead. */
static int no_unit(struct ex *x, const struct val *v, const char *where)
{
	return fail(x, "'%.*s' %s has no unit: write one (%.*sM: zram-generator's plain "
		    "numbers are MiB)", v->n, v->from, where, v->n, v->from);
}

static int expr(struct ex *x, struct val *out);

/* K M G T P E [B|iB] or B right after the digits; shift 0..60. */
static int unit(struct ex *x, int *shift)
{
	static const char units[] = "KMGTPE";
	const char *u = *x->p ? strchr(units, toupper((unsigned char)*x->p)) : NULL;

	*shift = -1;
	if (u) {
		*shift = 10 * (int)(u - units + 1);
		x->p++;
		if (*x->p == 'i' && x->p[1] == 'B')
			x->p += 2;
		else if (*x->p == 'B')
			x->p++;
	} else if (*x->p == 'B' || *x->p == 'b') {
		*shift = 0;
		x->p++;
	}
	if (isalnum((unsigned char)*x->p) || *x->p == '.')
		return fail(x, "bad number or unit at '%.12s' (units: K, M, G, T, P, E)", x->p);
	return 0;
}

static int number(struct ex *x, struct val *out)
{
	const char *from = x->p;
	long double v = 0, scale = 1;
	int shift;

	for (; isdigit((unsigned char)*x->p); x->p++)
		v = v * 10 + (*x->p - '0');
	if (*x->p == '.') {
		if (!isdigit((unsigned char)*++x->p))
			return fail(x, "bad number at '%.12s'", from);
		for (; isdigit((unsigned char)*x->p); x->p++)
			v += (*x->p - '0') * (scale /= 10);
	}
	if (unit(x, &shift))
		return x->err;
	*out = (struct val){ .v = shift > 0 ? v * (long double)(1ull << shift) : v,
			     .size = shift >= 0 };
	span(out, from, x->p);
	return 0;
}

/* min(a, b, ...) / max(...): every argument of one kind. */
static int minmax(struct ex *x, bool is_min, struct val *out)
{
	const char *from = x->p - 3;
	struct val a;

	if (!eat(x, '('))
		return fail(x, "%s needs '(' after it", is_min ? "min" : "max");
	if (expr(x, out))
		return x->err;
	while (eat(x, ',')) {
		if (expr(x, &a))
			return x->err;
		if (a.size != out->size)
			return no_unit(x, a.size ? out : &a, is_min ? "in min()" : "in max()");
		if (is_min ? a.v < out->v : a.v > out->v)
			out->v = a.v;
	}
	if (!eat(x, ')'))
		return fail(x, "expected ',' or ')' at '%.12s'", x->p);
	span(out, from, x->p);
	return 0;
}

static int name(struct ex *x, struct val *out)
{
	const char *from = x->p;

	while (isalnum((unsigned char)*x->p) || *x->p == '_')
		x->p++;
	int n = (int)(x->p - from);
	if (n == 3 && !strncmp(from, "ram", 3)) {
		*out = (struct val){ .v = x->ram, .size = true };
		span(out, from, x->p);
		return 0;
	}
	if (n == 3 && (!strncmp(from, "min", 3) || !strncmp(from, "max", 3)))
		return minmax(x, from[1] == 'i', out);
	return fail(x, "unknown name '%.*s' (expected ram, min(...) or max(...))", n, from);
}

static int primary(struct ex *x, struct val *out)
{
	char c = peek(x);
	const char *from = x->p;

	if (++x->depth > DEPTH_MAX)
		return fail(x, "nested more than %d deep", DEPTH_MAX);
	if (isdigit((unsigned char)c) || c == '.')
		number(x, out);
	else if (isalpha((unsigned char)c))
		name(x, out);
	else if (eat(x, '(')) {
		if (!expr(x, out) && !eat(x, ')'))
			fail(x, "expected ')' at '%.12s'", x->p);
		span(out, from, x->p);
	} else
		fail(x, c ? "unexpected '%.12s'" : "expression ends early%.0s", x->p);
	x->depth--;
	return x->err;
}

static int unary(struct ex *x, struct val *out)
{
	const char *from = x->p;

	if (!eat(x, '-'))
		return primary(x, out);
	if (++x->depth > DEPTH_MAX)
		return fail(x, "nested more than %d deep", DEPTH_MAX);
	if (!unary(x, out)) {
		out->v = -out->v;
		span(out, from, x->p);
	}
	x->depth--;
	return x->err;
}

static int mul(struct ex *x, struct val *a, char op, const struct val *b)
{
	if (op == '*') {
		if (a->size && b->size)
			return fail(x, "'%.*s' * '%.*s': a size times a size is not a size",
				    a->n, a->from, b->n, b->from);
		a->v *= b->v;
		a->size |= b->size;
		return 0;
	}
	if (b->size && !a->size)
		return fail(x, "'%.*s' / '%.*s': a number divided by a size",
			    a->n, a->from, b->n, b->from);
	if (b->v == 0)
		return fail(x, "division by zero ('%.*s' is 0)", b->n, b->from);
	a->v /= b->v;
	a->size = a->size && !b->size;          /* size / size: a ratio */
	return 0;
}

static int term(struct ex *x, struct val *out)
{
	const char *from = x->p;
	struct val b;
	char op;

	if (unary(x, out))
		return x->err;
	while ((op = peek(x)) == '*' || op == '/') {
		x->p++;
		if (unary(x, &b) || mul(x, out, op, &b))
			return x->err;
		span(out, from, x->p);
	}
	return 0;
}

static int expr(struct ex *x, struct val *out)
{
	const char *from = x->p;
	struct val b;
	char op;

	if (term(x, out))
		return x->err;
	while ((op = peek(x)) == '+' || op == '-') {
		x->p++;
		if (term(x, &b))
			return x->err;
		if (b.size != out->size)
			return no_unit(x, b.size ? out : &b, op == '+' ? "in a sum" :
				       "in a difference");
		out->v += op == '+' ? b.v : -b.v;
		span(out, from, x->p);
	}
	return 0;
}

int zt_size_eval(const char *text, uint64_t ram, long double *out, char *msg, size_t len)
{
	struct ex x = { .text = text, .p = text, .ram = (long double)ram, .msg = msg,
			.len = len };
	struct val v;

	if (!expr(&x, &v) && peek(&x))
		fail(&x, "unexpected '%.12s'", x.p);
	if (!x.err && !v.size)
		fail(&x, "'%s' is a plain number, not a size: give it a unit (e.g. 4G)", text);
	if (x.err)
		return x.err;
	*out = v.v;
	return 0;
}
