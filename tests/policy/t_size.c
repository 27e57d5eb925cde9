/*
 * t_size.c — policy sizes: parsing, errors, formatting and resolving.
 */
#include <errno.h>
#include <string.h>

#include "policy/policy.h"
#include "tests/tap.h"

static void parses(const char *s, uint64_t bytes, uint32_t num, uint32_t den)
{
	struct zt_size z = { 1, 1, 1, "x" };
	int err = zt_size_parse(s, &z);

	ok(err == 0 && z.bytes == bytes && z.ram_num == num && z.ram_den == den,
	   "'%s' -> %" PRIu64 " bytes, ram*%u/%u", s, bytes, num, den);
}

static void fails(const char *s, int want)
{
	struct zt_size z;
	int err = zt_size_parse(s, &z);

	ok(err == want, "'%s' rejected with %s (got %d)", s,
	   want == -EINVAL ? "EINVAL" : "ERANGE", err);
}

/* An expression: parses, and resolves to want bytes with ram bytes of RAM. */
static void evaluates(const char *s, uint64_t ram, uint64_t want)
{
	struct zt_size z;
	char msg[256] = "";
	int err = zt_size_parse_msg(s, &z, msg, sizeof(msg));

	ok(err == 0 && zt_size_resolve(&z, ram) == want,
	   "'%s' with %" PRIu64 "M of RAM is %" PRIu64 " bytes (got %" PRIu64 ", %s)", s,
	   ram >> 20, want, err ? 0 : zt_size_resolve(&z, ram), msg);
}

/* Refused with a message that contains want. */
static void says(const char *s, int want_err, const char *want)
{
	struct zt_size z;
	char msg[256] = "";
	int err = zt_size_parse_msg(s, &z, msg, sizeof(msg));

	ok(err == want_err && strstr(msg, want), "'%s' refused: %s", s, msg);
}

static void expressions(void)
{
	const uint64_t G = 1ull << 30, M = 1ull << 20;

	evaluates("min(ram / 2, 4G)", 16 * G, 4 * G);          /* zram-generator's default */
	evaluates("min(ram / 2, 4G)", 2 * G, 1 * G);
	evaluates("min(ram/2,4096M)", 6 * G, 3 * G);
	evaluates("ram * 0.5", 8 * G, 4 * G);
	evaluates("ram*0.25", 8 * G, 2 * G);
	evaluates("max(ram - 2G, 1G)", 8 * G, 6 * G);
	evaluates("max(ram - 2G, 1G)", 2 * G, 1 * G);
	evaluates("max(ram / 10, 256M, 512M)", 1 * G, 512 * M);
	evaluates("(ram + 1G) / 2", 3 * G, 2 * G);
	evaluates("ram * 3 / 4 - 512M", 4 * G, 2560 * M);
	evaluates("1.5G", 0, 1536 * M);
	evaluates("4.5G", 0, 4608 * M);
	evaluates("2 * 1G + 512M", 0, 2560 * M);
	evaluates("-1G + ram", 2 * G, 1 * G);
	evaluates("ram / (ram / 4G)", 16 * G, 4 * G);           /* a ratio divides */
	evaluates("ram - 4G", 2 * G, 0);                       /* negative here: 0 */
	evaluates("ram / 3", 10000 * 4096ull, 3333 * 4096ull);  /* whole pages */
	evaluates("  min( ram / 2 , 4G )  ", 16 * G, 4 * G);

	says("min(ram / 2, 4096)", -EINVAL, "'4096' in min() has no unit");
	says("ram + 1", -EINVAL, "'1' in a sum has no unit");
	says("max(2, ram)", -EINVAL, "'2' in max() has no unit");
	says("2 * 4096", -EINVAL, "plain number, not a size");
	says("ram * ram", -EINVAL, "a size times a size");
	says("4 / ram", -EINVAL, "divided by a size");
	says("ram / 0", -EINVAL, "division by zero");
	says("ram / (2 - 2)", -EINVAL, "division by zero");
	says("min(ram", -EINVAL, "expected ',' or ')'");
	says("min ram", -EINVAL, "needs '('");
	says("mean(ram, 4G)", -EINVAL, "unknown name 'mean'");
	says("ram / 2)", -EINVAL, "unexpected ')'");
	says("ram / ", -EINVAL, "ends early");
	says("4X * 2", -EINVAL, "bad number or unit");
	says("1.G", -EINVAL, "bad number");
	says("ram * 2000", -ERANGE, "out of range");
	says("16E + 1G", -ERANGE, "out of range");
	says("1G - 2G", -ERANGE, "negative");
	says("ram / 2000000000", -ERANGE, "less than a page");
	evaluates("ram / 2048", 8 * G, 4 * M);
	says("((((((((((((((((((((((((((((((((((ram))))))))))))))))))))))))))))))))))", -EINVAL,
	     "nested more than 32");
	char long_expr[256];
	memset(long_expr, ' ', sizeof(long_expr));
	memcpy(long_expr + 150, "ram+1G", 7);
	evaluates(long_expr, 1 * G, 2 * G);                  /* spaces trimmed first */
	memset(long_expr, 0, sizeof(long_expr));
	for (int i = 0; i < 40; i++)
		strcat(long_expr, "1G + ");
	strcat(long_expr, "1G");
	says(long_expr, -EINVAL, "longer than 127");
}

static void formats(const char *s, const char *want)
{
	struct zt_size z;
	char buf[64];

	zt_size_parse(s, &z);
	is_str(zt_size_format(&z, buf, sizeof(buf)), want, s);
}

int main(void)
{
	parses("4096", 4096, 0, 0);
	parses("4K", 4096, 0, 0);
	parses("512M", 512ull << 20, 0, 0);
	parses("4G", 4ull << 30, 0, 0);
	parses("4g", 4ull << 30, 0, 0);
	parses("4GiB", 4ull << 30, 0, 0);
	parses("4GB", 4ull << 30, 0, 0);
	parses("1T", 1ull << 40, 0, 0);
	parses("15E", 15ull << 60, 0, 0);
	parses("0", 0, 0, 0);
	parses(" 8M ", 8ull << 20, 0, 0);
	parses("ram", 0, 1, 1);
	parses("ram/4", 0, 1, 4);
	parses("ram*3/4", 0, 3, 4);
	parses("ram * 3 / 4", 0, 3, 4);
	parses("ram*2", 0, 2, 1);

	fails("", -EINVAL);
	fails("G", -EINVAL);
	fails("4X", -EINVAL);
	fails("4GG", -EINVAL);
	fails("-4G", -ERANGE);              /* an expression: negative */
	fails("0x10", -EINVAL);
	fails("ram/", -EINVAL);
	fails("ram/4x", -EINVAL);
	fails("ramx", -EINVAL);
	fails("ram/0", -EINVAL);            /* division by zero */
	fails("ram*0", -ERANGE);
	fails("ram/99999999999", -ERANGE);  /* less than a page */
	fails("ram*4294967295", -ERANGE);   /* would resolve past 16 EiB */
	fails("ram*2048", -ERANGE);         /* over 1024 x RAM: a typo */
	parses("ram/1024", 0, 1, 1024);
	parses("ram*1024", 0, 1024, 1);
	fails("16E", -ERANGE);
	fails("17179869184G", -ERANGE);
	fails("99999999999999999999", -ERANGE);

	formats("4096", "4K");
	formats("4097", "4097");
	formats("512M", "512M");
	formats("1024M", "1G");
	formats("ram", "ram");
	formats("ram/4", "ram/4");
	formats("ram*3/4", "ram*3/4");
	formats("ram*2", "ram*2");
	formats(" min(ram / 2, 4G) ", "min(ram / 2, 4G)");
	expressions();

	struct zt_size z;
	zt_size_parse("ram/4", &z);
	is_int(zt_size_resolve(&z, 16ull << 30), 4ull << 30, "ram/4 of 16G is 4G");
	zt_size_parse("ram/3", &z);
	is_int(zt_size_resolve(&z, 10000 * 4096ull) % 4096, 0, "ram/3 rounds down to whole pages");
	zt_size_parse("ram*3/4", &z);
	is_int(zt_size_resolve(&z, 8ull << 30), 6ull << 30, "ram*3/4 of 8G is 6G");
	zt_size_parse("ram", &z);
	ok(zt_size_resolve(&z, 0) > 0, "ram resolves against /proc/meminfo");
	zt_size_parse("512M", &z);
	is_int(zt_size_resolve(&z, 1), 512ull << 20, "absolute size ignores RAM");
	ok(zt_size_is_set(&z), "512M is set");
	zt_size_parse("0", &z);
	ok(!zt_size_is_set(&z), "0 is unset");
	return tap_done();
}
