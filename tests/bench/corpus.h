/*
 * corpus.h — what the corpus benchmarks share (b_corpus.c, b_readpath.c):
 * the corpus of real process memory read into memory, and the clock.
 *
 * Pages: the corpus `make vm-bench` builds (tests/vm/corpus: resident
 * anonymous pages of perl, python3 and node), read from $ZT_CORPUS or
 * build/vm/corpus.bin; without it a benchmark says so and passes.
 * $ZT_BENCH_PAGES=N takes N pages spread over it; $ZT_BENCH_CLOCK=cpu
 * times with the thread's CPU clock (steadier on a shared machine).
 * Static functions: each benchmark is one translation unit.
 */
#ifndef ZT_TESTS_BENCH_CORPUS_H
#define ZT_TESTS_BENCH_CORPUS_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "policy/policy.h"
#include "tests/bench/median.h"

struct corpus {
	const unsigned char *pages;
	size_t n;
};

static const unsigned char *page_at(const struct corpus *c, size_t i)
{
	return c->pages + i * ZT_PAGE_SIZE;
}

/* The corpus, read into memory; 0 pages when absent.  With a limit, that
 * many pages spread evenly over it (every process, not the first one). */
static struct corpus load_corpus(const char *bench)
{
	const char *path = getenv("ZT_CORPUS") ? getenv("ZT_CORPUS") : "build/vm/corpus.bin";
	const char *lim = getenv("ZT_BENCH_PAGES");
	struct corpus c = { NULL, 0 };
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &sb) < 0 || sb.st_size < (off_t)ZT_PAGE_SIZE) {
		printf("%s: no corpus at %s (make vm-bench builds it, or set ZT_CORPUS): skipped\n",
		       bench, path);
		if (fd >= 0)
			close(fd);
		return c;
	}
	size_t total = (size_t)sb.st_size / ZT_PAGE_SIZE;
	c.n = lim && (size_t)atol(lim) > 0 && (size_t)atol(lim) < total ? (size_t)atol(lim) : total;
	unsigned char *buf = aligned_alloc(ZT_PAGE_SIZE, c.n * ZT_PAGE_SIZE);
	for (size_t i = 0; buf && i < c.n; i++) {
		if (pread(fd, buf + i * ZT_PAGE_SIZE, ZT_PAGE_SIZE,
			  (off_t)(i * (total / c.n) * ZT_PAGE_SIZE)) != (ssize_t)ZT_PAGE_SIZE) {
			perror(bench);
			exit(1);
		}
	}
	close(fd);
	if (!buf) {
		fprintf(stderr, "%s: out of memory\n", bench);
		exit(1);
	}
	c.pages = buf;
	printf("%s: %s, %zu of its %zu pages (%.0f MiB)\n", bench, path, c.n, total,
	       (double)c.n * ZT_PAGE_SIZE / (1 << 20));
	return c;
}

/* $ZT_BENCH_CLOCK=cpu: the thread's CPU time, which a preemption by
 * another process does not inflate (a syscall per reading: the per-block
 * timings of the cache mode then carry ~0.1 us/page more on both sides). */
static bool cpu_clock(void)
{
	const char *v = getenv("ZT_BENCH_CLOCK");
	return v && !strcmp(v, "cpu");
}

static const char *clock_name(void)
{
	return cpu_clock() ? "thread CPU" : "wall";
}

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(cpu_clock() ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

#endif
