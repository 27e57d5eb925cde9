/*
 * t_quiesce.c — the pure parts of the graceful handover (QUIESCE_DEV):
 * when a stopping queue thread may end (ztu_queue_may_end), played on a
 * model queue whose tags move the way the kernel moves them after STOP_DEV
 * and after QUIESCE_DEV (ublk_drv.c: ublk_cancel_dev aborts the idle tags
 * only; a commit re-arms its tag, whose fetch then never completes); the
 * flags ADD_DEV asks for on 6.12 and on 6.16+; the constants defined for
 * bookworm's 6.12 header, against the UAPI's encoding; and how a
 * recovering server tells that the server the kernel still names has
 * exited (recover.c, compiled in for its static helper).
 */
#include <signal.h>
#include <stdbool.h>
#include <sys/wait.h>

#include "tests/tap.h"
#include "ublk/recover.c"
#include "ublk/srv.h"

/* One queue as queue.c counts it: commands out, retired tags, backend I/O;
 * a tag that is none of those is one we serve. */
struct model {
	unsigned depth, cmd, retired, tgt;
	bool stopping;
};

static bool may_end(const struct model *m)
{
	return m->stopping && ztu_queue_may_end(m->depth, m->cmd, m->retired, m->tgt);
}

static void arrive(struct model *m, unsigned n)  { m->cmd -= n; }            /* OK CQEs */
static void abort_idle(struct model *m, unsigned n) { m->cmd -= n; m->retired += n; m->stopping = true; }
static void commit(struct model *m, unsigned n)  { m->cmd += n; }            /* re-armed */

static void test_stop(void)
{
	struct model m = { .depth = 4, .cmd = 4 };

	ok(!may_end(&m), "serving, all tags fetched: does not end");
	arrive(&m, 1);
	commit(&m, 1);
	/* STOP_DEV: del_gendisk waits for I/O, then every fetch is aborted */
	abort_idle(&m, 4);
	ok(may_end(&m), "STOP_DEV: every tag aborted: ends");
}

static void test_quiesce(void)
{
	struct model m = { .depth = 4, .cmd = 4 };

	arrive(&m, 2);                        /* tags 0 and 1 being served */
	abort_idle(&m, 2);                    /* QUIESCE_DEV: tags 2, 3 */
	ok(!may_end(&m), "quiesced with 2 requests held: serves them first");
	commit(&m, 1);
	ok(!may_end(&m), "one committed, one still held: waits");
	m.tgt = 1;                            /* the held one does backend I/O */
	ok(!may_end(&m), "backend I/O out: waits");
	m.tgt = 0;
	commit(&m, 1);
	is_int(m.cmd, 2, "two re-armed fetches stay in flight");
	ok(may_end(&m), "nothing held, no backend I/O: ends without their CQEs");
}

static void test_late_request(void)
{
	struct model m = { .depth = 2, .cmd = 2 };

	/* A request dispatched before the kernel marked the device canceling:
	 * its task work was queued before the ABORTs', so its CQE comes in
	 * the same batch or an earlier one (queue.c checks between batches).
	 * Were it ever later, the thread would have ended and the kernel
	 * would requeue the request for the next server (REISSUE): replayed,
	 * not lost. */
	arrive(&m, 1);
	abort_idle(&m, 1);
	ok(!may_end(&m), "request and ABORT in one batch: the request is held, waits");
	commit(&m, 1);
	ok(may_end(&m), "committed: ends");
}

static void test_add_flags(void)
{
	const uint64_t k612 = 0x1FE;          /* GET_FEATURES on 6.12 */
	const uint64_t k616 = k612 | UBLK_F_QUIESCE | (1ULL << 10) | (1ULL << 11);
	const uint64_t rec = UBLK_F_USER_RECOVERY | UBLK_F_USER_RECOVERY_REISSUE;

	ok(!(ztu_add_flags(false, false, k616) & (rec | UBLK_F_QUIESCE)),
	   "no state: no recovery, no quiesce, whatever the kernel offers");
	ok((ztu_add_flags(true, false, k612) & rec) == rec, "state on 6.12: user recovery with reissue");
	ok(!(ztu_add_flags(true, false, k612) & UBLK_F_QUIESCE), "state on 6.12: no QUIESCE (kill handover)");
	ok(ztu_add_flags(true, false, k616) & UBLK_F_QUIESCE, "state on 6.16+: QUIESCE asked for");
	ok(!(ztu_add_flags(true, false, k616) & ~(k616 | UBLK_F_CMD_IOCTL_ENCODE)),
	   "never a flag the kernel did not offer");
	ok(!(ztu_add_flags(true, true, k612) & ZTU_ZC_FLAGS), "zero copy on 6.12: not asked for");
	ok((ztu_add_flags(true, true, k616) & ZTU_ZC_FLAGS) == ZTU_ZC_FLAGS,
	   "zero copy on 6.16+: auto buffer registration and user copy");
	ok(!(ztu_add_flags(true, false, k616) & ZTU_ZC_FLAGS), "a target without block tiers: copies");
	ok(!(ztu_add_flags(true, true, k616 & ~UBLK_F_USER_COPY) & ZTU_ZC_FLAGS),
	   "auto registration without user copy: not asked for");
}

static void test_constants(void)
{
	is_int((long long)UBLK_F_QUIESCE, 1ll << 12, "UBLK_F_QUIESCE is bit 12");
	is_int((long long)UBLK_U_CMD_QUIESCE_DEV, 0xC0207516ll,
	       "UBLK_U_CMD_QUIESCE_DEV = _IOWR('u', 0x16, 32-byte ctrl cmd)");
	is_int(UBLK_S_DEV_QUIESCED, 2, "UBLK_S_DEV_QUIESCED");
	is_int(UBLK_S_DEV_FAIL_IO, 3, "UBLK_S_DEV_FAIL_IO");
	is_str(ztu_state_name(UBLK_S_DEV_FAIL_IO), "FAIL_IO", "state name of FAIL_IO");
}

static void test_exited(void)
{
	pid_t child = fork();

	if (child == 0)
		_exit(0);
	ok(!exited(getpid()), "this process: not exited");
	ok(exited(0) && exited(-1), "no pid: exited");
	while (!exited(child))                /* a zombie until reaped */
		sleep_ms(1);
	ok(waitpid(child, NULL, WNOHANG) == child, "exited as a zombie, before it was reaped");
	ok(exited(child), "reaped: exited");
}

int main(void)
{
	test_stop();
	test_quiesce();
	test_late_request();
	test_add_flags();
	test_constants();
	test_exited();
	return tap_done();
}
