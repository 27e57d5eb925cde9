/*
 * out.c — the small formatting pieces both programs' presentation uses
 * (ztierctl's column table, ztier-ublk's list, the problem reporters), so
 * that JSON strings are escaped and FILE:LINE is written one way.  They
 * write only where the program tells them to.
 *
 * zt_printable is for text bound for a terminal or the log: a file name or
 * a value from a policy may hold an escape sequence (or a newline that
 * would forge a log line), so every byte outside printable ASCII is shown
 * as \xNN.  Non-ASCII text is escaped too: telling UTF-8 from C1 control
 * bytes is not worth it for names that are ASCII by convention.
 */
#include <stdio.h>
#include <string.h>

#include "policy/common/common.h"

void zt_json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(out, "\\u%04x", ch);
		else
			fputc(ch, out);
	}
	fputc('"', out);
}

const char *zt_printable(char *out, size_t len, const char *s, const char *keep)
{
	size_t o = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		bool plain = (c >= 0x20 && c < 0x7f) || strchr(keep, c);
		if (o + (plain ? 1 : 4) >= len)
			break;          /* and the NUL must fit */
		if (plain)
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, len - o, "\\x%02x", c);
	}
	if (len)
		out[o < len ? o : len - 1] = '\0';
	return out;
}

const char *zt_where(char *buf, size_t len, const char *file, int line)
{
	if (line > 0)
		snprintf(buf, len, "%s:%d", file, line);
	else
		snprintf(buf, len, "%s", file);
	return buf;
}
