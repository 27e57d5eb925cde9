/*
 * b_store_churn.c — `make bench`: tests/vm/bench-mem.sh's memory sequence
 * for the shipped default policy, on the host, with the store driven as
 * the server drives it (tests/ublk/store_churn.h: a real page table, the
 * housekeeper thread compacting on its own).
 *
 * Pages: the corpus `make vm-bench` builds (real perl/python3/node heap
 * pages), from $ZT_CORPUS or build/vm/corpus.bin, each classified and
 * compressed as the default policy does (same-filled: no store bytes,
 * text zstd:3, mixed lz4, random raw); without it the benchmark says so
 * and passes.  Steps as in bench-mem.sh on a 2 GiB device with a 1536 MiB
 * limit: the corpus written (cycled) up to 1 GiB; fio's churn (512 MiB of
 * 4 KiB random writes over that GiB, 70% compressible: per 512 B, 30%
 * random bytes then zeros, as fio's buffer_compress_percentage makes
 * them); a discard of the first 256 MiB; a discard of everything.  After
 * each step: when the figures settle and where, and what bench-mem.sh's
 * "two readings 0.5 s apart agree" would have read (store_churn.h).
 * $ZT_PACE_US=N: the discards come as 1 MiB requests N us apart (the
 * guest's pace: the housekeeper's rounds then overlap them).
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "tests/ublk/store_churn.h"
#include "tests/ublk/store_model.h"
#include "ublk/codec.h"

#define DEV_PAGES  (UINT64_C(1) << 19)   /* 2 GiB */
#define FILL_PAGES (UINT64_C(1) << 18)   /* 1 GiB */

struct corpus {
	unsigned char *bytes;     /* every page's stored bytes, end to end */
	uint64_t *off;            /* page i: off[i] .. off[i + 1]          */
	enum zt_codec_kind *codec;
	size_t n;
	struct zu_codec_ctx *cx;
	struct zt_thresholds th;
	uint64_t rnd;
};

/* Page bytes as the default policy stores them: the length (0: same-filled,
 * ZT_PAGE_SIZE: raw) into dst. */
static size_t policy_store(struct corpus *c, const unsigned char *page, unsigned char *dst,
			   enum zt_codec_kind *kind)
{
	static const struct zt_codec text = { ZT_CODEC_ZSTD, 3 }, mixed = { ZT_CODEC_LZ4, 0 };
	struct zt_page_class pc;
	int len;

	zt_classify(page, &c->th, &pc);
	if (pc.cls == ZT_CLASS_SAMEFILL)
		return 0;
	if (pc.cls != ZT_CLASS_RANDOM) {
		const struct zt_codec *cd = pc.cls == ZT_CLASS_TEXT ? &text : &mixed;

		len = zu_codec_compress(c->cx, cd, page, dst, ZU_STORE_MAX_COMPRESSED);
		if (len > 0) {
			*kind = cd->kind;
			return (size_t)len;
		}
	}
	memcpy(dst, page, ZT_PAGE_SIZE);
	*kind = ZT_CODEC_RAW;
	return ZT_PAGE_SIZE;
}

static bool load(struct corpus *c)
{
	const char *path = getenv("ZT_CORPUS") ? getenv("ZT_CORPUS") : "build/vm/corpus.bin";
	unsigned char page[ZT_PAGE_SIZE];
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &sb) < 0 || sb.st_size < (off_t)ZT_PAGE_SIZE) {
		printf("b_store_churn: no corpus at %s (make vm-bench builds it, or set "
		       "ZT_CORPUS): skipped\n", path);
		return false;
	}
	c->n = (size_t)sb.st_size / ZT_PAGE_SIZE;
	c->bytes = malloc(c->n * ZT_PAGE_SIZE);
	c->off = calloc(c->n + 1, sizeof(*c->off));
	c->codec = calloc(c->n, sizeof(*c->codec));
	c->cx = zu_codec_ctx_create(3);
	zt_thresholds_default(&c->th);
	for (size_t i = 0; i < c->n; i++) {
		if (pread(fd, page, ZT_PAGE_SIZE, (off_t)(i * ZT_PAGE_SIZE)) != ZT_PAGE_SIZE) {
			perror("b_store_churn: read");
			exit(1);
		}
		c->off[i + 1] = c->off[i] + policy_store(c, page, c->bytes + c->off[i], &c->codec[i]);
	}
	close(fd);
	printf("b_store_churn: %s: %zu pages, %.1f MB as the default policy stores them\n",
	       path, c->n, c->off[c->n] / 1e6);
	return true;
}

static size_t corpus_page(void *ctx, uint64_t pgno, unsigned char *buf,
			  enum zt_codec_kind *codec)
{
	struct corpus *c = ctx;
	size_t i = pgno % c->n, len = c->off[i + 1] - c->off[i];

	memcpy(buf, c->bytes + c->off[i], len);
	*codec = c->codec[i];
	return len;
}

/* fio --buffer_compress_percentage=70 --refill_buffers: a fresh buffer per
 * write, each 512 B chunk 30% random bytes then zeros. */
static size_t churn_page(void *ctx, uint64_t pgno, unsigned char *buf,
			 enum zt_codec_kind *codec)
{
	struct corpus *c = ctx;
	unsigned char page[ZT_PAGE_SIZE] = { 0 };

	(void)pgno;
	for (size_t ch = 0; ch < ZT_PAGE_SIZE; ch += 512)
		for (size_t i = 0; i < 512 * 30 / 100; i++)
			page[ch + i] = (unsigned char)(tm_rand(&c->rnd) >> 7);
	return policy_store(c, page, buf, codec);
}

int main(void)
{
	const char *pace_env = getenv("ZT_PACE_US");
	unsigned pace = pace_env ? (unsigned)atoi(pace_env) : 0;
	struct corpus c = { .rnd = 12345 };
	struct sc_watch w;
	struct sc sc;
	uint64_t i;

	if (!load(&c))
		return 0;
	if (sc_open(&sc, DEV_PAGES, 1536 * SC_MIB)) {
		fprintf(stderr, "b_store_churn: cannot make the store\n");
		return 1;
	}
	for (i = 0; i < FILL_PAGES; i++)
		sc_write(&sc, i, corpus_page, &c);
	sc_watch(&sc, "1 GiB stored", 30, true, &w);
	for (i = 0; i < FILL_PAGES / 2; i++)
		sc_write(&sc, tm_rand(&c.rnd) % FILL_PAGES, churn_page, &c);
	sc_watch(&sc, "after churn", 30, true, &w);
	sc_discard(&sc, 0, FILL_PAGES / 4, pace);
	sc_watch(&sc, "discarded 256 MiB", 30, true, &w);
	sc_discard(&sc, 0, FILL_PAGES, pace);
	sc_watch(&sc, "discarded all", 30, true, &w);
	printf("b_store_churn: after discarding all: %llu KiB committed, %llu KiB spare, "
	       "reserve goal %llu KiB, %llu puts failed\n", (unsigned long long)w.used >> 10,
	       (unsigned long long)w.spare >> 10, (unsigned long long)w.reserve >> 10,
	       (unsigned long long)sc.fails);
	sc_close(&sc);
	zu_codec_ctx_destroy(c.cx);
	free(c.bytes);
	free(c.off);
	free(c.codec);
	return 0;
}
