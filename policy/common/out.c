/*
 * out.c — the small formatting pieces both programs' presentation uses
 * (ztierctl's column table, ztier-ublk's list, the problem reporters), so
 * that JSON strings are escaped and FILE:LINE is written one way.  They
 * write only where the program tells them to.
 */
#include <stdio.h>

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

const char *zt_where(char *buf, size_t len, const char *file, int line)
{
	if (line > 0)
		snprintf(buf, len, "%s:%d", file, line);
	else
		snprintf(buf, len, "%s", file);
	return buf;
}
