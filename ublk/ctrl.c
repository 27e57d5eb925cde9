/*
 * ctrl.c — the ublk control plane: commands on /dev/ublk-control.
 *
 * Each command is one IORING_OP_URING_CMD SQE on a small ring created with
 * IORING_SETUP_SQE128 (the driver rejects control commands without it), with
 * a struct ublksrv_ctrl_cmd in sqe->cmd.  liburing 2.3 has no
 * io_uring_prep_uring_cmd(), so the SQE is built by hand.  Only the
 * ioctl-encoded UBLK_U_* opcodes are used (legacy ones may be compiled out).
 * Commands run synchronously: submit, wait for the one CQE.  The driver runs
 * them in io-wq, so START_DEV/DEL_DEV may block here for a while — that is
 * why only the main thread (never a queue thread) sends them.
 *
 * ztu_dev_del() is the `del` path from another process: STOP_DEV (the
 * server's queue threads see ABORT and exit), wait for the server process to
 * exit through a pidfd (the real event, no sleep), let the target reap what
 * a killed server left outside its process (target.c), then DEL_DEV, which
 * in 6.12 waits until every reference to the device is dropped.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "policy/common/common.h"
#include "ublk/srv.h"

#define DEL_WAIT_MS 60000

int ztu_ctrl_open(struct ztu_dev *d)
{
	int ret;

	d->ctrl_fd = open(ZTU_CONTROL_PATH, O_RDWR | O_CLOEXEC);
	if (d->ctrl_fd < 0)
		return -errno;
	ret = io_uring_queue_init(4, &d->ctrl_ring, IORING_SETUP_SQE128);
	if (ret < 0) {
		close(d->ctrl_fd);
		d->ctrl_fd = -1;
	}
	return ret;
}

void ztu_ctrl_close(struct ztu_dev *d)
{
	if (d->ctrl_fd < 0)
		return;
	io_uring_queue_exit(&d->ctrl_ring);
	close(d->ctrl_fd);
	d->ctrl_fd = -1;
}

static void prep_ctrl_cmd(struct io_uring_sqe *sqe, int fd, uint32_t op,
			  const struct ublksrv_ctrl_cmd *cmd)
{
	memset(sqe, 0, 128);                 /* an SQE128 slot */
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = fd;
	sqe->cmd_op = op;
	memcpy(sqe->cmd, cmd, sizeof(*cmd));
}

int ztu_ctrl_cmd(struct ztu_dev *d, uint32_t op, int dev_id, uint64_t addr,
		 uint32_t len, uint64_t data0)
{
	struct ublksrv_ctrl_cmd cmd = {
		.dev_id = (uint32_t)dev_id,
		.queue_id = (uint16_t)-1,
		.addr = addr,
		.len = (uint16_t)len,
		.data = { data0 },
	};
	struct io_uring_sqe *sqe = io_uring_get_sqe(&d->ctrl_ring);
	struct io_uring_cqe *cqe;
	int ret;

	if (!sqe)
		return -EBUSY;
	prep_ctrl_cmd(sqe, d->ctrl_fd, op, &cmd);
	ret = io_uring_submit(&d->ctrl_ring);
	if (ret < 0)
		return ret;
	do
		ret = io_uring_wait_cqe(&d->ctrl_ring, &cqe);
	while (ret == -EINTR);
	if (ret < 0)
		return ret;
	ret = cqe->res;
	io_uring_cqe_seen(&d->ctrl_ring, cqe);
	return ret;
}

int ztu_ctrl_get_features(struct ztu_dev *d, uint64_t *features)
{
	return ztu_ctrl_cmd(d, UBLK_U_CMD_GET_FEATURES, -1, (uintptr_t)features,
			    UBLK_FEATURES_LEN, 0);
}

/* With a state file the pages outlive the server: the kernel keeps the
 * disk and holds I/O until a new server recovers it (recover.c), and with
 * QUIESCE (6.16+) a server can be asked to hand the device over
 * (ztu_dev_quiesce).  QUIESCE without USER_RECOVERY is -EINVAL. */
uint64_t ztu_add_flags(bool state, bool zero_copy, uint64_t features)
{
	uint64_t f = UBLK_F_CMD_IOCTL_ENCODE | UBLK_F_URING_CMD_COMP_IN_TASK;

	if (state)
		f |= UBLK_F_USER_RECOVERY | UBLK_F_USER_RECOVERY_REISSUE |
		     (features & UBLK_F_QUIESCE);
	if (zero_copy && (features & ZTU_ZC_FLAGS) == ZTU_ZC_FLAGS)
		f |= ZTU_ZC_FLAGS;
	return f;
}

/* Batch I/O (7.0+, batch.c): asked for with ZTIER_UBLK_BATCH=1 where the
 * kernel has it; not yet the default (measured in tests/vm/bench-batch.sh). */
static uint64_t batch_flag(uint64_t features)
{
	const char *b = getenv("ZTIER_UBLK_BATCH");

	return b && !strcmp(b, "1") ? features & UBLK_F_BATCH_IO : 0;
}

/* ADD_DEV with dev_id -1: the kernel picks the id and returns the flags it
 * accepted in d->info, which is what we trust from here on. */
int ztu_ctrl_add(struct ztu_dev *d)
{
	const struct ztu_config *c = &d->cfg;
	int ret;

	memset(&d->info, 0, sizeof(d->info));
	d->info.nr_hw_queues = (uint16_t)c->queues;
	d->info.queue_depth = (uint16_t)c->depth;
	d->info.dev_id = (uint32_t)-1;
	d->info.flags = ztu_add_flags(c->state_path[0] != 0, d->want_zc, d->features) |
			batch_flag(d->features);
	d->info.max_io_buf_bytes = c->io_buf_bytes;
	if ((d->info.flags & ZTU_ZC_FLAGS) == ZTU_ZC_FLAGS && c->io_buf_bytes >= ZTU_ZC_WINDOW_MIN &&
	    c->io_buf_bytes < ZTU_ZC_REQ_MAX)
		d->info.max_io_buf_bytes = ZTU_ZC_REQ_MAX;
	ret = ztu_ctrl_cmd(d, UBLK_U_CMD_ADD_DEV, -1, (uintptr_t)&d->info,
			   sizeof(d->info), 0);
	if (ret < 0)
		return ret;
	d->dev_id = (int)d->info.dev_id;
	return 0;
}

/* All limits in one block: 512 B logical blocks (sub-page writes reach us and
 * are read-modify-written), 4 KiB physical; a volatile cache so FLUSH comes;
 * discard and write-zeroes at page granularity. */
int ztu_ctrl_set_params(struct ztu_dev *d)
{
	const uint32_t big = 64u << 11;      /* 64 MiB in sectors per request */
	struct ublk_params p = {
		.len = sizeof(p),
		.types = UBLK_PARAM_TYPE_BASIC | UBLK_PARAM_TYPE_DISCARD,
		.basic = {
			.attrs = UBLK_ATTR_VOLATILE_CACHE,
			.logical_bs_shift = 9,
			.physical_bs_shift = ZT_PAGE_SHIFT,
			.io_opt_shift = ZT_PAGE_SHIFT,
			.io_min_shift = ZT_PAGE_SHIFT,
			.max_sectors = d->info.max_io_buf_bytes >> 9,
			.dev_sectors = d->cfg.size >> 9,
		},
		.discard = {
			.discard_granularity = ZT_PAGE_SIZE,
			.max_discard_sectors = big,
			.max_write_zeroes_sectors = big,
			.max_discard_segments = 1,
		},
	};
	return ztu_ctrl_cmd(d, UBLK_U_CMD_SET_PARAMS, d->dev_id, (uintptr_t)&p,
			    sizeof(p), 0);
}

int ztu_ctrl_get_info(struct ztu_dev *d, int dev_id, struct ublksrv_ctrl_dev_info *info)
{
	memset(info, 0, sizeof(*info));
	return ztu_ctrl_cmd(d, UBLK_U_CMD_GET_DEV_INFO, dev_id, (uintptr_t)info,
			    sizeof(*info), 0);
}

/* ---- commands for other processes (list, del) ------------------------------ */

bool ztu_control_present(void)
{
	return access(ZTU_CONTROL_PATH, F_OK) == 0;
}

int ztu_features(uint64_t *features)
{
	struct ztu_dev d = { .ctrl_fd = -1 };
	int ret = ztu_ctrl_open(&d);

	if (ret < 0)
		return ret;
	ret = ztu_ctrl_get_features(&d, features);
	ztu_ctrl_close(&d);
	return ret < 0 ? ret : 0;
}

const char *ztu_state_name(unsigned state)
{
	switch (state) {
	case UBLK_S_DEV_DEAD:     return "DEAD";
	case UBLK_S_DEV_LIVE:     return "LIVE";
	case UBLK_S_DEV_QUIESCED: return "QUIESCED";
	case UBLK_S_DEV_FAIL_IO:  return "FAIL_IO";
	default:                  return "UNKNOWN";
	}
}

static void info_from_kernel(struct ztu_dev_info *o, const struct ublksrv_ctrl_dev_info *i)
{
	o->dev_id = (int)i->dev_id;
	o->queues = i->nr_hw_queues;
	o->depth = i->queue_depth;
	o->state = i->state;
	o->max_io_buf_bytes = i->max_io_buf_bytes;
	o->pid = i->ublksrv_pid;
	o->flags = i->flags;
}

int ztu_dev_info(int dev_id, struct ztu_dev_info *out)
{
	struct ztu_dev d = { .ctrl_fd = -1 };
	struct ublksrv_ctrl_dev_info info;
	int ret = ztu_ctrl_open(&d);

	if (ret < 0)
		return ret;
	ret = ztu_ctrl_get_info(&d, dev_id, &info);
	if (ret >= 0) {
		struct ublk_params p = { .len = sizeof(p) };

		info_from_kernel(out, &info);
		out->size = 0;
		if (ztu_ctrl_cmd(&d, UBLK_U_CMD_GET_PARAMS, dev_id, (uintptr_t)&p,
				 sizeof(p), 0) >= 0 && (p.types & UBLK_PARAM_TYPE_BASIC))
			out->size = p.basic.dev_sectors << 9;
	}
	ztu_ctrl_close(&d);
	return ret < 0 ? ret : 0;
}

/* A pidfd of pid: -ESRCH when it is gone already (or pid <= 0). */
static int pidfd_of(int pid)
{
	int fd;

	if (pid <= 0)
		return -ESRCH;
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	return fd < 0 ? -errno : fd;
}

/* Wait for the process to exit: a pidfd becomes readable when it does.
 * Closes pidfd; 0, or -ETIMEDOUT. */
static int wait_pidfd(int pidfd, int timeout_ms)
{
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
	int ret;

	do
		ret = poll(&pfd, 1, timeout_ms);
	while (ret < 0 && errno == EINTR);
	close(pidfd);
	return ret == 0 ? -ETIMEDOUT : 0;
}

static int wait_pid_exit(int pid)
{
	int fd = pidfd_of(pid);

	if (fd < 0)
		return fd == -ESRCH ? 0 : fd;
	return wait_pidfd(fd, DEL_WAIT_MS);
}

/* The server is gone once this returns 0: stopped and exited. */
static int stop_server(struct ztu_dev *d, int dev_id, char *msg, size_t len)
{
	struct ublksrv_ctrl_dev_info info;
	int ret = ztu_ctrl_get_info(d, dev_id, &info);

	if (ret < 0)
		return zt_fail_errno(msg, len, ret, "GET_DEV_INFO");
	if (info.ublksrv_pid == getpid())        /* never wait for ourselves */
		return zt_fail_errno(msg, len, -EDEADLK, "its server is this process");
	ret = ztu_ctrl_cmd(d, UBLK_U_CMD_STOP_DEV, dev_id, 0, 0, 0);
	if (ret < 0 && ret != -ENODEV)
		return zt_fail_errno(msg, len, ret, "STOP_DEV");
	ret = wait_pid_exit(info.ublksrv_pid);
	return ret < 0 ? zt_fail_errno(msg, len, ret, "waiting for its server to exit") : 0;
}

int ztu_dev_del(int dev_id, char *msg, size_t len)
{
	struct ztu_dev d = { .ctrl_fd = -1 };
	int ret = ztu_ctrl_open(&d), reaped;

	if (ret < 0)
		return zt_fail_errno(msg, len, ret, ZTU_CONTROL_PATH);
	ret = stop_server(&d, dev_id, msg, len);
	if (ret < 0)
		goto out;
	reaped = ztu_target_reap(dev_id, msg, len);   /* what a killed server left */
	ztu_recover_reap(dev_id);            /* its state file, if it had one */
	ztu_stats_remove(dev_id, NULL);      /* before DEL_DEV frees the id */
	ret = ztu_ctrl_cmd(&d, UBLK_U_CMD_DEL_DEV, dev_id, 0, 0, 0);
	if (ret < 0)
		zt_fail_errno(msg, len, ret, "DEL_DEV");
	else
		ret = reaped;
out:
	ztu_ctrl_close(&d);
	return ret < 0 ? ret : 0;
}

/* The server of a device that can hand over, LIVE: its pid (0 when the
 * device already waits for a server), or -errno with *msg. */
static int quiesce_target(struct ztu_dev *d, int dev_id, char *msg, size_t len)
{
	struct ublksrv_ctrl_dev_info info;
	int ret = ztu_ctrl_get_info(d, dev_id, &info);

	if (ret < 0)
		return zt_fail_errno(msg, len, ret, "GET_DEV_INFO");
	if (!(info.flags & UBLK_F_QUIESCE))
		return zt_fail(msg, len, -EOPNOTSUPP, "/dev/ublkb%d was not made with "
			       "UBLK_F_QUIESCE (a kernel before 6.16, or no --state)", dev_id);
	if (info.state == UBLK_S_DEV_QUIESCED || info.state == UBLK_S_DEV_FAIL_IO)
		return 0;
	if (info.state != UBLK_S_DEV_LIVE)
		return zt_fail(msg, len, -ENODEV, "/dev/ublkb%d is %s", dev_id,
			       ztu_state_name(info.state));
	if (info.ublksrv_pid == getpid())
		return zt_fail_errno(msg, len, -EDEADLK, "its server is this process");
	return info.ublksrv_pid;
}

/* QUIESCE_DEV (ublk_drv.c ublk_ctrl_quiesce_dev): the kernel marks the
 * device canceling (new I/O is requeued for the next server), waits up to
 * data[0] ms until every queue has an idle tag, then ends those tags'
 * fetches with ABORT: how the server learns it is asked to go.  It
 * commits what it holds and exits (queue.c, server.c), and the release of
 * its /dev/ublkcN leaves the device QUIESCED for `recover`. */
int ztu_dev_quiesce(int dev_id, int timeout_ms, int *server_pid, char *msg, size_t len)
{
	struct ztu_dev d = { .ctrl_fd = -1 };
	int ret = ztu_ctrl_open(&d), pid, fd;

	*server_pid = 0;
	if (ret < 0)
		return zt_fail_errno(msg, len, ret, ZTU_CONTROL_PATH);
	pid = ret = quiesce_target(&d, dev_id, msg, len);
	if (ret <= 0)
		goto out;
	*server_pid = pid;
	fd = ret = pidfd_of(pid);             /* before it can exit */
	if (ret < 0 && ret != -ESRCH) {
		zt_fail_errno(msg, len, ret, "pidfd_open of its server");
		goto out;
	}
	ret = ztu_ctrl_cmd(&d, UBLK_U_CMD_QUIESCE_DEV, dev_id, 0, 0, (uint64_t)timeout_ms);
	if (ret < 0) {
		/* -EBUSY (no idle tag in time) leaves the device canceling: it
		 * holds all I/O until its server exits, so the caller ends it. */
		zt_fail(msg, len, ret, "QUIESCE_DEV: %s; the device holds its I/O until its "
			"server (pid %d) exits: kill it, then 'ztier-ublk recover %d'",
			strerror(-ret), pid, dev_id);
	} else if (fd >= 0) {
		ret = wait_pidfd(fd, timeout_ms);
		fd = -1;
		if (ret < 0)
			zt_fail(msg, len, ret, "its server (pid %d) did not exit within %d ms "
				"of QUIESCE_DEV", pid, timeout_ms);
	}
	if (fd >= 0)
		close(fd);
out:
	ztu_ctrl_close(&d);
	return ret < 0 ? ret : 0;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

int ztu_dev_list(int *ids, int max)
{
	DIR *dir = opendir("/sys/class/ublk-char");
	struct dirent *e;
	int n = 0;

	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(dir)) && n < max) {
		int id;
		if (sscanf(e->d_name, "ublkc%d", &id) == 1)
			ids[n++] = id;
	}
	closedir(dir);
	qsort(ids, (size_t)n, sizeof(*ids), cmp_int);
	return n;
}
