/*
 * daemon_recover.c — a ztier device whose server dies is served again.
 *
 * ztierd gives each ztier swap device a state file (ublk/state.h) in
 * /dev/shm/ztier/: the page table, the store and the slot maps live there,
 * not in the server, and the device is made with the kernel's user
 * recovery (ublk/recover.c).  When the server dies the kernel holds the
 * device's I/O; ztierd sees the death on its pidfd and starts a server that
 * attaches to the state (ztu_server_spawn_recover): within about a second
 * under TCG, and no page is lost.  A thread per such server watches it
 * (daemon_supervise.c), so no job delays a recovery.  Five deaths within a
 * minute (ztier.conf's recover-limit) is a crash loop: ztierd stops trying,
 * the device stays quiesced (its I/O waits, its pages are kept) and one log
 * line says what to do.
 *
 * Memory while nobody serves.  Between the death and the new server the
 * state's pages are mapped by no one but ztierd; were they unlocked, reclaim
 * could swap them out to the very device that is down.  So ztierd maps the
 * state and mlocks it for as long as the device exists.  It is the same
 * memory the server maps (one tmpfs file): its VmLck counts it once more,
 * nothing is allocated twice.  The state is fallocated whole when it is
 * made (upfront, zu_state_create), so locking it commits nothing new.
 *
 * Why not lock less.  mlock() of a shared tmpfs mapping faults in every
 * page of the range: on a sparse file it allocates the holes, so a naive
 * lock of a state the server had only partly written would commit all of
 * it.  mlock2(MLOCK_ONFAULT) commits nothing, but locks only the pages
 * this process touches, and ztierd touches none: the server's pages would
 * be left unprotected exactly when it is dead.  The state is committed
 * whole anyway (upfront, by design: a swap server never allocates while it
 * serves), so a full lock costs ztierd its page tables and nothing else.
 * Measured on the host (6.18, memfd of the size, mmap PROT_READ MAP_SHARED,
 * then the lock; /proc/self/status and /proc/meminfo deltas):
 *   fallocated 256 MiB / 1 GiB / 4 GiB, mlock: VmLck = the size; Shmem
 *     unchanged by the lock; VmPTE +516 KiB / +2052 KiB / +8204 KiB
 *     (8 B per 4 KiB page: ~2 MiB per GiB, kernel memory ztierd holds);
 *   1 GiB sparse, 128 MiB of it written, mlock: Shmem 128 MiB -> 1 GiB
 *     (the 896 MiB of holes committed), VmLck 1 GiB;
 *   the same with MLOCK_ONFAULT: VmLck 1 GiB (the range is counted),
 *     Mlocked +0, Shmem unchanged: nothing is held in memory.
 * So VmLck of ztierd = the sum of its states (ublk/state.h: 265,460 KiB
 * for a 1 GiB device, 1,058,072 KiB for 4 GiB), shared with the servers,
 * plus ~2 MiB of page tables per GiB of state of its own.
 * /dev/shm rather than /run: /run is a small tmpfs (10% of RAM on Debian),
 * too small for a store of ram/4.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "manager/daemon.h"
#include "ublk/ztublk.h"

#define STATE_DIR        "/dev/shm/ztier"
#define RECOVER_TIMEOUT_MS 30000

/* Room in /dev/shm for a state: the store's limit, the page table (8 B
 * per 4 KiB page, 1/512 of the device) and a margin for the rest.  A
 * state committed as it fills (no memory-commit) never holds more store
 * than the device's size, even raw. */
bool zd_state_fits(const struct ztu_config *cfg)
{
	struct statvfs v;
	uint64_t store = cfg->mem_limit;
	uint64_t need;

	if (!cfg->commit_upfront && store > cfg->size)
		store = cfg->size;
	need = store + cfg->size / 512 + (16u << 20);

	if (statvfs(STATE_DIR, &v) < 0)
		return false;
	return (uint64_t)v.f_bavail * v.f_frsize >= need;
}

void zd_state_file(const struct zd_stack *s, char *path, size_t len)
{
	snprintf(path, len, STATE_DIR "/%s.state", s->name);
}

/* Map the server's state and lock it (see above).  Not a state without
 * memory-commit (a file system's): locking it would commit its store's
 * whole part, and its pages may be swapped out like any file system's
 * (to a swap device, never to the device they serve). */
int zd_state_hold(struct zd_stack *s)
{
	struct stat st;
	int fd;
	void *p;

	if (s->policy && !zt_policy_commits_upfront(s->policy))
		return 0;
	fd = open(s->state_path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_size <= 0) {
		close(fd);
		return -EINVAL;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -errno;
	if (mlock(p, (size_t)st.st_size) < 0) {
		int err = -errno;
		munmap(p, (size_t)st.st_size);
		return err;
	}
	s->state_map = p;
	s->state_len = (size_t)st.st_size;
	return 0;
}

void zd_state_release(struct zd_stack *s)
{
	if (s->state_map)
		munmap(s->state_map, s->state_len);
	s->state_map = NULL;
	s->state_len = 0;
}

pid_t zd_spawn_recovery(int ublk_id, int *pidfd, char *why, size_t len)
{
	static _Thread_local struct ztu_config cfg;   /* big: off the stack */
	int rfd, id, err;
	pid_t pid;

	if ((err = ztu_recover_load_config(ublk_id, &cfg, why, len)))
		return err;
	pid = ztu_server_spawn_recover(&cfg, ublk_id, &rfd);
	if (pid < 0) {
		snprintf(why, len, "fork: %s", strerror((int)-pid));
		return pid;
	}
	err = ztu_server_wait_live(rfd, RECOVER_TIMEOUT_MS, &id, why, len);
	if (err) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return err;
	}
	*pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	return pid;
}
