/*
 * common.h — what policy/ and manager/ share, below both (zstd's
 * lib/common/ is the model): part of the policy library, but not the policy
 * API (policy/policy.h), so nothing here is about pages or tiers.
 *
 *   ini_reader.c  the INI line reader that policy files and ztier.conf share
 *   values.c      one parser per kind of value both accept (yes/no,
 *                 priorities, memory limits)
 *   out.c         JSON string escaping and FILE:LINE, for the programs'
 *                 presentation (they write only where they are told)
 *   file.c        open a file named as input: a regular file only, of a
 *                 bounded size (never block on a FIFO, never read a device)
 *   errmsg.c      the error-context convention of every library: a function
 *                 that fails returns a negative errno and, when the caller
 *                 gave a buffer, writes one line of context into it
 *                 (zt_fail); programs turn it into a sentence.
 */
#ifndef ZT_POLICY_COMMON_H
#define ZT_POLICY_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "policy/policy.h"

/* ---- errors: (char *msg, size_t len) + negative errno ------------------- */

/* Write the context (printf-style) into msg (may be NULL) and return err,
 * so that a failure is one statement: return zt_fail(msg, len, -EINVAL, ...). */
int zt_fail(char *msg, size_t len, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The usual context: "WHAT: strerror(-err)". */
int zt_fail_errno(char *msg, size_t len, int err, const char *what);

/* ---- problems: the carrier of a reader that reports every problem -------
 * (policy files, their cross-key checks, ztier.conf): where they go and how
 * many there were.  Single failures use zt_fail; whole files use this. */
struct zt_problems {
	zt_policy_report_fn report;   /* NULL: counted only                    */
	void *ctx;
	int count;
};

/* Format one problem at FILE:LINE (line 0: the whole file), report it and
 * count it. */
void zt_problem(struct zt_problems *pr, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void zt_vproblem(struct zt_problems *pr, const char *file, int line, const char *fmt,
		 va_list ap);

/* ---- presentation pieces (out.c) ---------------------------------------- */

/* s for a terminal or the log: bytes outside printable ASCII (but those in
 * keep, e.g. "\t\n") as \xNN, cut to fit len (4 * strlen + 1 always fits).
 * Returns out. */
const char *zt_printable(char *out, size_t len, const char *s, const char *keep);
/* s as a JSON string literal, escaped. */
void zt_json_string(FILE *out, const char *s);
/* "FILE:LINE", or "FILE" when line is 0 (not tied to a line).  Returns buf. */
const char *zt_where(char *buf, size_t len, const char *file, int line);

/* ---- files named as input (file.c) --------------------------------------- */

/* The largest policy file or ztier.conf read (the shipped ones are ~3 KiB). */
#define ZT_CONFIG_MAX (1u << 20)

/* Open path read-only if it is a regular file of at most max bytes (0: any
 * size); flags may add O_NOFOLLOW.  A FIFO or device is refused before it
 * is opened and again after (fstat).  Returns the fd (close-on-exec,
 * blocking) or a negative errno with msg ("cannot read: ...", "not a
 * regular file (a FIFO)", "too large (...)"): -EISDIR, -EINVAL for another
 * type, -EFBIG. */
int zt_open_regular(const char *path, int flags, uint64_t max, char *msg, size_t len);

/* ---- the INI line reader (ini_reader.c) ---------------------------------- */

struct zt_ini_reader {
	FILE *f;
	int line;                        /* the current line, 1-based        */
	/* "[name]" (trimmed), or NULL for a header without ']' (reported) */
	void (*section)(void *ctx, const char *name);
	void *ctx;
	struct zt_problems *pr;          /* every problem, at file:line      */
	const char *file;
	char *buf;                       /* getline's buffer                 */
	size_t cap;
	size_t bytes;                    /* read so far: ZT_CONFIG_MAX at most */
	int err;                         /* why reading stopped early: -errno */
};
/* ini_reader for ini_parse_stream(zt_ini_read_line, &reader, handler, ...):
 * whole lines (getline), no continuations, comments and sections handled
 * here; inih sees only "key = value" lines (so its section is always "").
 * Reading stops, with r->err set, at a read error (getline's ENOMEM
 * included: it is no end of file) or past ZT_CONFIG_MAX bytes (the file
 * grew after it was opened). */
char *zt_ini_read_line(char *str, int num, void *stream);
void zt_ini_reader_free(struct zt_ini_reader *r);

/* ---- names and paths that reach generated files (values.c) ---------------
 * A policy's name becomes the stack's name (udev rules, status lines, swap
 * labels); a spill target goes into a udev rule inside "...".  Each has one
 * check, whoever reads it (policy keys, names from file names, ztierd when
 * it writes the rules). */
bool zt_name_ok(const char *s);        /* 1..ZT_NAME_MAX-1 of [A-Za-z0-9._-] */
#define ZT_NAME_RULE "use 1 to 63 letters, digits, '.', '_', '-'"
bool zt_rule_safe(const char *s);      /* letters, digits and / . _ - + : @ , = */
#define ZT_RULE_UNSAFE_WHY "only letters, digits and / . _ - + : @ , = can go into a udev rule"

/* ---- value parsers (values.c) --------------------------------------------
 * Each returns 0, or -1 with msg filled. */
int zt_value_bool(const char *key, const char *v, bool *out, char *msg, size_t len);
int zt_value_priority(const char *key, const char *v, int *out, char *msg, size_t len);
int zt_value_mem_limit(const char *key, const char *v, struct zt_size *out,
		       char *msg, size_t len);

#endif
