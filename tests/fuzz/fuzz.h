/*
 * fuzz.h — what the libFuzzer harnesses (tests/fuzz/fz_*.c) share.
 *
 * The parsers under test read files by path (the daemon's and ztierctl's
 * way), so a harness writes each input into one temporary file made once
 * per process; rewriting it is microseconds, far below a parse.  Strings
 * for the value parsers are the input cut at its first NUL.
 */
#ifndef ZT_FUZZ_H
#define ZT_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The harness's file, rewritten with the input; its path stays valid. */
static inline const char *fz_file(const char *tag, const uint8_t *data, size_t size)
{
	static char path[64];
	static int fd = -1;

	if (fd < 0) {
		snprintf(path, sizeof(path), "/tmp/ztier-fuzz-%s.XXXXXX", tag);
		if ((fd = mkstemp(path)) < 0)
			abort();
	}
	if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	return path;
}

/* data as a C string (its first NUL ends it), in a heap copy that ASan
 * watches: a read past the end is caught. */
static inline char *fz_string(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = 0;
	return s;
}

#endif
