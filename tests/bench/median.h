/*
 * median.h — the median the benchmarks report (sorts v in place: after the
 * call v[0] is the minimum and v[n - 1] the maximum, the spread printed
 * beside it).  Static functions: each benchmark is one translation unit.
 */
#ifndef ZT_TESTS_BENCH_MEDIAN_H
#define ZT_TESTS_BENCH_MEDIAN_H

#include <stddef.h>
#include <stdlib.h>

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

#endif
