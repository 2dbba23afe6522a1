/*
 * attention.c - multi-head scaled dot-product attention.
 *
 * Work is split into units of (batch, head, band of query rows). For a unit
 * of T queries one GEMM gives the score block S[T, Lk] = q k^T / sqrt(d),
 * each row of S becomes exp(s - rowmax) (subtracting the maximum keeps exp
 * in range), a second GEMM gives out[T, d] = S v, and each output row is
 * divided by its row's sum of exponentials. q, k, v and out stay in their
 * (B, L, C) layout: a head is a column slice read with leading dimension C,
 * so nothing is transposed or copied.
 *
 * The band height is chosen so a score block holds at most ATTN_TILE_FLOATS
 * and ATTN_MAX_BAND rows. That bounds the scratch memory (one block per
 * thread, from the arena) whatever the sequence length, and keeps the block
 * in the core's cache between the two GEMMs. Threads take whole units, each
 * with single-threaded GEMMs.
 */
#include "nn/cpu/cpu_ops.h"

#include <cblas.h>
#include <omp.h>

/* Floats in one thread's score block (512 KiB: a quarter of an L2), and the
 * most query rows in one band (enough for efficient GEMMs). */
#define ATTN_TILE_FLOATS (128 * 1024)
#define ATTN_MAX_BAND 256
#define ATTN_LANES 16

/* Largest of n floats. The running maximum is kept in ATTN_LANES lanes so
 * the loop vectorises as an elementwise max (a vectorised max reduction
 * needs flags this build does not use). */
static float row_max(const float *s, int64_t n)
{
    float lane[ATTN_LANES], max = s[0];
    for (int l = 0; l < ATTN_LANES; l++)
        lane[l] = max;
    int64_t j = 0;
    for (; j + ATTN_LANES <= n; j += ATTN_LANES)
#pragma omp simd
        for (int l = 0; l < ATTN_LANES; l++)
            lane[l] = s[j + l] > lane[l] ? s[j + l] : lane[l];
    for (; j < n; j++)
        max = s[j] > max ? s[j] : max;
    for (int l = 0; l < ATTN_LANES; l++)
        max = lane[l] > max ? lane[l] : max;
    return max;
}

/* s[j] = exp(s[j] - max s) over one row of n scores; returns their sum. */
static float softmax_numerators(float *s, int64_t n)
{
    float max = row_max(s, n);
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < n; j++) {
        s[j] = cpu_expf(s[j] - max);
        sum += s[j];
    }
    return sum;
}

void cpu_attention(nn_ctx *c, const nn_tensor *q, const nn_tensor *k, const nn_tensor *v,
                   int heads, nn_tensor *out)
{
    int64_t batch = q->shape[0], lq = q->shape[1], lk = k->shape[1], ch = q->shape[2];
    int64_t d = ch / heads;
    float scale = 1.0f / sqrtf((float)d);
    int64_t band = ATTN_TILE_FLOATS / lk;
    band = band < 1 ? 1 : band > ATTN_MAX_BAND ? ATTN_MAX_BAND : band;
    band = band > lq ? lq : band;
    int64_t bands = (lq + band - 1) / band;
    int64_t units = batch * heads * bands;
    int threads = omp_get_max_threads();

    nn_arena_mark mark = nn_arena_get_mark(c->arena);
    float *scores = nn_arena_alloc(c->arena, band * lk * threads);
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t u = 0; u < units; u++) {
        int64_t n = u / (heads * bands), h = (u / bands) % heads, i0 = (u % bands) * band;
        int64_t rows = lq - i0 < band ? lq - i0 : band;
        float *s = scores + omp_get_thread_num() * band * lk;
        const float *qu = q->data + (n * lq + i0) * ch + h * d;
        const float *ku = k->data + n * lk * ch + h * d;
        const float *vu = v->data + n * lk * ch + h * d;
        float *ou = out->data + (n * lq + i0) * ch + h * d;

        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)lk, (int)d, scale,
                    qu, (int)ch, ku, (int)ch, 0.0f, s, (int)lk);
        float inv_sum[ATTN_MAX_BAND];
        for (int64_t i = 0; i < rows; i++)
            inv_sum[i] = 1.0f / softmax_numerators(s + i * lk, lk);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)d, (int)lk, 1.0f,
                    s, (int)lk, vu, (int)ch, 0.0f, ou, (int)ch);
        for (int64_t i = 0; i < rows; i++)
            for (int64_t j = 0; j < d; j++)
                ou[i * ch + j] *= inv_sum[i];
    }
    nn_arena_release(c->arena, mark);
}
