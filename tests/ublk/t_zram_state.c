/*
 * t_zram_state.c — the zram tier with a state file, on the host's real
 * zram (root, hot_add; skipped otherwise): a server writes text pages to
 * its zram tier (slot, write, publish, old slot discarded and freed, as
 * the queues do) and is killed with SIGKILL mid-write; a new server
 * attaches the state, reopens the same /dev/zramN, and every acknowledged
 * page reads back (the last acknowledged version, or the one in flight,
 * published but not yet acknowledged); zram then holds exactly the pages
 * the table names (the dead writers' unpublished slots were discarded).  A
 * state whose zram device is gone is refused with one line and kept.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "tests/tap.h"
#include "ublk/state.h"
#include "ublk/tier_zram.h"
#include "ublk/tiered.h"

#define NPAGES 256u

static char dir[] = "/tmp/t_zram_state.XXXXXX";
static char msg[ZTU_MSG_MAX];

/* What the dying server shares with the test: its device, each page's
 * last acknowledged version (0: none yet). */
struct shared {
	int zram_id;
	_Atomic uint32_t acked[NPAGES];
};
static struct shared *sh;

static struct ztu_dev *dev(bool recovering)
{
	struct ztu_dev *d = calloc(1, sizeof(*d));

	d->cfg.target = ZTU_TARGET_TIERED;
	d->cfg.size = UINT64_C(64) << 20;
	d->cfg.rule[ZT_CLASS_TEXT].tier = ZT_TIER_ZRAM;
	snprintf(d->cfg.zram.algorithm, sizeof(d->cfg.zram.algorithm), "lz4");
	d->cfg.zram.disksize = UINT64_C(4) << 20;          /* 1024 slots */
	snprintf(d->cfg.state_path, sizeof(d->cfg.state_path), "%s/state", dir);
	d->recovering = d->keep_state = recovering;
	return d;
}

/* Page i's version v: text, different in every 64-byte line. */
static void page_of(char *page, unsigned i, uint32_t v)
{
	for (unsigned k = 0; k < ZT_PAGE_SIZE; k++)
		page[k] = (char)('a' + (k / 64 + i * 3 + v) % 26);
	snprintf(page, 32, "page %u version %u ", i, v);
}

static void *aligned_page(void)
{
	void *p = NULL;

	return posix_memalign(&p, ZT_PAGE_SIZE, ZT_PAGE_SIZE) ? NULL : p;
}

/* One write as a queue makes it: a slot, the data, publish, free the old
 * location (discard, then the slot). */
static int write_page(struct ztu_tier_ctx *tc, unsigned i, uint32_t v)
{
	static const struct zt_codec none = { ZT_CODEC_RAW, 0 };
	struct zt_page_class cls = { 0 };
	char page[ZT_PAGE_SIZE];
	uint64_t e, old;

	page_of(page, i, v);
	if (ztu_tier_blk.put(tc, ZT_TIER_ZRAM, page, &cls, &none, true, &e) ||
	    ztu_tier_blk.write_sync(tc, e, page) || zu_pt_lock(tc->t->pt, i * 61u, 0, &old))
		return -1;
	zu_pt_unlock(tc->t->pt, i * 61u, e);
	if (!zu_pte_is_empty(old)) {
		ztu_zram_discard(tc->t, zu_pte_slot_nr(old));
		ztu_tier_blk.drop(tc, old);
	}
	return 0;
}

static void ctx_of(struct ztu_tier_ctx *tc, struct ztu_dev *d, struct ztu_qstats *st)
{
	*tc = (struct ztu_tier_ctx){ .t = d->tgt, .st = st, .scratch = aligned_page() };
}

/* Three slots written and never published, as queues killed between
 * their write and its publication leave them. */
static void leave_unpublished(struct ztu_tier_ctx *tc)
{
	static const struct zt_codec none = { ZT_CODEC_RAW, 0 };
	struct zt_page_class cls = { 0 };
	char page[ZT_PAGE_SIZE];
	uint64_t e;

	for (unsigned i = 0; i < 3; i++) {
		page_of(page, i, 99);
		if (ztu_tier_blk.put(tc, ZT_TIER_ZRAM, page, &cls, &none, true, &e) ||
		    ztu_tier_blk.write_sync(tc, e, page))
			_exit(4);
	}
}

/* Leaves three unpublished writes, writes every page, then rewrites them
 * until killed. */
static void dying_server(void)
{
	struct ztu_dev *d = dev(false);
	struct ztu_qstats st = { 0 };
	struct ztu_tier_ctx tc;

	if (ztu_tiered_init(d, msg, sizeof(msg))) {
		fprintf(stderr, "# dying server: %s\n", msg);
		ztu_tiered_deinit(d);            /* nothing left behind */
		_exit(2);
	}
	ctx_of(&tc, d, &st);
	sh->zram_id = ztu_zram_id(d->tgt);
	leave_unpublished(&tc);
	for (uint32_t v = 1;; v++)
		for (unsigned i = 0; i < NPAGES; i++) {
			if (write_page(&tc, i, v))
				_exit(3);
			atomic_store(&sh->acked[i], v);
		}
}

/* Page i reads back from zram as version v. */
static bool reads_as(struct ztu_tier_ctx *tc, unsigned i, uint32_t v)
{
	char want[ZT_PAGE_SIZE];
	uint64_t e = zu_pt_peek(tc->t->pt, i * 61u);

	if (zu_pte_tier(e) != ZT_TIER_ZRAM || ztu_tier_blk.get(tc, e, tc->scratch))
		return false;
	page_of(want, i, v);
	return !memcmp(want, tc->scratch, ZT_PAGE_SIZE);
}

/* Page i holds its acknowledged version or the one after. */
static bool page_ok(struct ztu_tier_ctx *tc, unsigned i)
{
	uint32_t v = atomic_load(&sh->acked[i]);

	return reads_as(tc, i, v) || reads_as(tc, i, v + 1);
}

static uint64_t zram_pages(int id)
{
	struct zg_dev z;
	struct zg_stats zs;

	if (zg_attach(&z, id) || zg_read_stats(&z, &zs) || !zs.mm.present)
		return UINT64_MAX;
	return zs.mm.orig_data_size / ZT_PAGE_SIZE;
}

static void check_recovered(struct ztu_dev *d)
{
	struct ztu_tiers *t = d->tgt;
	struct ztu_qstats st = { 0 };
	struct ztu_tier_ctx tc;
	unsigned good = 0;

	ctx_of(&tc, d, &st);
	ok(ztu_zram_id(t) == sh->zram_id, "the same /dev/zram%d reopened", sh->zram_id);
	for (unsigned i = 0; i < NPAGES; i++)
		good += page_ok(&tc, i);
	is_int(good, NPAGES, "every acknowledged page reads back from zram");
	is_int(ztu_blk_used(t->blk[ZT_TIER_ZRAM]), NPAGES, "zram slots recounted");
	ok(zram_pages(sh->zram_id) == NPAGES, "zram holds the table's %u pages, no more "
	   "(%llu: the unpublished writes discarded)", NPAGES,
	   (unsigned long long)zram_pages(sh->zram_id));
	ok(write_page(&tc, 5, 1000) == 0 && reads_as(&tc, 5, 1000) &&
	   ztu_blk_used(t->blk[ZT_TIER_ZRAM]) == NPAGES, "new writes after the take-over");
	free(tc.scratch);
}

/* After a failure: the state file goes, and the device the dying server
 * made (only that one: it reported its id). */
static void forget(const char *state_path)
{
	struct zg_dev z;

	unlink(state_path);
	if (sh->zram_id >= 0 && zg_attach(&z, sh->zram_id) == 0)
		zg_destroy(&z);
	sh->zram_id = -1;
}

static void test_death(void)
{
	struct ztu_dev *d;
	struct timespec ms = { 0, (long)(rand() % 20 + 1) * 1000000L };
	struct stat sb;
	char sys[64];
	pid_t pid = fork();
	int st;

	if (pid == 0)
		dying_server();
	while (!atomic_load(&sh->acked[NPAGES - 1]) && waitpid(pid, &st, WNOHANG) == 0)
		nanosleep(&(struct timespec){ 0, 1000000L }, NULL);
	nanosleep(&ms, NULL);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	d = dev(true);
	if (!ok(WIFSIGNALED(st), "a server wrote %u text pages to zram, rewrote some, and "
		"was killed (after %ld ms more)", NPAGES, ms.tv_nsec / 1000000L)) {
		tap_diag("  exit status %d", WEXITSTATUS(st));
		return forget(d->cfg.state_path);
	}
	if (!ok(ztu_tiered_init(d, msg, sizeof(msg)) == 0, "a new server attaches its state")) {
		tap_diag("  %s", msg);
		ztu_tiered_deinit(d);
		return forget(d->cfg.state_path);
	}
	check_recovered(d);
	d->keep_state = false;               /* a clean stop from now on */
	ztu_tiered_deinit(d);
	snprintf(sys, sizeof(sys), "/sys/block/zram%d", sh->zram_id);
	ok(stat(d->cfg.state_path, &sb) < 0 && stat(sys, &sb) < 0,
	   "a clean stop removes the state and the zram device");
	free(d);
}

/* A state whose zram device was removed meanwhile: refused, kept. */
static void test_device_gone(void)
{
	struct ztu_dev *d;
	struct zg_dev z;
	struct stat sb;
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		d = dev(false);
		if (ztu_tiered_init(d, msg, sizeof(msg))) {
			fprintf(stderr, "# server: %s\n", msg);
			ztu_tiered_deinit(d);
			_exit(2);
		}
		sh->zram_id = ztu_zram_id(d->tgt);
		_exit(0);                        /* no teardown: a death */
	}
	waitpid(pid, &st, 0);
	d = dev(true);
	if (!WIFEXITED(st) || WEXITSTATUS(st) || sh->zram_id < 0 ||
	    zg_attach(&z, sh->zram_id) || zg_destroy(&z)) {
		ok(0, "a server dies, its zram%d removed behind the state's back", sh->zram_id);
		return forget(d->cfg.state_path);
	}
	sh->zram_id = -1;
	is_int(ztu_tiered_init(d, msg, sizeof(msg)), -ENOENT, "its zram device gone: refused");
	tap_diag("  %s", msg);
	ztu_tiered_deinit(d);
	ok(stat(d->cfg.state_path, &sb) == 0, "and the state is kept");
	unlink(d->cfg.state_path);
	free(d);
}

int main(void)
{
	if (geteuid() != 0 || access("/sys/class/zram-control/hot_add", R_OK))
		tap_skip_all("needs root and zram's hot_add");
	if (!mkdtemp(dir))
		tap_skip_all("mkdtemp");
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		tap_skip_all("mmap");
	srand((unsigned)time(NULL));
	for (int round = 0; round < 3; round++) {
		memset(sh, 0, sizeof(*sh));
		sh->zram_id = -1;
		test_death();
	}
	sh->zram_id = -1;
	test_device_gone();
	rmdir(dir);
	return tap_done();
}
