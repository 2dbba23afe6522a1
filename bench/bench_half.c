/*
 * bench_half.c - host fp32 <-> fp16 conversion speed (nn/half.h): the array
 * conversions (F16C where the CPU has it) and the single-value functions in
 * a loop; and fp32 <-> bf16 (nn/bfloat16.h); over 16M values, median of
 * REPS runs.
 *
 * usage: bench_half [REPS]
 * Prints one line per case: "<case> <seconds>". bench/half.sh pairs it
 * with PyTorch's CPU conversions.
 */
#include <stdio.h>
#include <stdlib.h>
#include "bench_clock.h"
#include "nn/bfloat16.h"
#include "nn/half.h"

#define VALUES (1 << 24)

static float *floats;
static uint16_t *halves;

static void to_half_array(void)
{
    nn_halves_from_floats(halves, floats, VALUES);
}

static void to_float_array(void)
{
    nn_floats_from_halves(floats, halves, VALUES);
}

static void to_bf16_array(void)
{
    nn_bfloats_from_floats(halves, floats, VALUES);
}

static void from_bf16_array(void)
{
    nn_floats_from_bfloats(floats, halves, VALUES);
}

static void to_half_single(void)
{
    for (int64_t i = 0; i < VALUES; i++)
        halves[i] = nn_half_from_float(floats[i]);
}

static void to_float_single(void)
{
    for (int64_t i = 0; i < VALUES; i++)
        floats[i] = nn_float_from_half(halves[i]);
}

static double median_seconds(void (*run)(void), int reps)
{
    double t[64];
    for (int r = 0; r < reps; r++) {
        double start = bench_seconds();
        run();
        t[r] = bench_seconds() - start;
    }
    bench_sort_times(t, (size_t)reps);
    return t[reps / 2];
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 9;
    if (reps < 1 || reps > 64) {
        fprintf(stderr, "usage: bench_half [REPS (1..64)]\n");
        return 2;
    }
    floats = malloc((size_t)VALUES * sizeof *floats);
    halves = malloc((size_t)VALUES * sizeof *halves);
    if (!floats || !halves) {
        fprintf(stderr, "bench_half: out of memory\n");
        return 1;
    }
    srand(1);
    for (int64_t i = 0; i < VALUES; i++)
        floats[i] = ((float)rand() / (float)RAND_MAX - 0.5f) * 8.0f;
    fprintf(stderr, "array conversions: %s\n", nn_half_array_path());
    printf("to_half %.6f\n", median_seconds(to_half_array, reps));
    printf("to_float %.6f\n", median_seconds(to_float_array, reps));
    printf("to_half_single %.6f\n", median_seconds(to_half_single, reps));
    printf("to_float_single %.6f\n", median_seconds(to_float_single, reps));
    printf("to_bf16 %.6f\n", median_seconds(to_bf16_array, reps));
    printf("from_bf16 %.6f\n", median_seconds(from_bf16_array, reps));
    free(floats);
    free(halves);
    return 0;
}
