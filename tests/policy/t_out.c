/*
 * t_out.c — the presentation pieces of policy/common/out.c: zt_printable
 * (control bytes from file names and policies shown as \xNN, never raw, in
 * the log and on terminals: issue #13's review), ztierd's log line built
 * on it, zt_json_string and zt_where.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/tap.h"
#include "manager/daemon_log.c"

static char *json(const char *s)
{
	static char buf[256];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	zt_json_string(f, s);
	fclose(f);
	return buf;
}

int main(void)
{
	char out[64], where[64];

	is_str(zt_printable(out, sizeof(out), "plain text, 100%", ""), "plain text, 100%",
	       "printable ASCII is kept");
	is_str(zt_printable(out, sizeof(out), "a\033[2Jb\n\x7f", ""), "a\\x1b[2Jb\\x0a\\x7f",
	       "ESC, newline and DEL escaped");
	is_str(zt_printable(out, sizeof(out), "a\tb\nc", "\t\n"), "a\tb\nc", "keep: tab, newline");
	is_str(zt_printable(out, sizeof(out), "\xc3\xa9", ""), "\\xc3\\xa9", "non-ASCII escaped");
	is_str(zt_printable(out, 8, "abcdefghij", ""), "abcdefg", "cut to fit");
	is_str(zt_printable(out, 8, "abcd\033", ""), "abcd", "no half escape at the cut");
	is_str(json("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"", "JSON string escaped");
	is_str(zt_where(where, sizeof(where), "f.conf", 3), "f.conf:3", "FILE:LINE");
	is_str(zt_where(where, sizeof(where), "f.conf", 0), "f.conf", "FILE alone");

	char log[256] = "";
	FILE *f = tmpfile();
	if (!f)
		tap_skip_all("no temporary file");
	int saved = tap_stderr_to(f);
	unsetenv("JOURNAL_STREAM");
	zd_log(ZD_ERR, "%s", "x.conf\nztierd: forged line \033[31m");
	tap_stderr_restore(saved);
	rewind(f);
	log[fread(log, 1, sizeof(log) - 1, f)] = '\0';
	fclose(f);
	is_str(log, "ztierd: x.conf\\x0aztierd: forged line \\x1b[31m\n",
	       "a log line stays one line, escape sequences shown");
	return tap_done();
}
