/*
 * test_attention_math.c - the online softmax of the fused attention kernel.
 *
 * usage: test_attention_math
 *
 * The kernel's per-row algorithm (kernels_attention.cu) runs here on the
 * CPU with the very functions it uses (src/nn/cuda/attention_math.h): keys
 * in tiles of 32, each tile's scores against the scaled query, the tile's
 * maximum, the rescale of what was accumulated, the weights and their sum,
 * then the division at the end. It must match a direct softmax computed in
 * double on random queries, keys and values: key counts that fill no tile,
 * one, several and part of the last; head dimensions 40 to 160; and scores
 * beyond expf's range (|s| > 88, printed), rising from tile to tile (every
 * tile rescales) or falling (none does). The kernel on a GPU is compared
 * with the CPU backend in test_cuda_ops.
 */
#include <stdlib.h>

#include "check.h"
#include "nn/cuda/attention_math.h"

#define TILE 32        /* as the kernel's ATT_TILE */
#define RTOL 1e-5      /* fp32 against double: a few float roundings per value */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static float uniform(void)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng >> 40) / 16777216.0 * 2 - 1);
}

/* One query row through the kernel's loop: out[e] for e < d. */
static void attend_like_kernel(const float *query, const float *keys, const float *values,
                               int lk, int d, float *out)
{
    float scale = 1.0f / sqrtf((float)d), scaled[160], score[TILE], weight[TILE];
    for (int e = 0; e < d; e++)
        scaled[e] = query[e] * scale;
    for (int e = 0; e < d; e++)
        out[e] = 0.0f;
    attn_running run = attn_start();
    for (int j0 = 0; j0 < lk; j0 += TILE) {
        int tile = lk - j0 < TILE ? lk - j0 : TILE;
        float tile_max = -INFINITY, tile_sum = 0.0f;
        for (int j = 0; j < tile; j++) {
            float dot = 0.0f;
            for (int e = 0; e < d; e++)
                dot += scaled[e] * keys[(j0 + j) * d + e];
            score[j] = dot;
            tile_max = fmaxf(tile_max, dot);
        }
        float rescale = attn_enter_tile(&run, tile_max);
        for (int j = 0; j < tile; j++) {
            weight[j] = attn_weight(&run, score[j]);
            tile_sum += weight[j];
        }
        attn_add_weights(&run, tile_sum);
        for (int e = 0; e < d; e++) {
            out[e] *= rescale;
            for (int j = 0; j < tile; j++)
                out[e] += weight[j] * values[(j0 + j) * d + e];
        }
    }
    for (int e = 0; e < d; e++)
        out[e] = attn_finish(&run, out[e]);
}

/* softmax(q k^T / sqrt(d)) v for one row, in double; returns the largest
 * |score|. */
static double attend_direct(const float *query, const float *keys, const float *values, int lk,
                            int d, float *out)
{
    double *s = malloc((size_t)lk * sizeof *s), max = -INFINITY, sum = 0, largest = 0;
    for (int j = 0; j < lk; j++) {
        double dot = 0;
        for (int e = 0; e < d; e++)
            dot += (double)query[e] * keys[j * d + e];
        s[j] = dot / sqrt((double)d);
        max = s[j] > max ? s[j] : max;
        largest = fabs(s[j]) > largest ? fabs(s[j]) : largest;
    }
    for (int j = 0; j < lk; j++)
        sum += s[j] = exp(s[j] - max);
    for (int e = 0; e < d; e++) {
        double acc = 0;
        for (int j = 0; j < lk; j++)
            acc += s[j] * values[j * d + e];
        out[e] = (float)(acc / sum);
    }
    free(s);
    return largest;
}

typedef enum trend { RANDOM, RISING, FALLING } trend;

/* Rounds to a multiple of 1/8. */
static float on_grid(float x)
{
    return roundf(x * 8.0f) / 8.0f;
}

/* rows query rows against lk keys of dimension d; query magnitude sets the
 * scores' range; a trend adds a key-dependent offset along the query. With
 * a trend, queries and keys lie on a 1/8 grid and d is 64 (scale 1/8), so
 * every score is exact in fp32 (products on a 1/512 grid, sums far below
 * 2^24 of them) and the comparison measures the softmax alone, not the
 * rounding of large scores. */
static void check_case(int rows, int lk, int d, float magnitude, trend t)
{
    int64_t n = (int64_t)rows * d;
    float *q = malloc((size_t)n * sizeof *q), *k = malloc((size_t)lk * d * sizeof *k);
    float *v = malloc((size_t)lk * d * sizeof *v);
    float *got = malloc((size_t)n * sizeof *got), *want = malloc((size_t)n * sizeof *want);
    for (int64_t i = 0; i < n; i++) {
        q[i] = magnitude * (0.5f + 0.5f * uniform());   /* positive: the trend shows */
        q[i] = t == RANDOM ? q[i] : on_grid(q[i]);
    }
    for (int j = 0; j < lk; j++)
        for (int e = 0; e < d; e++) {
            float drift = t == RISING ? (float)j / lk : t == FALLING ? 1.0f - (float)j / lk : 0;
            k[j * d + e] = t == RANDOM ? 0.5f * uniform() : on_grid(0.5f * uniform() + drift);
            v[j * d + e] = uniform();
        }
    double largest = 0;
    for (int r = 0; r < rows; r++) {
        attend_like_kernel(q + (int64_t)r * d, k, v, lk, d, got + (int64_t)r * d);
        double l = attend_direct(q + (int64_t)r * d, k, v, lk, d, want + (int64_t)r * d);
        largest = l > largest ? l : largest;
    }
    char what[96];
    snprintf(what, sizeof what, "%d keys, d %d, %s, |s| <= %.0f", lk, d,
             t == RISING ? "rising" : t == FALLING ? "falling" : "random", largest);
    check_close(what, got, want, n, 0, RTOL);
    free(q), free(k), free(v), free(got), free(want);
}

int main(void)
{
    static const int keys[] = { 1, 7, 31, 32, 33, 50, 64, 100 };
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        check_case(8, keys[i], 40, 8.0f, RANDOM);
    check_case(8, 50, 80, 1.0f, RANDOM);
    check_case(8, 64, 160, 1.0f, RANDOM);
    /* scores past expf's range (88): only differences are exponentiated;
     * exact scores (see check_case) */
    check_case(8, 100, 64, 40.0f, RISING);
    check_case(8, 100, 64, 40.0f, FALLING);
    check_case(8, 33, 64, 3.0f, RISING);
    return check_result("test_attention_math");
}
