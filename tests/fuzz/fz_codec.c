/*
 * fz_codec.c — libFuzzer harness: a stored page's bytes through the page
 * codec's readers (ublk/codec.c), as a spill file or a recovered state may
 * hand them back after a bad disk or a bug.  zstd bytes are a standard
 * frame or a dictionary frame by their first bytes: both readers get
 * them.  Whatever the bytes, a reader returns 0 with a whole page or
 * -EIO, and reads nothing outside them (ASan).  The seeds: pages the codec
 * wrote (tests/fuzz/corpus/codec/).
 */
#include <errno.h>

#include "tests/fuzz/fuzz.h"
#include "ublk/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct zu_codec_ctx *ctx;
	static unsigned char page[ZT_PAGE_SIZE];
	unsigned char *copy = malloc(size ? size : 1);   /* ASan sees its end */
	int r;

	if (!ctx && !(ctx = zu_codec_ctx_create(0)))
		abort();
	memcpy(copy, data, size);
	r = zu_codec_decompress(ctx, ZT_CODEC_ZSTD, copy, size, page);
	if (r != 0 && r != -EIO)
		abort();
	r = zu_codec_decompress(ctx, ZT_CODEC_LZ4, copy, size, page);
	if (r != 0 && r != -EIO)
		abort();
	free(copy);
	return 0;
}
