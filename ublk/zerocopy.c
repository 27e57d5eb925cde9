/*
 * zerocopy.c — the request's own pages, where the kernel lets us reach them.
 *
 * By default (and on 6.12) the kernel copies a write's data into the tag's
 * buffer before we see it, and a read's data out of it at commit.  For pages
 * that the store or the page table keeps that copy is needed anyway: a
 * write must be classified and compressed, a read decompressed.  For pages
 * on a block tier (ztier's zram device, spill) it is not: their bytes only
 * pass between the request and the tier's device.  So where the kernel has
 * both UBLK_F_AUTO_BUF_REG and UBLK_F_USER_COPY (7.x), a device with a block
 * tier asks for them:
 *   - every request's pages are registered in the queue's ring at index tag
 *     (the sparse table made here) and the commit unregisters them; a block
 *     tier's page is read from its device into them (READ_FIXED), no copy;
 *   - everything else goes through ztu_buf as before, but we copy it
 *     ourselves: a write's data in before its pages are placed, a read's
 *     pages that did not come by READ_FIXED out before the commit (a
 *     window at a time for a request larger than ztu_buf).
 * A registration the kernel could not make (FALLBACK: NEED_REG_BUF) leaves
 * that request to the copies alone.  Since the kernel copies nothing into
 * ztu_buf, a request may be larger than it (ZTU_ZC_REQ_MAX, srv.h).
 */
#include <errno.h>
#include <unistd.h>

#include "ublk/srv.h"

int ztu_zc_ring_init(struct ztu_queue *q)
{
	return io_uring_register_buffers_sparse(&q->ring, q->depth);
}

uint64_t ztu_zc_sqe_addr(unsigned tag)
{
	return (uint64_t)(tag & 0xffff) | (uint64_t)UBLK_AUTO_BUF_REG_FALLBACK << 16;
}

bool ztu_zc_registered(const struct ztu_queue *q, unsigned tag)
{
	return !(ztu_iod(q, tag)->op_flags & UBLK_IO_F_NEED_REG_BUF);
}

/* The char device's offset of byte off of (qid, tag)'s request. */
static off_t user_copy_pos(const struct ztu_queue *q, unsigned tag, size_t off)
{
	return (off_t)(UBLKSRV_IO_BUF_OFFSET + ((uint64_t)q->qid << UBLK_QID_OFF) +
		       ((uint64_t)tag << UBLK_TAG_OFF) + off);
}

static int copied(ssize_t n, size_t len)
{
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int ztu_zc_copy_in(struct ztu_queue *q, unsigned tag, void *buf, size_t len, size_t off)
{
	return copied(pread(q->dev->cdev_fd, buf, len, user_copy_pos(q, tag, off)), len);
}

int ztu_zc_copy_out(struct ztu_queue *q, unsigned tag, const void *buf, size_t len, size_t off)
{
	return copied(pwrite(q->dev->cdev_fd, buf, len, user_copy_pos(q, tag, off)), len);
}
