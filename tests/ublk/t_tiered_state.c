/*
 * t_tiered_state.c — the tiered target with a state file (--state): its
 * init puts the table, the fill table, the store and the spill slots in a
 * new state; pages written through the tiers' own put paths by a server
 * that dies without its teardown are all there for an attach; a clean stop
 * removes the file; without --state nothing changes.  The zram tier with
 * a state: t_zram_state.c (it needs the host's zram).
 * No ublk needed: the device-wide init and the tiers run on the host.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "tests/tap.h"
#include "ublk/state.h"
#include "ublk/tiered.h"

#define NPAGES 64u

static char dir[] = "/tmp/t_tiered_state.XXXXXX";
static char msg[ZTU_MSG_MAX];

static struct ztu_dev *dev(bool state)
{
	struct ztu_dev *d = calloc(1, sizeof(*d));

	d->cfg.target = ZTU_TARGET_TIERED;
	d->cfg.size = UINT64_C(64) << 20;
	d->cfg.mem_limit = UINT64_C(8) << 20;
	d->cfg.commit_upfront = true;
	snprintf(d->cfg.spill_path, sizeof(d->cfg.spill_path), "%s/spill", dir);
	d->cfg.spill_size = UINT64_C(4) << 20;
	if (state)
		snprintf(d->cfg.state_path, sizeof(d->cfg.state_path), "%s/state", dir);
	return d;
}

/* Page i: text for the store (even), a spill slot (odd). */
static uint64_t put(struct ztu_tier_ctx *tc, unsigned i)
{
	static const struct zt_codec lz4 = { ZT_CODEC_LZ4, 0 };
	struct zt_page_class cls = { 0 };
	char page[ZT_PAGE_SIZE];
	uint64_t e = 0;

	for (unsigned k = 0; k < sizeof(page); k++)
		page[k] = (char)('a' + (k / 64 + i) % 26);
	if (i % 2)
		ztu_tier_blk.put(tc, ZT_TIER_SPILL, page, &cls, &lz4, true, &e);
	else
		ztu_tier_store.put(tc, ZT_TIER_STORE, page, &cls, &lz4, true, &e);
	return e;
}

/* A server that writes NPAGES pages and dies without its teardown. */
static void dying_server(void)
{
	struct ztu_dev *d = dev(true);
	struct ztu_qstats st = { 0 };
	struct ztu_tier_ctx tc = { .st = &st };
	uint64_t old;

	if (ztu_tiered_init(d, msg, sizeof(msg)))
		_exit(2);
	tc.t = d->tgt;
	tc.codec = zu_codec_ctx_create(0);
	for (unsigned i = 0; i < NPAGES; i++) {
		uint64_t e = put(&tc, i);

		if (!e || zu_pt_lock(tc.t->pt, i * 250u, 0, &old))
			_exit(3);
		zu_pt_unlock(tc.t->pt, i * 250u, e);
	}
	_exit(0);
}

/* Attach as a new server would and read back every page. */
static void attach_after_death(void)
{
	struct ztu_dev *d = dev(true);
	struct zu_state_geom g;
	struct zu_state *s;
	unsigned good = 0;
	int fd = open(d->cfg.state_path, O_RDWR), ret;

	zu_state_geom_of(&d->cfg, (UINT64_C(4) << 20) / ZT_PAGE_SIZE, 4096, &g);
	ret = zu_state_attach(fd, &g, &s, msg, sizeof(msg));
	if (!ok(!ret, "attach to the dead server's state"))
		return tap_diag("  %s", msg);
	for (unsigned i = 0; i < NPAGES; i++) {
		uint64_t e = zu_pt_peek(s->pt, i * 250u);

		good += i % 2 ? zu_pte_tier(e) == ZT_TIER_SPILL &&
				zu_slots_in_use(s->spill, zu_pte_slot_nr(e))
			      : zu_pte_tier(e) == ZT_TIER_STORE;
	}
	is_int(good, NPAGES, "every page it wrote is there, in its tier");
	is_int(zu_slots_used(s->spill), NPAGES / 2, "spill slots recounted");
	zu_state_detach(s);
	close(fd);
	unlink(d->cfg.state_path);   /* what ztier-ublk del would reap */
	free(d);
}

static void test_death(void)
{
	pid_t pid = fork();
	int st;

	if (pid == 0)
		dying_server();
	waitpid(pid, &st, 0);
	if (!ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "a server wrote %u pages and died",
		NPAGES))
		return tap_diag("  exit status %d", WEXITSTATUS(st));
	attach_after_death();
}

static void test_clean_stop(bool state)
{
	struct ztu_dev *d = dev(state);
	struct ztu_tiers *t;
	struct stat sb;

	if (!ok(ztu_tiered_init(d, msg, sizeof(msg)) == 0, "init %s a state file",
		state ? "with" : "without"))
		return tap_diag("  %s", msg);
	t = d->tgt;
	ok(state ? t->state && t->pt == t->state->pt && t->store == t->state->store
		 : !t->state && t->pt && t->store, "the table and the store are %s",
	   state ? "the state's" : "the process's");
	if (state && stat(d->cfg.state_path, &sb) == 0)
		ok(sb.st_size > (off_t)d->cfg.mem_limit, "state file of %lld bytes",
		   (long long)sb.st_size);
	else if (state)
		ok(0, "no state file");
	ztu_tiered_deinit(d);
	ok(stat(d->cfg.state_path, &sb) < 0, "no state file after a clean stop");
	free(d);
}

int main(void)
{
	char path[64];

	if (!mkdtemp(dir))
		tap_skip_all("mkdtemp");
	test_clean_stop(false);
	test_clean_stop(true);
	test_death();
	snprintf(path, sizeof(path), "%s/spill", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/state", dir);
	unlink(path);
	rmdir(dir);
	return tap_done();
}
