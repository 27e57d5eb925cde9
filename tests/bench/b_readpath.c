/*
 * b_readpath.c — `make bench`: the server's read path for store pages, on
 * real process memory with the shipped default policy (issue #11: swap-in
 * speed against kernel zram on the same data).
 *
 * Pages: the corpus (tests/bench/corpus.h).  Policy:
 * policy/examples/default.conf, or $ZT_POLICY.  Every page is written as
 * the server writes it: zt_classify, the class's codec and tier_mem.c's
 * store put (the raw fallback included), its entry in a page table.
 * Same-filled pages are counted and left out: the server reads them
 * without a lock or a codec (tgt_tiered.c read_inline).  Then every stored
 * page is read back once and compared, untimed.
 *
 * Tables (each figure the median of ROUNDS passes, in a random order as
 * fio's randread; $ZT_BENCH_CLOCK=cpu for the thread's CPU clock):
 *  store  per class: pages, codec, stored bytes (what the data costs; the
 *         store's segments come on top) and ns/page of the write (codec +
 *         store put);
 *  read   per class and over all stored pages: ns/page of a read as
 *         tgt_tiered.c read_page does it for a store page (peek, lock, the
 *         codec straight into the request's buffer, unlock with the age
 *         reset), and of its decompression alone.
 * Instructions per page, the same on every run:
 * tests/bench/callgrind-readpath.sh.
 */
#include <errno.h>

#include "tests/bench/corpus.h"
#include "ublk/tier.h"

#define ROUNDS 5

struct bench {
	struct zt_policy pol;
	struct ztu_tiers t;
	struct ztu_qstats st;
	struct ztu_tier_ctx tc;
	size_t *idx[ZT_CLASS_COUNT];          /* stored pages by class, shuffled */
	size_t n[ZT_CLASS_COUNT], samefill;
	uint64_t bytes[ZT_CLASS_COUNT];
	double write_ns[ZT_CLASS_COUNT];
};

static unsigned char out[ZT_PAGE_SIZE] __attribute__((aligned(4096)));

/* One store page read as tgt_tiered.c read_page reads it (no partial
 * pages, no spill tier): noinline, for callgrind-readpath.sh to count. */
__attribute__((noinline)) int bench_read_page(struct bench *b, uint64_t pgno, void *buf);
__attribute__((noinline)) int bench_read_page(struct bench *b, uint64_t pgno, void *buf)
{
	uint64_t e = zu_pt_peek(b->t.pt, pgno);
	int ret;

	if (zu_pte_is_empty(e) || zu_pte_tier(e) != ZT_TIER_STORE)
		return -ENOENT;                   /* read_inline's pages */
	ret = zu_pt_lock(b->t.pt, pgno, ZU_PT_NOCREATE, &e);
	if (ret)
		return ret;
	ret = ztu_tier_store.get(&b->tc, zu_pte_untagged(e), buf);
	zu_pt_unlock(b->t.pt, pgno, zu_pte_store_aged(e, 0));
	return ret;
}

/* Its decompression alone: the store's bytes through the codec. */
static int decompress_page(struct bench *b, uint64_t pgno, void *buf)
{
	uint64_t e = zu_pt_peek(b->t.pt, pgno);
	size_t len;
	const void *src = zu_store_data(b->t.store, zu_pte_store_handle(e), &len);

	return zu_codec_decompress(b->tc.codec, zu_pte_store_codec(e), src, len, buf);
}

static void setup(struct bench *b, size_t npages)
{
	const char *path = getenv("ZT_POLICY") ? getenv("ZT_POLICY") : "policy/examples/default.conf";
	int max_level = 0, hc = 0;

	zt_policy_default(&b->pol);
	if (zt_policy_load(&b->pol, path, NULL, NULL)) {
		fprintf(stderr, "b_readpath: %s: not a valid policy\n", path);
		exit(1);
	}
	for (int c = 0; c < ZT_CLASS_COUNT; c++) {
		if (b->pol.rule[c].codec.kind == ZT_CODEC_ZSTD && b->pol.rule[c].codec.level > max_level)
			max_level = b->pol.rule[c].codec.level;
		hc |= b->pol.rule[c].codec.kind == ZT_CODEC_LZ4 && b->pol.rule[c].codec.level;
		b->idx[c] = malloc(npages * sizeof(size_t));
	}
	b->t.pt = zu_pt_create(npages, 0);
	b->t.store = zu_store_create(npages * ZT_PAGE_SIZE);
	b->tc.t = &b->t;
	b->tc.st = &b->st;
	b->tc.codec = zu_codec_ctx_create(max_level);
	if (!b->t.pt || !b->t.store || !b->tc.codec || !b->idx[ZT_CLASS_COUNT - 1] ||
	    (hc && zu_codec_ctx_enable_lz4hc(b->tc.codec)) || zu_store_commit_all(b->t.store)) {
		fprintf(stderr, "b_readpath: no page table, store or codec\n");
		exit(1);
	}
	printf("b_readpath: policy %s (%s)\n", b->pol.name, path);
}

/* Write every page; the ones of each class are timed together. */
static void write_all(struct bench *b, const struct corpus *c)
{
	uint64_t old, e;

	for (size_t i = 0; i < c->n; i++) {
		struct zt_page_class pc;

		zt_classify(page_at(c, i), &b->pol.thresholds, &pc);
		if (pc.cls == ZT_CLASS_SAMEFILL)
			b->samefill++;
		else
			b->idx[pc.cls][b->n[pc.cls]++] = i;
	}
	for (int k = ZT_CLASS_TEXT; k < ZT_CLASS_COUNT; k++) {
		const struct zt_page_class pc = { .cls = (enum zt_class)k };
		double t0 = now_ns();

		for (size_t j = 0; j < b->n[k]; j++) {
			size_t i = b->idx[k][j];
			if (ztu_tier_store.put(&b->tc, ZT_TIER_STORE, page_at(c, i), &pc,
					       &b->pol.rule[k].codec, true, &e) ||
			    zu_pt_lock(b->t.pt, i, 0, &old)) {
				fprintf(stderr, "b_readpath: page %zu: not stored\n", i);
				exit(1);
			}
			zu_pt_unlock(b->t.pt, i, e);
			b->bytes[k] += zu_store_handle_len(zu_pte_store_handle(e));
		}
		b->write_ns[k] = b->n[k] ? (now_ns() - t0) / (double)b->n[k] : 0;
	}
}

/* Every stored page reads back as it was written. */
static void check_all(struct bench *b, const struct corpus *c)
{
	for (int k = ZT_CLASS_TEXT; k < ZT_CLASS_COUNT; k++) {
		for (size_t j = 0; j < b->n[k]; j++) {
			size_t i = b->idx[k][j];
			if (bench_read_page(b, i, out) || memcmp(out, page_at(c, i), ZT_PAGE_SIZE)) {
				fprintf(stderr, "b_readpath: page %zu reads back wrong\n", i);
				exit(1);
			}
		}
	}
}

static void shuffle(size_t *v, size_t n, uint64_t *seed)
{
	for (size_t i = n; i > 1; i--) {
		*seed = *seed * 6364136223846793005u + 1442695040888963407u;
		size_t j = (size_t)(*seed >> 33) % i, t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
}

static void store_table(const struct bench *b)
{
	uint64_t pages = 0, bytes = 0;
	char codec[32];

	printf("\n[store] %zu same-filled pages left out (meta); stored:\n", b->samefill);
	printf("  %-7s %7s %-7s %11s %8s %10s\n", "class", "pages", "codec", "bytes", "B/page",
	       "write ns");
	for (int k = ZT_CLASS_TEXT; k < ZT_CLASS_COUNT; k++) {
		pages += b->n[k];
		bytes += b->bytes[k];
		printf("  %-7s %7zu %-7s %11llu %8.0f %10.0f\n", zt_class_name((enum zt_class)k),
		       b->n[k], zt_codec_format(&b->pol.rule[k].codec, codec, sizeof(codec)),
		       (unsigned long long)b->bytes[k],
		       b->n[k] ? (double)b->bytes[k] / (double)b->n[k] : 0, b->write_ns[k]);
	}
	printf("  %-7s %7llu %-7s %11llu %8.0f\n", "all", (unsigned long long)pages, "",
	       (unsigned long long)bytes, pages ? (double)bytes / (double)pages : 0);
}

typedef int (*read_fn)(struct bench *b, uint64_t pgno, void *buf);

static double pass_ns(struct bench *b, const size_t *idx, size_t n, read_fn fn)
{
	double t0 = now_ns();
	int err = 0;

	for (size_t i = 0; i < n; i++)
		err |= fn(b, idx[i], out);
	if (err) {
		fprintf(stderr, "b_readpath: a read failed\n");
		exit(1);
	}
	return (now_ns() - t0) / (double)n;
}

/* Median ns/page of the read and of its decompression, taking turns. */
static void read_row(struct bench *b, const char *name, const size_t *idx, size_t n)
{
	double t[2][ROUNDS];

	if (!n)
		return;
	for (int r = 0; r < ROUNDS; r++) {
		t[0][r] = pass_ns(b, idx, n, bench_read_page);
		t[1][r] = pass_ns(b, idx, n, decompress_page);
	}
	printf("  %-7s %7zu %8.0f %11.0f\n", name, n, median(t[0], ROUNDS), median(t[1], ROUNDS));
}

static void read_table(struct bench *b)
{
	size_t total = 0, *all;
	uint64_t seed = 11;

	for (int k = ZT_CLASS_TEXT; k < ZT_CLASS_COUNT; k++)
		total += b->n[k];
	all = malloc(total * sizeof(*all));
	total = 0;
	for (int k = ZT_CLASS_TEXT; k < ZT_CLASS_COUNT; k++) {
		memcpy(all + total, b->idx[k], b->n[k] * sizeof(*all));
		total += b->n[k];
		shuffle(b->idx[k], b->n[k], &seed);
	}
	shuffle(all, total, &seed);
	printf("\n[read] random order, median of %d passes (%s time), ns/page:\n", ROUNDS,
	       clock_name());
	printf("  %-7s %7s %8s %11s\n", "class", "pages", "read", "decompress");
	for (int k = ZT_CLASS_TEXT; k < ZT_CLASS_COUNT; k++)
		read_row(b, zt_class_name((enum zt_class)k), b->idx[k], b->n[k]);
	read_row(b, "all", all, total);
	free(all);
}

int main(void)
{
	struct corpus c = load_corpus("b_readpath");
	static struct bench b;

	if (!c.n)
		return 0;
	setup(&b, c.n);
	write_all(&b, &c);
	check_all(&b, &c);
	store_table(&b);
	read_table(&b);
	zu_codec_ctx_destroy(b.tc.codec);
	zu_store_destroy(b.t.store);
	zu_pt_destroy(b.t.pt);
	for (int k = 0; k < ZT_CLASS_COUNT; k++)
		free(b.idx[k]);
	free((void *)c.pages);
	return 0;
}
