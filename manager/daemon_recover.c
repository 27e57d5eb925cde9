/*
 * daemon_recover.c — a ztier device whose server dies is served again.
 *
 * ztierd gives each ztier swap device a state file (ublk/state.h) in
 * /dev/shm/ztier/: the page table, the store and the slot maps live there,
 * not in the server, and the device is made with the kernel's user
 * recovery (ublk/recover.c).  When the server dies the kernel holds the
 * device's I/O; ztierd sees the death on its pidfd and starts a server that
 * attaches to the state (ztu_server_spawn_recover): within about a second
 * under TCG, and no page is lost.  Five deaths within a minute is a crash
 * loop: ztierd stops trying, the device stays quiesced (its I/O waits, its
 * pages are kept) and one log line says what to do.
 *
 * Memory while nobody serves.  Between the death and the new server the
 * state's pages are mapped by no one but ztierd; were they unlocked, reclaim
 * could swap them out to the very device that is down.  So ztierd maps the
 * state and mlocks it for as long as the device exists.  It is the same
 * memory the server maps (one tmpfs file): its VmLck counts it once more,
 * nothing is allocated twice.  The state is fallocated whole when it is
 * made (upfront), so locking it commits nothing new.
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
#define LOOP_DEATHS      5          /* deaths within LOOP_SECONDS: stop */
#define LOOP_SECONDS     60

/* Room in /dev/shm for a state: the store's limit, the page table (8 B
 * per 4 KiB page, 1/512 of the device) and a margin for the rest. */
bool zd_state_fits(const struct ztu_config *cfg)
{
	struct statvfs v;
	uint64_t need = cfg->mem_limit + cfg->size / 512 + (16u << 20);

	if (statvfs(STATE_DIR, &v) < 0)
		return false;
	return (uint64_t)v.f_bavail * v.f_frsize >= need;
}

void zd_state_file(const struct zd_stack *s, char *path, size_t len)
{
	snprintf(path, len, STATE_DIR "/%s.state", s->name);
}

/* Map the server's state and lock it (see above). */
int zd_state_hold(struct zd_stack *s)
{
	struct stat st;
	int fd = open(s->state_path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	void *p;

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

static long ms_between(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000 + (b->tv_nsec - a->tv_nsec) / 1000000;
}

/* A crash loop: this death makes LOOP_DEATHS within LOOP_SECONDS. */
static bool crash_loop(struct zd_stack *s, time_t now)
{
	memmove(s->deaths + 1, s->deaths, sizeof(s->deaths) - sizeof(s->deaths[0]));
	s->deaths[0] = now;
	return s->deaths[LOOP_DEATHS - 1] && now - s->deaths[LOOP_DEATHS - 1] < LOOP_SECONDS;
}

static int spawn_recovery(struct zd_stack *s, char *why, size_t len)
{
	static struct ztu_config cfg;      /* big: off the stack */
	int rfd, id, err;
	pid_t pid;

	if ((err = ztu_recover_load_config(s->ublk_id, &cfg, why, len)))
		return err;
	pid = ztu_server_spawn_recover(&cfg, s->ublk_id, &rfd);
	if (pid < 0) {
		snprintf(why, len, "fork: %s", strerror((int)-pid));
		return (int)pid;
	}
	err = ztu_server_wait_live(rfd, RECOVER_TIMEOUT_MS, &id, why, len);
	if (err) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return err;
	}
	s->server_pid = pid;
	s->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	return 0;
}

/* After zd_server_died: take the device over again, or say why not. */
int zd_server_recover(struct zd_daemon *d, struct zd_stack *s)
{
	struct timespec t0, t1;
	char why[ZTU_MSG_MAX] = "";
	int err;

	if (!s->state_path[0] || s->ublk_id < 0)
		return -EOPNOTSUPP;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (crash_loop(s, t0.tv_sec)) {
		zd_log(ZD_ERR, "%s: %d server deaths within %d s: not recovering again; %s "
		       "keeps its pages and waits: 'ztier-ublk recover %d' serves it again, "
		       "'ztierctl down %s' removes it", s->name, LOOP_DEATHS, LOOP_SECONDS,
		       s->dev, s->ublk_id, s->name);
		return -ELOOP;
	}
	if ((err = spawn_recovery(s, why, sizeof(why)))) {
		zd_log(ZD_ERR, "%s: recovering %s failed: %s", s->name, s->dev, why);
		return err;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s->recoveries++;
	s->last_recovery = time(NULL);
	zd_watch_pidfd(d, s);
	zd_log(ZD_INFO, "%s: %s recovered in %ld ms, server pid %d (recovery %u)", s->name,
	       s->dev, ms_between(&t0, &t1), (int)s->server_pid, s->recoveries);
	return 0;
}
