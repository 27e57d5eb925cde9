/*
 * t_state_kill.c — kill -9 anywhere: a child attaches to a state and runs
 * three writer threads (every tier, overwrites, discards) and the store's
 * compactor on it; the parent kills it with SIGKILL after a random few
 * milliseconds and attaches.  Each round the attach must succeed, every
 * page must hold complete data of one of its writes (data is written
 * before its entry is published), and at the end freeing every page must
 * leave every allocator exactly empty.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include "tests/tap.h"
#include "ublk/state.h"
#include "ublk/store_pt.h"
#include "tests/ublk/state_free.h"
#include "tests/ublk/state_kill.h"

#define ROUNDS  12
#define RANGE   1500u                 /* pages written, spread over leaves */
#define STRIDE  331u
#define WRITERS 3

static const struct zu_state_geom geom = {
	UINT64_C(1) << 30, UINT64_C(8) << 20, 4096, 0, 64, 42, 0, false
};
static char msg[ZTU_MSG_MAX];

static unsigned char fill_byte(uint64_t idx, uint64_t ver)
{
	return (unsigned char)(idx * 31 + ver);
}

/* Page idx's version ver, in a tier chosen by ver. */
static uint64_t put_ver(struct zu_state *s, uint64_t idx, uint64_t ver)
{
	unsigned char buf[ZT_PAGE_SIZE];
	uint64_t v;

	memset(buf, fill_byte(idx, ver), sizeof(buf));
	memcpy(buf, &idx, 8);
	memcpy(buf + 8, &ver, 8);
	switch (ver % 7) {
	case 0: return zu_pte_meta((uint32_t)idx ^ 0x5a5a0000u);
	case 1: return zu_fill_get(s->fills, (idx % 3 + 1) << 32 | 7, &v) ? 0 : zu_pte_meta(v);
	case 2: return zu_store_put_raw(s->store, buf, &v) ? 0 : zu_pte_store(v, ZT_CODEC_RAW);
	case 3: return zu_slots_alloc(s->spill, NULL, &v) ? 0 : zu_pte_slot(ZT_TIER_SPILL, v);
	case 4: return 0;                                /* a discard */
	default:
		return zu_store_put(s->store, buf, 16 + (idx + ver) % 1500, &v) ? 0 :
		       zu_pte_store(v, ZT_CODEC_LZ4);
	}
}

struct writer {
	struct zu_state *s;
	unsigned seed;
};

static void *writer(void *arg)
{
	struct writer *w = arg;

	for (uint64_t ver = w->seed;; ver += WRITERS) {
		uint64_t idx = (uint64_t)(rand_r(&w->seed) % RANGE) * STRIDE;

		state_publish(w->s, idx, put_ver(w->s, idx, ver));
	}
	return NULL;
}

/* The child: attach, write from three threads, compact, until killed. */
static void child(int fd)
{
	struct writer w[WRITERS];
	struct zu_store_mover m;
	struct zu_state *s;
	pthread_t t;

	if (zu_state_attach(fd, &geom, &s, msg, sizeof(msg)))
		_exit(2);
	m = zu_store_pt_mover(s->pt);
	zu_store_set_mover(s->store, &m);
	for (unsigned i = 0; i < WRITERS; i++) {
		w[i] = (struct writer){ s, i + 1 + (unsigned)getpid() * 8 };
		pthread_create(&t, NULL, writer, &w[i]);
	}
	for (;;)
		zu_store_compact(s->store, true);
}

/* Is e complete data of one write of page idx? */
static bool data_ok(struct zu_state *s, uint64_t idx, uint64_t e)
{
	uint64_t w, i2, ver;
	const unsigned char *p;
	size_t len;

	switch (zu_pte_tier(e)) {
	case ZT_TIER_META:
		w = zu_fill_word(s->fills, zu_pte_payload(e));
		return w == ((uint32_t)idx ^ 0x5a5a0000u) * UINT64_C(0x100000001) ||
		       w == ((idx % 3 + 1) << 32 | 7);
	case ZT_TIER_STORE:
		p = zu_store_data(s->store, zu_pte_store_handle(e), &len);
		memcpy(&i2, p, 8);
		memcpy(&ver, p + 8, 8);
		if (i2 != idx || len != (ver % 7 == 2 ? ZT_PAGE_SIZE : 16 + (idx + ver) % 1500))
			return false;
		for (size_t k = 16; k < len; k++)
			if (p[k] != fill_byte(idx, ver))
				return false;
		return true;
	case ZT_TIER_SPILL:
		return zu_slots_in_use(s->spill, zu_pte_slot_nr(e));
	default:
		return false;
	}
}

struct check {
	struct zu_state *s;
	unsigned pages, bad;
	uint64_t idx[RANGE];
};

static int check_page(void *ctx, uint64_t idx, uint64_t e)
{
	struct check *c = ctx;

	if (c->pages < RANGE)
		c->idx[c->pages] = idx;
	c->pages++;
	c->bad += !data_ok(c->s, idx, e);
	return 0;
}

/* Free every page: the allocators must come out exactly empty. */
static bool drain(struct zu_state *s, struct check *c)
{
	struct zu_store_stats ss;

	state_drop_pages(s, c->idx, c->pages < RANGE ? c->pages : RANGE);
	zu_store_stats(s->store, &ss);
	return !ss.pages && !ss.data_bytes && !zu_slots_used(s->spill) && !zu_fills_used(s->fills);
}

int main(void)
{
	static struct check c;
	unsigned killed = 0, pages = 0, bad = 0, r;
	int fd = memfd_create("t_state_kill", MFD_CLOEXEC);
	struct zu_state *s;

	srand(7);
	if (!ok(zu_state_create(fd, &geom, &s, msg, sizeof(msg)) == 0, "create a state"))
		return tap_done();
	zu_state_detach(s);
	for (r = 0; r < ROUNDS; r++) {
		killed += state_kill_round(fd, child);
		if (zu_state_attach(fd, &geom, &s, msg, sizeof(msg)))
			break;
		c = (struct check){ .s = s };
		zu_pt_foreach(s->pt, check_page, &c);
		pages += c.pages;
		bad += c.bad;
		if (r + 1 < ROUNDS)
			zu_state_detach(s);
	}
	is_int(killed, ROUNDS, "a writing child killed with SIGKILL every round");
	if (!ok(r == ROUNDS, "attach after every kill"))
		return tap_diag("  %s", msg), tap_done();
	ok(!bad && pages, "every page holds complete data of one of its writes "
	   "(%u pages checked, %u bad)", pages, bad);
	/* A child killed before its attach finished did not count. */
	ok(s->attaches >= ROUNDS && s->attaches <= 2 * ROUNDS - 1,
	   "attaches before the last: %llu", (unsigned long long)s->attaches);
	ok(drain(s, &c), "freeing every page empties every allocator exactly");
	zu_state_detach(s);
	close(fd);
	return tap_done();
}
