/*
 * t_store_reserve.c — the store in reserve mode: put never commits
 * (-ENOSPC, counted as "reserve empty", with the arena unchanged), free
 * never unmaps, a refill restores the reserve goal and never passes the
 * limit, the housekeeper refills, trims and compacts on its own; upfront
 * commit (everything committed at start, nothing mapped after).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "tests/tap.h"
#include "ublk/codec.h"
#include "ublk/store.h"
#include "tests/ublk/store_model.h"

#define MIB (UINT64_C(1) << 20)

static uint64_t arena_chunks(struct zu_store *st)
{
	return zu_store_arena_bytes(st) / ZU_STORE_CHUNK;
}

static uint64_t spare_chunks(struct zu_store *st)
{
	struct zu_store_stats s;

	zu_store_stats(st, &s);
	return s.spare_bytes / ZU_STORE_CHUNK;
}

/* A 4 MiB store (64 segments) with a reserve, driven by hand. */
static void test_reserve(void)
{
	struct zu_store *st = zu_store_create(4 * MIB);
	unsigned char buf[ZT_PAGE_SIZE];
	static uint64_t h[40000];
	struct zu_store_stats s;
	unsigned n = 0, i, k, bad = 0, over = 0;
	uint64_t x;
	int err;

	tm_pattern(buf, sizeof(buf), 7);
	is_int(zu_store_reserve(st, 0, 0), -EINVAL, "reserve of 0 segments: -EINVAL");
	is_int(zu_store_reserve(st, 2, 3), -EINVAL, "low above target: -EINVAL");
	is_int(zu_store_housekeeper_start(st), -EINVAL, "no housekeeper without a reserve");
	is_int(zu_store_reserve(st, 8, 4), 0, "reserve up to 8 segments");
	zu_store_stats(st, &s);
	ok(s.arena_bytes == ZU_STORE_CHUNK && s.spare_bytes == ZU_STORE_CHUNK &&
	   s.reserve_target_bytes == ZU_STORE_CHUNK, "an empty store commits the minimum reserve: 1");
	while ((err = zu_store_put(st, buf, 1000, &h[n])) == 0 && n < 39999)
		n++;
	is_int(err, -ENOSPC, "reserve used up: put is -ENOSPC");
	is_int(n, TM_SEG_PAGES(1000), "after filling the reserve segment");
	is_int(arena_chunks(st), 1, "the I/O side never committed a segment");
	is_int(zu_store_put_raw(st, buf, &x), -ENOSPC, "raw too");
	zu_store_stats(st, &s);
	ok(s.enospc_reserve == 2 && s.enospc_limit == 0, "both counted as 'reserve empty'");
	/* A page with nowhere else to go is not refused for an empty reserve. */
	is_int(zu_store_put_last(st, buf, 700, &h[n]), 0, "put_last with the reserve empty: 0");
	n++;
	is_int(arena_chunks(st), 2, "it committed its own segment");
	is_int(zu_store_refill(st), 1, "refill commits the segment the reserve lacks");
	ok(arena_chunks(st) == 3 && spare_chunks(st) == 1, "the reserve is back");
	/* Fill and refill until the limit: the arena never passes it. */
	for (k = 0; k < 200 && n < 39000; k++) {
		while (n < 39999 && zu_store_put(st, buf, 64 + 32 * (k % 90), &h[n]) == 0)
			n++;
		over += arena_chunks(st) > 64;
		if (zu_store_refill(st) == 0 && spare_chunks(st) == 0)
			break;
	}
	zu_store_stats(st, &s);
	ok(over == 0 && s.arena_bytes == 4 * MIB, "refills stop at the limit (64 segments)");
	is_int(zu_store_refill(st), 0, "at the limit a refill commits nothing");
	is_int(zu_store_put(st, buf, 3000, &x), -ENOSPC, "and put is -ENOSPC");
	zu_store_stats(st, &s);
	ok(s.enospc_limit >= 1, "counted as 'memory limit'");
	for (i = 0; i < n; i++)
		bad += !tm_holds(st, h[i], zu_store_handle_len(h[i]), 7);
	is_int(bad, 0, "every page reads back");
	for (i = 0; i < n; i++)
		zu_store_free(st, h[i]);
	zu_store_stats(st, &s);
	ok(s.pages == 0 && s.arena_bytes == 4 * MIB && s.chunks_released == 0,
	   "free never unmaps in reserve mode");
	zu_store_refill(st);
	zu_store_stats(st, &s);
	ok(s.arena_bytes == ZU_STORE_CHUNK && s.spare_bytes == s.arena_bytes,
	   "a refill trims the spares back to the reserve goal");
	zu_store_destroy(st);
}

/* Wait up to 3 s for cond(st). */
static bool becomes(struct zu_store *st, bool (*cond)(struct zu_store *))
{
	for (int i = 0; i < 3000; i++) {
		if (cond(st))
			return true;
		usleep(1000);
	}
	return false;
}

static bool reserve_full(struct zu_store *st)
{
	struct zu_store_stats s;

	zu_store_stats(st, &s);
	return s.spare_bytes >= ZU_STORE_CHUNK && s.spare_bytes <= s.reserve_target_bytes;
}

static bool packed(struct zu_store *st)
{
	struct zu_store_stats s;

	zu_store_stats(st, &s);
	return s.compactions > 0 && zu_store_overhead_pct(s.in_use_bytes, s.data_bytes) < 12;
}

/* The housekeeper refills, trims and compacts on its own. */
static void test_housekeeper(void)
{
	struct zu_store *st = zu_store_create(64 * MIB);
	unsigned char buf[ZT_PAGE_SIZE];
	struct zu_store_stats s;
	struct tmodel m;
	struct zu_store_mover mv;
	unsigned i, n = 0, bad = 0;
	uint64_t h;

	tm_init(&m, 8192);
	mv = tm_mover(&m);
	tm_pattern(buf, sizeof(buf), 9);
	is_int(zu_store_reserve(st, 8, 4), 0, "reserve up to 8 segments, refill below half");
	is_int(zu_store_set_mover(st, &mv), 0, "a mover");
	is_int(zu_store_housekeeper_start(st), 0, "start the housekeeper");
	is_int(zu_store_housekeeper_start(st), -EINVAL, "only once");
	is_int(zu_store_set_mover(st, &mv), -EINVAL, "no new mover while it runs");
	for (i = 0; i < 8192; i++) {
		int err;

		while ((err = zu_store_put(st, buf, 1000, &h)) == -ENOSPC)
			usleep(100);   /* the reserve is refilled, not by us */
		m.e[n++] = h;
	}
	ok(becomes(st, reserve_full), "the housekeeper refilled the reserve");
	zu_store_stats(st, &s);
	ok(s.reserve_target_bytes == s.in_use_bytes / 32 / ZU_STORE_CHUNK * ZU_STORE_CHUNK,
	   "goal: 1/32 of the segments in use (%llu KiB)",
	   (unsigned long long)s.reserve_target_bytes >> 10);
	for (i = 0; i < n; i++)
		if (i % 3) {
			tm_lock(&m, i);
			zu_store_free(st, m.e[i]);
			tm_unlock(&m, i, 0);
		}
	ok(becomes(st, packed), "the housekeeper compacted 2/3 holes on its own");
	for (i = 0; i < n; i++) {
		uint64_t v = tm_lock(&m, i);

		bad += v && !tm_holds(st, v, 1000, 9);
		tm_unlock(&m, i, v);
	}
	is_int(bad, 0, "the moved pages read back");
	for (i = 0; i < n; i++)
		if (m.e[i])
			zu_store_free(st, tm_lock(&m, i)), tm_unlock(&m, i, 0);
	ok(becomes(st, reserve_full) && arena_chunks(st) == 1,
	   "all freed: the housekeeper trims back to the reserve");
	zu_store_destroy(st);
	ok(1, "destroy stops the housekeeper");
	free(m.e);
}

/* Upfront commit (swap): everything committed at once, then no put ever
 * maps memory, a full store refuses at once (also put_last), and a free
 * gives the segment back to the stack, never to the kernel. */
static void test_commit_all(void)
{
	struct zu_store *st = zu_store_create(4 * MIB);
	struct zu_store_stats s;
	unsigned char buf[ZT_PAGE_SIZE];
	static uint64_t h[40000];
	uint64_t x, rss0 = tm_rss_bytes();
	unsigned n = 0, i, bad = 0;
	int err;

	tm_pattern(buf, sizeof(buf), 11);
	is_int(zu_store_housekeeper_start(st), -EINVAL, "no housekeeper before a commit");
	is_int(zu_store_commit_all(st), 0, "commit the whole 4 MiB limit");
	ok(tm_rss_bytes() - rss0 >= 4 * MIB, "and it is resident (%" PRIu64 " KiB more)",
	   (tm_rss_bytes() - rss0) >> 10);
	is_int(zu_store_commit_all(st), -EINVAL, "only once");
	is_int(zu_store_reserve(st, 4, 2), -EINVAL, "no reserve on top of it");
	is_int(zu_store_housekeeper_start(st), -EINVAL, "upfront: no housekeeper without a mover");
	zu_store_stats(st, &s);
	ok(s.arena_bytes == 4 * MIB && s.spare_bytes == 4 * MIB && s.in_use_bytes == 0,
	   "all 64 segments are spares, none in use");
	while (n < 39999 && (err = zu_store_put(st, buf, 64 + 32 * (n % 8), &h[n])) == 0)
		n++;
	is_int(err, -ENOSPC, "filled to the limit: -ENOSPC");
	is_int(zu_store_put_last(st, buf, 3000, &x), -ENOSPC, "put_last: -ENOSPC at once");
	is_int(zu_store_put_raw_last(st, buf, &x), -ENOSPC, "put_raw_last too");
	zu_store_stats(st, &s);
	ok(s.enospc_limit == 3 && s.enospc_reserve == 0, "refusals counted as the limit");
	is_int(zu_store_refill(st), 0, "a refill has nothing to commit");
	for (i = 0; i < n; i++)
		bad += !tm_holds(st, h[i], zu_store_handle_len(h[i]), 11);
	is_int(bad, 0, "every page reads back");
	tap_diag("%u pages at the limit", n);
	for (i = 0; i < n; i++)
		zu_store_free(st, h[i]);
	is_int(zu_store_trim(st), 0, "trim");
	zu_store_stats(st, &s);
	ok(s.pages == 0 && s.arena_bytes == 4 * MIB && s.spare_bytes == 4 * MIB &&
	   s.chunks_released == 0, "freed segments stay committed, nothing unmapped");
	is_int(zu_store_put(st, buf, 3000, &x), 0, "and serve the next put");
	zu_store_destroy(st);
}

int main(void)
{
	test_reserve();
	test_housekeeper();
	test_commit_all();
	return tap_done();
}
