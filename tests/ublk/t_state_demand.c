/*
 * t_state_demand.c — a state without memory-commit (a file system's,
 * state.h on_demand): the file holds the table and the maps at once but
 * the store's part only as it fills; freed segments go back as holes; an
 * attach keeps every page and punches out what no entry names, without
 * reading (and so committing) the holes.  Memory is the file's allocated
 * blocks (st_blocks), as tmpfs counts it.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/tap.h"
#include "ublk/state.h"

#define DEV_SIZE   (UINT64_C(1) << 30)
#define STORE      (UINT64_C(32) << 20)
#define SEG        ZU_STORE_CHUNK
#define NPAGES     4000u               /* 1000 B each: about 62 segments */
#define PAGE_LEN   1000u

static struct zu_state_geom geom = {
	.dev_size = DEV_SIZE, .store_bytes = STORE, .fill_capacity = 64,
	.policy_id = UINT64_C(0xfeed), .on_demand = true,
};
static char msg[ZTU_MSG_MAX];

static uint64_t file_bytes(int fd)
{
	struct stat sb;

	return fstat(fd, &sb) ? 0 : (uint64_t)sb.st_blocks * 512;
}

static void put_page(struct zu_state *s, unsigned i)
{
	unsigned char buf[PAGE_LEN];
	uint64_t h, old;

	memset(buf, (int)(i % 251 + 1), sizeof(buf));
	if (zu_store_put(s->store, buf, sizeof(buf), &h))
		return;
	if (zu_pt_lock(s->pt, i, 0, &old) == 0)
		zu_pt_unlock(s->pt, i, zu_pte_store(h, ZT_CODEC_LZ4));
}

static void drop_page(struct zu_state *s, unsigned i)
{
	uint64_t old;

	if (zu_pt_lock(s->pt, i, ZU_PT_NOCREATE, &old))
		return;
	zu_pt_unlock(s->pt, i, ZU_PTE_EMPTY);
	if (zu_pte_tier(old) == ZT_TIER_STORE)
		zu_store_free(s->store, zu_pte_store_handle(old));
}

/* Pages from..to-1 read back as put_page wrote them. */
static bool pages_read_back(struct zu_state *s, unsigned from, unsigned to)
{
	for (unsigned i = from; i < to; i++) {
		uint64_t e = zu_pt_peek(s->pt, i);
		const unsigned char *p;
		size_t len;

		if (zu_pte_tier(e) != ZT_TIER_STORE)
			return false;
		p = zu_store_data(s->store, zu_pte_store_handle(e), &len);
		if (len != PAGE_LEN || p[0] != (unsigned char)(i % 251 + 1) ||
		    p[len - 1] != p[0])
			return false;
	}
	return true;
}

int main(void)
{
	int fd = memfd_create("t_state_demand", MFD_CLOEXEC);
	uint64_t total = zu_state_bytes(&geom), fixed, filled, ours;
	struct zu_state *s;

	ok(zu_state_create(fd, &geom, &s, msg, sizeof(msg)) == 0, "create on demand: %s", msg);
	fixed = file_bytes(fd);
	tap_diag("state %llu KiB, committed at create %llu KiB (store part %llu KiB)",
	     (unsigned long long)(total >> 10), (unsigned long long)(fixed >> 10),
	     (unsigned long long)(STORE >> 10));
	ok(fixed + STORE <= total + SEG, "the store's part is not committed at create");

	for (unsigned i = 0; i < NPAGES; i++)
		put_page(s, i);
	filled = file_bytes(fd) - fixed;
	tap_diag("%u pages of %u B: %llu KiB committed for %llu KiB of data", NPAGES, PAGE_LEN,
	     (unsigned long long)(filled >> 10), (unsigned long long)(NPAGES * PAGE_LEN >> 10));
	ok(filled >= (uint64_t)NPAGES * PAGE_LEN && filled <= (uint64_t)NPAGES * PAGE_LEN + 4 * SEG,
	   "the store commits segments as it fills");

	for (unsigned i = NPAGES / 2; i < NPAGES; i++)
		drop_page(s, i);
	zu_store_trim(s->store);
	ours = file_bytes(fd) - fixed;
	ok(ours <= (uint64_t)NPAGES / 2 * PAGE_LEN + 4 * SEG,
	   "freed segments go back as holes (%llu KiB left)", (unsigned long long)(ours >> 10));
	zu_state_detach(s);

	ok(zu_state_attach(fd, &geom, &s, msg, sizeof(msg)) == 0, "attach: %s", msg);
	ok(pages_read_back(s, 0, NPAGES / 2), "every kept page reads back");
	ok(file_bytes(fd) - fixed <= ours, "the attach committed no hole and punched the rest");
	for (unsigned i = 0; i < NPAGES / 2; i++)
		drop_page(s, i);
	zu_store_trim(s->store);
	ok(file_bytes(fd) - fixed <= 2 * SEG, "all dropped: the store's part is holes again "
	   "(%llu KiB)", (unsigned long long)((file_bytes(fd) - fixed) >> 10));
	for (unsigned i = 0; i < 100; i++)
		put_page(s, i);
	ok(pages_read_back(s, 0, 100), "pages stored after the attach read back");
	zu_state_detach(s);

	geom.on_demand = false;     /* the same file, the upfront way */
	ok(zu_state_attach(fd, &geom, &s, msg, sizeof(msg)) == 0 && pages_read_back(s, 0, 100),
	   "an upfront attach of it keeps the pages too: %s", msg);
	zu_state_detach(s);
	close(fd);
	return tap_done();
}
