/*
 * b_swapin.c — swap-in speed against vm.page-cluster (issue 15, item 5),
 * run in the VM by tests/vm/bench-swapin.sh with one swap device on.
 *
 * A ublk device is not SWP_SYNCHRONOUS_IO, so a swap-in fault goes through
 * the kernel's readahead: up to 2^page-cluster pages around the one asked
 * for (kernel zram is synchronous and reads just the one).  What that buys
 * or costs depends on the access: a sequential reader gets its next pages
 * for free, a random one pays for pages it never touches.  So per setting:
 *   seq   the region paged out (MADV_PAGEOUT), then every page touched in
 *         order: MiB/s;
 *   rand  paged out again, then RAND_TOUCHES random pages touched once
 *         each: the median and p99 of one touch, in microseconds.
 * Settings are interleaved (ROUNDS rounds, order rotated) and the medians
 * printed with their spread.  The region is filled from a corpus file
 * (real process memory, tests/vm/corpus) so the store compresses it as it
 * would a real swap-out.  VmSwap after each page-out shows the pressure.
 *
 * Usage: b_swapin CORPUS MIB PC...   (needs root: writes page-cluster)
 *
 * Second use (issue 15, item 4: which same-filled pages reach a swap
 * device): b_swapin --pageout CORPUS MIB CMD fills the region as a mix,
 * per 4 pages one zero-filled, one filled with a non-zero word (a
 * different word for each page), two from the corpus; counts the zero and
 * the non-zero same-filled pages it holds; pages it all out and runs CMD
 * (which reads the swap device's counters) while the pages are still out.
 *
 * Without swap on, or as `make bench` runs it (no arguments), it says so
 * and exits 0.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "tests/bench/median.h"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

#define PAGE          4096u
#define ROUNDS        7
#define RAND_TOUCHES  2048u
#define MAX_PC        8

struct row {
	double seq_mibs[ROUNDS], rand_med[ROUNDS], rand_p99[ROUNDS];
	long swap_kib[ROUNDS];
};

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static long vm_swap_kib(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	long kib = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmSwap: %ld", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

static bool swap_is_on(void)
{
	FILE *f = fopen("/proc/swaps", "re");
	char line[256];
	int n = 0;

	while (f && fgets(line, sizeof(line), f))
		n++;
	if (f)
		fclose(f);
	return n > 1;
}

static int set_page_cluster(int pc)
{
	FILE *f = fopen("/proc/sys/vm/page-cluster", "we");

	if (!f || fprintf(f, "%d\n", pc) < 0 || fclose(f)) {
		perror("b_swapin: /proc/sys/vm/page-cluster");
		return -1;
	}
	return 0;
}

/* The region, filled from the corpus (cycled if the corpus is shorter). */
static unsigned char *fill(const char *corpus, size_t bytes)
{
	unsigned char *r = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = open(corpus, O_RDONLY | O_CLOEXEC);
	size_t done = 0;

	if (r == MAP_FAILED || fd < 0) {
		fprintf(stderr, "b_swapin: %s: %s\n", corpus, strerror(errno));
		exit(1);
	}
	if (getenv("ZT_NOHUGE"))      /* 4 KiB folios only: each page swapped alone */
		madvise(r, bytes, MADV_NOHUGEPAGE);
	while (done < bytes) {
		ssize_t n = pread(fd, r + done, bytes - done, 0);

		if (n <= 0) {
			fprintf(stderr, "b_swapin: %s: empty or unreadable\n", corpus);
			exit(1);
		}
		done += (size_t)n;
	}
	close(fd);
	return r;
}

static void madvise_pageout(unsigned char *r, size_t bytes)
{
	if (madvise(r, bytes, MADV_PAGEOUT)) {
		perror("b_swapin: MADV_PAGEOUT");
		exit(1);
	}
}

/* Every page of the region out of memory, swap cache included: a dirty
 * page is only queued for writeback by MADV_PAGEOUT and stays cached, and
 * pages read ahead but never touched stay cached unmapped, where
 * MADV_PAGEOUT does not see them; so the region is written out, touched
 * back in (untimed: every page mapped and clean), and paged out again,
 * which frees clean pages at once.  VmSwap after it: the pressure. */
static long page_out(unsigned char *r, size_t bytes)
{
	volatile unsigned char *v = r;
	unsigned sum = 0;

	madvise_pageout(r, bytes);
	for (size_t off = 0; off < bytes; off += PAGE)
		sum += v[off];
	(void)sum;
	madvise_pageout(r, bytes);
	return vm_swap_kib();
}

static double seq_pass(volatile unsigned char *r, size_t bytes)
{
	unsigned sum = 0;
	double t0 = now_us();

	for (size_t off = 0; off < bytes; off += PAGE)
		sum += r[off];
	(void)sum;
	return (double)bytes / (1 << 20) / ((now_us() - t0) / 1e6);
}

/* One touch per random page: median and p99 in us. */
static void rand_pass(volatile unsigned char *r, size_t bytes, uint64_t *seed, double *med,
		      double *p99)
{
	static double lat[RAND_TOUCHES];
	uint64_t pages = bytes / PAGE;

	for (unsigned i = 0; i < RAND_TOUCHES; i++) {
		double t0;

		*seed = *seed * 6364136223846793005u + 1442695040888963407u;
		t0 = now_us();
		(void)r[(*seed >> 17) % pages * PAGE];
		lat[i] = now_us() - t0;
	}
	qsort(lat, RAND_TOUCHES, sizeof(lat[0]), cmp_double);
	*med = lat[RAND_TOUCHES / 2];
	*p99 = lat[RAND_TOUCHES * 99 / 100];
}

static void report(const int *pc, unsigned npc, struct row *rows)
{
	printf("page-cluster  seq MiB/s median (min-max)   rand touch us median (min-max)   "
	       "rand p99 us median   VmSwap KiB min\n");
	for (unsigned i = 0; i < npc; i++) {
		struct row *w = &rows[i];
		double s = median(w->seq_mibs, ROUNDS), m = median(w->rand_med, ROUNDS);
		long sw = w->swap_kib[0];

		for (int k = 1; k < ROUNDS; k++)
			sw = w->swap_kib[k] < sw ? w->swap_kib[k] : sw;
		printf("%12d  %8.1f (%.1f-%.1f)   %14.1f (%.1f-%.1f)   %18.1f   %ld\n", pc[i], s,
		       w->seq_mibs[0], w->seq_mibs[ROUNDS - 1], m, w->rand_med[0],
		       w->rand_med[ROUNDS - 1], median(w->rand_p99, ROUNDS), sw);
	}
}

/* The page's fill word if every word is the same, else 0 with *same false. */
static uint64_t fill_word(const unsigned char *p, bool *same)
{
	const uint64_t *w = (const uint64_t *)p;

	*same = true;
	for (unsigned i = 1; i < PAGE / 8 && *same; i++)
		*same = w[i] == w[0];
	return w[0];
}

static int pageout_mix(char **argv)
{
	size_t bytes = (size_t)strtoul(argv[3], NULL, 10) << 20;
	unsigned char *r = fill(argv[2], bytes);
	uint64_t zero = 0, filled = 0;

	for (size_t i = 0; i < bytes / PAGE; i++) {
		uint64_t *w = (uint64_t *)(r + i * PAGE), word = 0x0101010101010101u * (i % 255 + 1);
		bool same;

		for (unsigned k = 0; i % 4 < 2 && k < PAGE / 8; k++)
			w[k] = i % 4 ? word : 0;
		word = fill_word((unsigned char *)w, &same);
		zero += same && !word;
		filled += same && word;
	}
	printf("region: %zu pages, %llu zero-filled, %llu filled with a non-zero word\n",
	       bytes / PAGE, (unsigned long long)zero, (unsigned long long)filled);
	if (getenv("ZT_PAGEOUT_ONCE")) {      /* one MADV_PAGEOUT, its writeback done */
		madvise_pageout(r, bytes);
		sleep(2);
		printf("VmSwap after one MADV_PAGEOUT: %ld KiB\n", vm_swap_kib());
	} else {
		printf("VmSwap after MADV_PAGEOUT: %ld KiB\n", page_out(r, bytes));
	}
	fflush(stdout);
	return system(argv[4]) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	static struct row rows[MAX_PC];
	int pc[MAX_PC];
	unsigned npc = 0;
	uint64_t seed = 42;

	if (argc == 5 && !strcmp(argv[1], "--pageout") && swap_is_on())
		return pageout_mix(argv);
	if (argc < 4 || !swap_is_on()) {
		printf("b_swapin: needs CORPUS MIB PC... and a swap device on "
		       "(tests/vm/bench-swapin.sh): skipped\n");
		return 0;
	}
	size_t bytes = (size_t)strtoul(argv[2], NULL, 10) << 20;
	unsigned char *r = fill(argv[1], bytes);

	for (int i = 3; i < argc && npc < MAX_PC; i++)
		pc[npc++] = atoi(argv[i]);
	for (int round = 0; round < ROUNDS; round++) {
		for (unsigned j = 0; j < npc; j++) {
			unsigned i = (j + (unsigned)round) % npc;   /* order rotated */

			if (set_page_cluster(pc[i]))
				return 1;
			rows[i].swap_kib[round] = page_out(r, bytes);
			rows[i].seq_mibs[round] = seq_pass(r, bytes);
			page_out(r, bytes);
			rand_pass(r, bytes, &seed, &rows[i].rand_med[round],
				  &rows[i].rand_p99[round]);
		}
	}
	report(pc, npc, rows);
	return 0;
}
