/*
 * bench_whisper.c - the whisper encoder on one 30 s window.
 *
 * usage: bench_whisper MODEL MEL.npy THREADS REPS
 * Loads MODEL (any checkpoint ls_whisper_load reads), runs the encoder with
 * all stacked states on the (n_mels, 3000) log-mel MEL once to warm up, then
 * REPS times; prints per-run times on stderr and the median in seconds on
 * stdout (bench/whisper.sh compares it with PyTorch's).
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench_clock.h"
#include "io/npy.h"
#include "models/whisper.h"

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: bench_whisper MODEL MEL.npy THREADS REPS\n");
        return 2;
    }
    int threads = atoi(argv[3]), reps = atoi(argv[4]);
    ls_error err = { 0 };
    ls_whisper *w = NULL;
    nn_tensor mel = { 0 };
    if (reps < 1 || ls_whisper_load(argv[1], LS_MUSETALK_V1, &w, &err) != 0 ||
        ls_npy_read(argv[2], &mel, &err) != 0) {
        fprintf(stderr, "bench_whisper: %s\n", reps < 1 ? "REPS must be positive" : err.msg);
        ls_whisper_free(w);
        return 1;
    }
    if (mel.ndim != 2 || mel.shape[0] != w->n_mels || mel.shape[1] > 2 * (int64_t)w->n_ctx) {
        fprintf(stderr, "bench_whisper: %s is not an (n_mels, <= 2 n_ctx) log-mel\n", argv[2]);
        free(mel.data);
        ls_whisper_free(w);
        return 1;
    }
    nn_set_threads(threads);
    nn_ctx *c = nn_ctx_new(nn_backend_cpu());
    int64_t steps = (mel.shape[1] + 1) / 2;
    float *states = malloc((size_t)steps * ls_whisper_n_states(w) * w->n_state * sizeof *states);
    double *times = malloc((size_t)reps * sizeof *times);
    fprintf(stderr, "lipstream, %d threads:", nn_get_threads());
    for (int i = 0; i <= reps; i++) {
        double start = bench_seconds();
        if (ls_whisper_encode(w, c, mel.data, mel.shape[1], steps, 0, states, &err) != 0) {
            fprintf(stderr, "\nbench_whisper: %s\n", err.msg);
            return 1;
        }
        if (i > 0) {
            times[i - 1] = bench_seconds() - start;
            fprintf(stderr, " %.3f", times[i - 1]);
        }
    }
    fprintf(stderr, " s\n");
    bench_sort_times(times, (size_t)reps);
    printf("%.6f\n", reps % 2 ? times[reps / 2] : (times[reps / 2 - 1] + times[reps / 2]) / 2);
    free(times);
    free(states);
    free(mel.data);
    nn_ctx_free(c);
    ls_whisper_free(w);
    return 0;
}
