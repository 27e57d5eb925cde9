/*
 * tiered.h — internal: the tiered target's per-queue state, shared by the
 * request path (tgt_tiered.c) and its setup (tiered_setup.c).
 */
#ifndef ZT_UBLK_TIERED_H
#define ZT_UBLK_TIERED_H

#include "ublk/srv.h"
#include "ublk/tier.h"

/* One request in progress on a tag. */
struct tag_state {
	uint32_t next, npages, pending;   /* next page, pages, async pages out */
	int err;
	bool deferred;                    /* parked: backend budget used up    */
	bool zc;                          /* its pages are registered: block-
	                                     tier reads go straight there      */
};

/* A queue thread's private state. */
struct tq {
	struct ztu_tier_ctx tc;
	struct ztu_queue *q;              /* the queue this state is of        */
	struct tag_state *tags;           /* [depth]                           */
	uint64_t *new_entry;              /* [tag * max_pages + i]: async writes */
	bool *fixed;                      /* [tag * max_pages + i]: a read page
	                                     that came straight into the
	                                     request's pages (zerocopy.c)      */
	unsigned max_pages;
	unsigned *resume, rhead, rcount, rsize;   /* parked tags (FIFO)        */
	void *bounce;                     /* one page for read-modify-write    */
};

int ztu_tiered_init(struct ztu_dev *d, char *msg, size_t len);
int ztu_tiered_deinit(struct ztu_dev *d);
int ztu_tiered_queue_init(struct ztu_queue *q);
void ztu_tiered_queue_deinit(struct ztu_queue *q);
void ztu_tiered_publish(struct ztu_dev *d);

#endif
