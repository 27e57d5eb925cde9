/*
 * tgt_null.c — the no-store target: reads return zeros, writes are dropped.
 *
 * It measures the ublk plumbing alone (kernel <-> server round trip, buffer
 * copies, one memset per read, the same completion loop as the tiered
 * target), the baseline the tiered target is compared with in make vm-bench.
 */
#include <errno.h>
#include <string.h>

#include "ublk/srv.h"

static int null_init(struct ztu_dev *d, char *msg, size_t len)
{
	return 0;
}

static void null_queue_io(struct ztu_queue *q, unsigned tag)
{
	const struct ublksrv_io_desc *iod = ztu_iod(q, tag);
	int bytes = (int)(iod->nr_sectors << 9);

	switch (ublksrv_get_op(iod)) {
	case UBLK_IO_OP_READ:
		memset(ztu_buf(q, tag), 0, (size_t)bytes);
		ztu_io_done(q, tag, bytes);
		break;
	case UBLK_IO_OP_WRITE:
		ztu_io_done(q, tag, bytes);
		break;
	case UBLK_IO_OP_FLUSH:
	case UBLK_IO_OP_DISCARD:
	case UBLK_IO_OP_WRITE_ZEROES:
		ztu_io_done(q, tag, 0);
		break;
	default:
		ztu_io_done(q, tag, -EOPNOTSUPP);
	}
}

static void null_io_done(struct ztu_queue *q, unsigned tag, const struct io_uring_cqe *cqe)
{
}

const struct ztu_target_ops ztu_tgt_null = {
	.name = "null",
	.init = null_init,
	.queue_io = null_queue_io,
	.io_done = null_io_done,
};
