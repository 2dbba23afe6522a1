/*
 * bench_clock.h - what every benchmark times with: a monotonic clock in
 * seconds and the ascending sort of a run's times (medians, percentiles).
 * Header-only: each benchmark is one executable (bench/CMakeLists.txt).
 */
#ifndef LS_BENCH_CLOCK_H
#define LS_BENCH_CLOCK_H

#include <stdlib.h>
#include <time.h>

static inline double bench_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int bench_compare_times(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* times[0..n) in ascending order. */
static inline void bench_sort_times(double *times, size_t n)
{
    qsort(times, n, sizeof *times, bench_compare_times);
}

#endif
