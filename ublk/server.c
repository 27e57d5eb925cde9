/*
 * server.c — one ublk device's life, in the server process.
 *
 *   protect the process  mlockall(CURRENT|FUTURE) + oom_score_adj -1000: the
 *                        server may be the swap device; its pages must never
 *                        be swapped out to itself, nor the OOM killer pick it
 *   GET_FEATURES         require ioctl-encoded commands
 *   target init          page table, store (a swap device's committed whole),
 *                        spill file... before ADD_DEV and before any queue
 *                        thread, so a bad spill path leaves nothing behind
 *   PR_SET_IO_FLUSHER    for the main thread and every thread started later
 *   ADD_DEV (id -1)      from here on every failure ends in DEL_DEV
 *   open /dev/ublkcN     waiting for the node with inotify, not a sleep
 *   queue threads        each fetches every tag and reports ready
 *   SET_PARAMS, START_DEV(pid), GET_DEV_INFO (LIVE) -> ready callback
 *   serve                the main thread refreshes stats and waits for a
 *                        signal (then it stops the device itself) or for the
 *                        queue threads to end (ABORT after someone's STOP_DEV,
 *                        or QUIESCE_DEV: hand over, everything kept)
 *   teardown             join, close, DEL_DEV only if we stopped it ourselves
 *                        (ztier-ublk del sends DEL_DEV after we exit)
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <linux/prctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "policy/common/common.h"
#include "ublk/srv.h"

#define CDEV_WAIT_MS   5000
#define PUBLISH_MS     200
#define THREAD_STACK   (256u << 10)

/* On demand (no memory-commit: a file system), pages are locked as they
 * are touched (MCL_ONFAULT), not at mapping: a shared state mapped whole
 * would otherwise be committed whole, the store's free part included. */
static int protect_process(bool on_demand, char *msg, size_t len)
{
	int fd;

	if (mlockall(MCL_CURRENT | MCL_FUTURE | (on_demand ? MCL_ONFAULT : 0)) < 0) {
		int err = -errno;
		zt_fail_errno(msg, len, err, "mlockall");
		return err;
	}
	fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "-1000", 5) < 0) { /* not fatal: best effort */ }
		close(fd);
	}
	return 0;
}

/* From here on no allocation of this thread, nor of any thread it starts
 * (the flag is inherited), reclaims by doing I/O: once the device serves
 * swap, such reclaim could write to the device itself and wait for us.
 * Called after the target committed what it needs (upfront, under normal
 * reclaim: nothing is swapped to us yet); queue threads and the store's
 * housekeeper set it again themselves. */
static int become_io_flusher(char *msg, size_t len)
{
	if (prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0) == 0 &&
	    prctl(PR_GET_IO_FLUSHER, 0, 0, 0, 0) == 1)
		return 0;
	zt_fail_errno(msg, len, errno ? -errno : -EPERM,
		      "PR_SET_IO_FLUSHER (needs CAP_SYS_RESOURCE)");
	return errno ? -errno : -EPERM;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* The node appears when udev/devtmpfs creates it: wait on /dev with inotify. */
static int open_cdev(int dev_id)
{
	char path[64];
	struct timespec t0;
	int ino, fd;

	snprintf(path, sizeof(path), "/dev/ublkc%d", dev_id);
	ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (ino >= 0)
		inotify_add_watch(ino, "/dev", IN_CREATE | IN_ATTRIB);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		char ev[4096];
		struct pollfd p = { .fd = ino, .events = POLLIN };
		long left;

		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd >= 0 || (errno != ENOENT && errno != EACCES))
			break;
		left = CDEV_WAIT_MS - ms_since(&t0);
		if (ino < 0 || left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		while (read(ino, ev, sizeof(ev)) > 0)
			;
	}
	if (fd < 0)
		fd = -errno;
	if (ino >= 0)
		close(ino);
	return fd;
}

static int start_queue(struct ztu_dev *d, unsigned i)
{
	struct ztu_queue *q = &d->q[i];
	pthread_attr_t attr;
	int ret;

	q->dev = d;
	q->qid = i;
	q->depth = d->info.queue_depth;
	q->st = &d->shm->q[i];
	q->quit_fd = eventfd(0, EFD_CLOEXEC);
	if (q->quit_fd < 0)
		return -errno;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, THREAD_STACK);
	ret = -pthread_create(&q->thread, &attr, ztu_queue_thread, q);
	pthread_attr_destroy(&attr);
	return ret;
}

/* Start every queue thread; wait until each fetched its tags (or failed). */
static int start_queues(struct ztu_dev *d, char *msg, size_t len)
{
	unsigned started = 0;
	int ret = 0;

	d->zc = (d->info.flags & ZTU_ZC_FLAGS) == ZTU_ZC_FLAGS;
	d->batch = d->info.flags & UBLK_F_BATCH_IO;
	/* Without zero copy the kernel copies whole requests into ztu_buf. */
	if (!d->zc && d->info.max_io_buf_bytes > d->cfg.io_buf_bytes)
		return zt_fail(msg, len, -EINVAL, "ublk%d: requests of %u bytes, buffers of %u",
			       d->dev_id, d->info.max_io_buf_bytes, d->cfg.io_buf_bytes);
	for (unsigned i = 0; i < d->info.nr_hw_queues && !ret; i++) {
		ret = start_queue(d, i);
		if (!ret)
			started++;
	}
	d->nr_queues = started;
	pthread_mutex_lock(&d->lock);
	while (d->ready < started)
		pthread_cond_wait(&d->cond, &d->lock);
	pthread_mutex_unlock(&d->lock);
	for (unsigned i = 0; i < started && !ret; i++)
		ret = d->q[i].err;
	if (ret)
		zt_fail_errno(msg, len, ret, "queue setup");
	return ret;
}

static void stop_queues(struct ztu_dev *d, bool abort_by_kernel)
{
	uint64_t one = 1;

	for (unsigned i = 0; i < d->nr_queues; i++)
		if (!abort_by_kernel && write(d->q[i].quit_fd, &one, sizeof(one)) < 0)
			continue;
	for (unsigned i = 0; i < d->nr_queues; i++) {
		pthread_join(d->q[i].thread, NULL);
		close(d->q[i].quit_fd);
	}
	d->nr_queues = 0;
}

static void fill_shm(struct ztu_dev *d)
{
	struct ztu_stats_shm *s = d->shm;

	snprintf(s->target, sizeof(s->target), "%s", d->ops->name);
	snprintf(s->policy, sizeof(s->policy), "%s", d->cfg.name);
	s->size = d->cfg.size;
	s->nr_queues = d->info.nr_hw_queues;
	ztu_ctr_set(&s->mem_limit, (int64_t)d->cfg.mem_limit);
}

/* The device is LIVE now that the queues serve it.  Read into a copy:
 * the queue threads read d->info (its flags) meanwhile, and the first
 * requests (the partition scan START_DEV queues, the I/O a recovery
 * reissues) arrive right now; only the fields that changed are copied. */
static int confirm_live(struct ztu_dev *d, char *msg, size_t len, const char *what)
{
	struct ublksrv_ctrl_dev_info now;
	int ret = ztu_ctrl_get_info(d, d->dev_id, &now);

	if (ret >= 0 && now.state != UBLK_S_DEV_LIVE)
		ret = -EIO;
	if (ret < 0)
		return zt_fail_errno(msg, len, ret, what);
	d->info.state = now.state;
	d->info.ublksrv_pid = now.ublksrv_pid;
	return 0;
}

/* A recovered device: END_USER_RECOVERY instead of SET_PARAMS + START_DEV
 * (the kernel kept both); from LIVE on the state is the device's again. */
static int end_recovery(struct ztu_dev *d, char *msg, size_t len)
{
	int ret = ztu_recover_end(d, msg, len);

	if (!ret)
		ret = confirm_live(d, msg, len, "not LIVE after recovery");
	if (ret < 0)
		return ret;
	d->keep_state = false;
	return 0;
}

/* Bring the added device to LIVE; on error *msg says which step failed. */
static int bring_up(struct ztu_dev *d, char *msg, size_t len)
{
	int err, ret;

	d->cdev_fd = open_cdev(d->dev_id);
	if (d->cdev_fd < 0) {
		zt_fail_errno(msg, len, d->cdev_fd, "open /dev/ublkc");
		return d->cdev_fd;
	}
	d->shm = ztu_stats_create(d->dev_id, &err);
	if (!d->shm) {
		zt_fail_errno(msg, len, err, "stats file " ZTU_RUN_DIR);
		return err;
	}
	fill_shm(d);
	if (d->ops->publish)
		d->ops->publish(d);          /* the figures from before any I/O */
	ret = start_queues(d, msg, len);
	if (ret)
		return ret;
	if (d->recovering)
		return end_recovery(d, msg, len);
	ret = ztu_ctrl_set_params(d);
	if (ret < 0) {
		zt_fail_errno(msg, len, ret, "SET_PARAMS");
		return ret;
	}
	ret = ztu_ctrl_cmd(d, UBLK_U_CMD_START_DEV, d->dev_id, 0, 0, (uint64_t)getpid());
	if (ret < 0) {
		zt_fail_errno(msg, len, ret, "START_DEV");
		return ret;
	}
	return confirm_live(d, msg, len, "device not LIVE after START_DEV");
}

static int block_stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	return signalfd(-1, set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* Serve until a stop signal (returns true: we stop it) or the queues end. */
static bool serve(struct ztu_dev *d, int sfd)
{
	for (;;) {
		struct pollfd p = { .fd = sfd, .events = POLLIN };
		int n = poll(&p, 1, PUBLISH_MS);

		if (d->ops->publish)
			d->ops->publish(d);
		if (n > 0)
			return true;
		/* a queue ends only after ABORT (STOP_DEV by ztier-ublk del) */
		if (atomic_load(&d->exited))
			return false;
	}
}

/* A queue ended on an error (a command the kernel refused, its ring
 * failed): the kernel may still count requests as ours that no thread will
 * commit, and STOP_DEV would wait for them in del_gendisk for good.  End
 * every queue and close /dev/ublkcN first: the release fails (or, for a
 * recoverable device, holds) what we owned, then STOP_DEV can finish. */
static void release_failed(struct ztu_dev *d)
{
	stop_queues(d, false);
	if (d->cdev_fd >= 0)
		close(d->cdev_fd);
	d->cdev_fd = -1;
}

static void teardown(struct ztu_dev *d, bool added, bool stop_dev, bool del_dev)
{
	int left = 0;

	if (added && stop_dev)
		ztu_ctrl_cmd(d, UBLK_U_CMD_STOP_DEV, d->dev_id, 0, 0, 0);
	stop_queues(d, stop_dev);
	if (d->cdev_fd >= 0)
		close(d->cdev_fd);
	d->cdev_fd = -1;
	if (added && del_dev)
		ztu_ctrl_cmd(d, UBLK_U_CMD_DEL_DEV, d->dev_id, 0, 0, 0);
	if (d->shm && d->ops->publish)
		d->ops->publish(d);          /* the file names what deinit undoes */
	if (d->tgt && d->ops->deinit)
		left = d->ops->deinit(d);
	if (added && !left && !d->keep_state)
		ztu_recover_forget_config(d->dev_id);
	if (added && !left && !d->handed_over)
		ztu_stats_remove(d->dev_id, d->shm);
	else if (d->shm)
		ztu_stats_unmap(d->shm);     /* kept: it names what is left */
	d->shm = NULL;
	ztu_ctrl_close(d);
}

/* The queues ended by ABORT, not by our signal: a STOP_DEV (`del`) left
 * the device DEAD; a QUIESCE_DEV left it LIVE until we release it, and
 * asks us to go with everything kept (ztu_dev_quiesce).  Then the state,
 * its zram device and spill mapping, the saved config and the stats file
 * (it names the zram device for a reaper) stay, as after a kill, and the
 * device waits QUIESCED for the next server. */
static bool asked_to_hand_over(struct ztu_dev *d)
{
	struct ublksrv_ctrl_dev_info info;

	if (!(d->info.flags & UBLK_F_QUIESCE) || ztu_ctrl_get_info(d, d->dev_id, &info) < 0)
		return false;
	return info.state != UBLK_S_DEV_DEAD;
}

/* After the queues ended: the first real error one of them hit, or 0. */
static int queue_error(struct ztu_dev *d)
{
	for (unsigned i = 0; i < d->nr_queues; i++)
		if (d->q[i].err)
			return d->q[i].err;
	return 0;
}

static int open_control(struct ztu_dev *d, char *msg, size_t len)
{
	uint64_t features = 0;
	int ret = ztu_ctrl_open(d);

	if (ret == -ENOENT) {
		snprintf(msg, len, "ublk_drv not loaded: " ZTU_CONTROL_PATH " missing");
		return ret;
	}
	if (ret < 0) {
		zt_fail_errno(msg, len, ret, ZTU_CONTROL_PATH);
		return ret;
	}
	ret = ztu_ctrl_get_features(d, &features);
	d->features = features;
	if (ret >= 0 && !(features & UBLK_F_CMD_IOCTL_ENCODE))
		ret = -EOPNOTSUPP;
	if (ret < 0)
		zt_fail_errno(msg, len, ret, "GET_FEATURES");
	return ret < 0 ? ret : 0;
}

/* ADD_DEV, and for a device with a state file the config a recovering
 * server will need (recover.c). */
static int add_device(struct ztu_dev *d, char *msg, size_t len)
{
	int ret = ztu_ctrl_add(d);

	if (ret < 0)
		return zt_fail_errno(msg, len, ret, "ADD_DEV");
	if (d->cfg.state_path[0] && (ret = ztu_recover_save_config(d)) < 0) {
		ztu_ctrl_cmd(d, UBLK_U_CMD_DEL_DEV, d->dev_id, 0, 0, 0);
		return zt_fail_errno(msg, len, ret, "saving the config in " ZTU_RUN_DIR);
	}
	return 0;
}

static int run(struct ztu_dev *d, ztu_ready_fn ready, void *ctx, int sfd)
{
	char msg[ZTU_MSG_MAX] = "";
	bool by_signal;
	int ret;

	ret = protect_process(!d->cfg.commit_upfront, msg, sizeof(msg));
	if (!ret)
		ret = open_control(d, msg, sizeof(msg));
	/* A recovering server touches the state (adopts its pages, discards
	 * the zram slots no page names) only once the kernel says the old
	 * server is gone: START_USER_RECOVERY succeeds only then. */
	if (!ret && d->recovering)
		ret = ztu_recover_start(d, msg, sizeof(msg));
	if (!ret)
		ret = d->ops->init(d, msg, sizeof(msg));
	if (!ret)
		ret = become_io_flusher(msg, sizeof(msg));
	if (ret) {
		teardown(d, false, false, false);
		ready(ctx, -1, ret, msg);
		return ret;
	}
	ret = d->recovering ? 0 : add_device(d, msg, sizeof(msg));
	if (ret < 0) {
		teardown(d, false, false, false);
		ready(ctx, -1, ret, msg);
		return ret;
	}
	ret = bring_up(d, msg, sizeof(msg));
	if (ret) {
		/* A device being recovered is not ours to delete: it stays
		 * quiesced, its state kept, for the next try. */
		teardown(d, !d->recovering, !d->recovering, !d->recovering);
		ready(ctx, -1, ret, msg);
		return ret;
	}
	ready(ctx, d->dev_id, 0, NULL);
	by_signal = serve(d, sfd);
	ret = queue_error(d);
	if (ret && !by_signal)
		release_failed(d);
	d->handed_over = !by_signal && !ret && asked_to_hand_over(d);
	d->keep_state |= d->handed_over;
	/* Stopped by `del` (ABORT): it sends DEL_DEV once we are gone.  By a
	 * signal or a queue failure: nobody else will, so we do.  Asked to
	 * hand over: the device stays for the next server. */
	teardown(d, true, by_signal || ret, by_signal || ret);
	return ret;
}

/* One device's server in this process: a new device (recover_id -1) or the
 * take-over of a quiesced one (recover.c). */
static int server_main(const struct ztu_config *cfg, int recover_id, ztu_ready_fn ready,
		       void *ctx)
{
	struct ztu_dev *d = calloc(1, sizeof(*d));
	sigset_t set;
	int sfd, ret;

	if (!d)
		return -ENOMEM;
	d->cfg = *cfg;
	d->ops = cfg->target == ZTU_TARGET_NULL ? &ztu_tgt_null : &ztu_tgt_tiered;
	d->ctrl_fd = d->cdev_fd = -1;
	d->dev_id = recover_id;
	d->recovering = d->keep_state = recover_id >= 0;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	sfd = block_stop_signals(&set);
	ret = run(d, ready, ctx, sfd);
	if (sfd >= 0)
		close(sfd);
	free(d);
	return ret;
}

int ztu_server_run(const struct ztu_config *cfg, ztu_ready_fn ready, void *ctx)
{
	return server_main(cfg, -1, ready, ctx);
}

int ztu_server_recover(const struct ztu_config *cfg, int dev_id, ztu_ready_fn ready, void *ctx)
{
	return dev_id < 0 ? -EINVAL : server_main(cfg, dev_id, ready, ctx);
}
