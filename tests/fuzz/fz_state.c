/*
 * fz_state.c — libFuzzer harness: the recovery state file's attach and
 * validate (ublk/state.c), run as a recovering server runs it: the file
 * laid down in a memfd, zu_state_attach with the geometry the server's
 * config gives, so the header checks, the page-table walk, every entry's
 * adoption by its tier and the rebuild of allocator metadata all run.
 *
 * A state file is over a MiB even for a tiny device (the page table's
 * fixed pool), almost all of it zeros, so the input is the file in sparse
 * form (tests/fuzz/fz_state.h: a flags byte, a size byte, then runs of
 * bytes at offsets).  The server's geometry is the one the header's own
 * fields describe: a recovering server has the config that made the
 * state, so a mutation meets every check a real attach makes, not just
 * "another device".
 *
 * What must hold: the attach refuses with one line (a non-empty message
 * and a known errno) leaving the file as it was, or it gives a state in
 * which every entry names live data of its tier, the allocators count
 * exactly what the table names, a second attach agrees (invariant 6), the
 * compactor moves pages without changing a byte, new allocations never
 * land on a named location, and freeing every page empties everything.
 * Any break of that aborts (a crash for libFuzzer), as does ASan/UBSan.
 *
 * ZT_FZ_STATE_SEEDS=DIR build/fuzz/fz_state writes the seed corpus
 * (states made through the allocators, as the unit tests make them) to DIR
 * and exits: tests/fuzz/corpus/state/ is its output.  ZT_FZ_STATE_VERBOSE=1
 * prints each attach's outcome (replaying a corpus: what it covers).
 */
#include <errno.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "tests/fuzz/fuzz.h"
#include "ublk/state.c"          /* the header's layout and checksum */
#include "ublk/store_pt.h"
#include "tests/ublk/state_free.h"

static int fz_fd = -1;
static bool fz_verbose;             /* ZT_FZ_STATE_VERBOSE: each attach's outcome */
static char msg[ZTU_MSG_MAX];

#define FZ_FAIL(...) (fprintf(stderr, "fz_state: " __VA_ARGS__), fputc('\n', stderr), abort())

#include "tests/fuzz/fz_state.h"
#include "tests/fuzz/fz_state_check.h"
#include "tests/fuzz/fz_state_seeds.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("ZT_FZ_STATE_SEEDS");

	fz_verbose = getenv("ZT_FZ_STATE_VERBOSE");
	fz_fd = memfd_create("fz_state", MFD_CLOEXEC);
	if (fz_fd < 0)
		abort();
	if (dir)
		exit(fz_write_seeds(dir));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zu_state_hdr h;
	struct zu_state_geom g;
	static uint8_t before[FZ_MAX_FILE], after[FZ_MAX_FILE];
	size_t n;
	int err;

	if (fz_lay_down(fz_fd, data, size, &h))
		return 0;
	/* Half of the inputs attach on demand (a file system's state: the
	 * store's free part punched out, holes never read). */
	g = (struct zu_state_geom){ h.dev_size, h.store_bytes, h.spill_slots, h.zram_slots,
				    h.fill_capacity, h.policy_id, h.zram_dev1, size & 1 };
	n = fz_snapshot(fz_fd, before);
	err = fz_attach_and_check(fz_fd, &g);
	if (fz_verbose)
		fprintf(stderr, "fz_state: %s\n", err ? msg : "attached, consistent");
	if (err) {
		if (fz_snapshot(fz_fd, after) != n || memcmp(before, after, n))
			FZ_FAIL("a refused attach (%d: %s) changed the file", err, msg);
	}
	return 0;
}
