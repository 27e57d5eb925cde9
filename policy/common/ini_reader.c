/*
 * ini_reader.c — the line reader that policy files and ztier.conf share.
 *
 * Policy files (policy_load.c) and ztier.conf (manager/daemon_ztierconf.c) are
 * both read through it, so both report problems the same way.
 *
 * libinih is fed through ini_parse_stream(zt_ini_read_line, reader, ...).
 * The reader counts lines (a handler runs while its line is current, so
 * r->line is the key's line: FILE:LINE without INI_HANDLER_LINENO), and
 * hands inih only well-formed "key = value" lines:
 *   - getline, so a long line is never split in two; one longer than inih's
 *     buffer is reported and skipped;
 *   - leading blanks stripped: an indented line is never an inih
 *     "continuation" of the previous value;
 *   - "#"/";" comment lines and "#" or ";" comments after a blank dropped:
 *     inih cuts the ";" ones itself, and a line it then rejects (such as
 *     "queues ;x = 99") would be dropped, its error seen by nobody: here
 *     the rest, "queues", is reported as not "key = value";
 *   - "[name]" lines go to r->section (trimmed name), never to inih, which
 *     would not report a section without keys;
 *   - a UTF-8 byte order mark on line 1 is skipped;
 *   - a line holding a NUL or another control character (a tab aside, CR
 *     only before the newline) is reported and skipped: getline's length,
 *     not strlen, says where the line ends.
 * Every problem goes to r->pr at r->file:line; reading goes on.  Reading
 * stops with r->err at a read error, getline's ENOMEM included (taken for
 * end of file, it once made /dev/zero a valid policy), and past
 * ZT_CONFIG_MAX bytes.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/common/common.h"

static void trim_end(char *s)
{
	for (char *e = s + strlen(s); e > s && isspace((unsigned char)e[-1]); )
		*--e = 0;
}

/* Cut a "#" or ";" comment that follows a blank, and trailing blanks. */
static void cut_comment(char *s)
{
	for (char *h = strpbrk(s, "#;"); h; h = strpbrk(h + 1, "#;")) {
		if (h > s && isspace((unsigned char)h[-1])) {
			*h = 0;
			break;
		}
	}
	trim_end(s);
}

static void section_line(struct zt_ini_reader *r, char *s)
{
	char *end = strchr(s, ']');

	if (!end) {
		zt_problem(r->pr, r->file, r->line, "expected ']' to close the section name");
		r->section(r->ctx, NULL);
		return;
	}
	*end = 0;
	while (isspace((unsigned char)*s))
		s++;
	trim_end(s);
	r->section(r->ctx, s);
}

/* The line for inih, or "" to have it skip this one. */
static const char *check(struct zt_ini_reader *r, char *s, int max)
{
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '#' || *s == ';')
		return "";
	cut_comment(s);
	if (!*s)
		return "";
	if ((int)strlen(s) > max) {
		zt_problem(r->pr, r->file, r->line, "line too long (more than %d characters)", max);
		return "";
	}
	if (*s == '[') {
		section_line(r, s + 1);
		return "";
	}
	if (!strpbrk(s, "=:")) {
		zt_problem(r->pr, r->file, r->line, "expected 'key = value'");
		return "";
	}
	return s;
}

/* Cut the line end ("\n", "\r\n", or none on the last line) off the n bytes
 * of s; the rest must be text.  A NUL would make every C string function
 * below see only the part before it (a file of zero bytes would read as
 * empty and valid); another control character (a tab aside) is no part of
 * a config either: a stray CR, an escape sequence.  False, reported, if
 * the line holds one. */
static bool text_line(struct zt_ini_reader *r, char *s, size_t n)
{
	if (n && s[n - 1] == '\n')
		n--;
	if (n && s[n - 1] == '\r')
		n--;
	s[n] = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == 0) {
			zt_problem(r->pr, r->file, r->line, "line holds a NUL byte");
			return false;
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			zt_problem(r->pr, r->file, r->line, "control character 0x%02x", c);
			return false;
		}
	}
	return true;
}

char *zt_ini_read_line(char *str, int num, void *stream)
{
	struct zt_ini_reader *r = stream;
	ssize_t n;

	errno = 0;
	if ((n = getline(&r->buf, &r->cap, r->f)) < 0) {
		if (!feof(r->f) || errno)
			r->err = -(errno ? errno : EIO);
		return NULL;
	}
	if ((r->bytes += (size_t)n) > ZT_CONFIG_MAX) {
		r->err = -EFBIG;
		return NULL;
	}
	char *s = r->buf;
	if (++r->line == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
		s += 3;
		n -= 3;
	}
	snprintf(str, (size_t)num, "%s\n", text_line(r, s, (size_t)n) ? check(r, s, num - 2) : "");
	return str;
}

void zt_ini_reader_free(struct zt_ini_reader *r)
{
	free(r->buf);
	r->buf = NULL;
	r->cap = 0;
}
