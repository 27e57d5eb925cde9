/*
 * fz_request.c — libFuzzer harness: ztierd's control request parser
 * (manager/daemon_request.c), the one parser that reads bytes from another
 * process.  A parsed request must hold a known verb and an argument that
 * is a printable string inside its buffer.
 */
#include "tests/fuzz/fuzz.h"
#include "manager/daemon_request.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zd_request r;
	const char *why = NULL;
	char *copy = malloc(size ? size : 1);

	if (!copy)
		abort();
	memcpy(copy, data, size);       /* exactly size bytes: no terminator */
	if (zd_request_parse(copy, size, &r, &why) == 0) {
		size_t n = strnlen(r.arg, sizeof(r.arg));
		if (r.verb >= ZD_REQ_COUNT || n == sizeof(r.arg))
			abort();
		for (size_t i = 0; i < n; i++)
			if (r.arg[i] < 0x20 || r.arg[i] > 0x7e)
				abort();
		(void)zd_verb_name(r.verb);
	} else if (!why) {
		abort();
	}
	free(copy);
	return 0;
}
