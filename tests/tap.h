/*
 * tap.h — a few lines of TAP (Test Anything Protocol) for ztier's C tests.
 *
 * Each test program prints "ok N - name" / "not ok N - name" and a plan;
 * prove(1) reads the stream and prints the summary CI looks for.  A test that
 * needs something the machine lacks calls tap_skip_all(reason) instead of
 * failing or faking it (the liburing way).
 */
#ifndef ZT_TESTS_TAP_H
#define ZT_TESTS_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include <unistd.h>

static int tap_count, tap_failed;

static inline int tap_ok(int cond, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline int tap_ok(int cond, const char *fmt, ...)
{
	va_list ap;
	printf("%sok %d - ", cond ? "" : "not ", ++tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!cond)
		tap_failed++;
	fflush(stdout);
	return cond;
}

/* Diagnostics go to stdout behind "# " so they stay in order with results. */
static inline void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void tap_diag(const char *fmt, ...)
{
	va_list ap;
	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

#define ok(cond, ...) tap_ok(!!(cond), __VA_ARGS__)

#define is_int(got, want, name) do {                                          \
	long long g_ = (long long)(got), w_ = (long long)(want);              \
	if (!tap_ok(g_ == w_, "%s", name))                                    \
		tap_diag("  got %lld, want %lld (%s:%d)", g_, w_, __FILE__, __LINE__); \
} while (0)

#define is_str(got, want, name) do {                                          \
	const char *g_ = (got), *w_ = (want);                                 \
	if (!tap_ok(g_ && w_ && strcmp(g_, w_) == 0, "%s", name))             \
		tap_diag("  got \"%s\", want \"%s\" (%s:%d)", g_ ? g_ : "(null)", \
			 w_ ? w_ : "(null)", __FILE__, __LINE__);              \
} while (0)

static inline void tap_skip_all(const char *reason)
{
	printf("1..0 # SKIP %s\n", reason);
	exit(0);
}

/* stderr (a daemon's log, a library's reporter) into f until
 * tap_stderr_restore(the returned fd). */
static inline int tap_stderr_to(FILE *f)
{
	int saved = dup(2);

	fflush(stderr);
	dup2(fileno(f), 2);
	return saved;
}

static inline void tap_stderr_restore(int saved)
{
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
}

/* Call last: prints the plan and returns the exit status for main(). */
static inline int tap_done(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}

#endif
