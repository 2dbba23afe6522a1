/*
 * layout.c - operators that only move data: nearest x2 upsampling, channel
 * concatenation and the last-two-dimensions transpose.
 *
 * Upsampling widens each input row once and stores it twice; concatenation
 * copies whole channel planes; the transpose walks TRANSPOSE_BLOCK square
 * tiles so both the rows read and the rows written stay in cache. All three
 * split their outer loop across threads.
 */
#include "nn/cpu/cpu_ops.h"

#define TRANSPOSE_BLOCK 32

void cpu_upsample2x(nn_ctx *c, const nn_tensor *x, nn_tensor *y)
{
    int64_t w = x->shape[3];
    int64_t rows = nn_numel(x) / w;   /* N * C * H input rows */
    const float *xd = x->data;
    float *yd = y->data;
#pragma omp parallel for schedule(static) if (nn_numel(y) >= CPU_PARALLEL_MIN)
    for (int64_t r = 0; r < rows; r++) {
        const float *src = xd + r * w;
        float *dst = yd + r * 4 * w;   /* output rows 2r and 2r+1, each 2w wide */
        for (int64_t i = 0; i < w; i++) {
            dst[2 * i] = src[i];
            dst[2 * i + 1] = src[i];
        }
        memcpy(dst + 2 * w, dst, (size_t)(2 * w) * sizeof *dst);
    }
}

void cpu_concat_channels(nn_ctx *c, const nn_tensor *a, const nn_tensor *b, nn_tensor *y)
{
    int64_t batch = a->shape[0], ca = a->shape[1], cb = b->shape[1], ct = ca + cb;
    int64_t plane = nn_numel(a) / (batch * ca);
    const float *ad = a->data, *bd = b->data;
    float *yd = y->data;
#pragma omp parallel for schedule(static) if (nn_numel(y) >= CPU_PARALLEL_MIN)
    for (int64_t i = 0; i < batch * ct; i++) {
        int64_t n = i / ct, ch = i % ct;
        const float *src = ch < ca ? ad + (n * ca + ch) * plane : bd + (n * cb + ch - ca) * plane;
        memcpy(yd + i * plane, src, (size_t)plane * sizeof *yd);
    }
}

void cpu_transpose12(nn_ctx *c, const nn_tensor *x, nn_tensor *y)
{
    int64_t batch = x->shape[0], rows = x->shape[1], cols = x->shape[2];
    int64_t row_blocks = (rows + TRANSPOSE_BLOCK - 1) / TRANSPOSE_BLOCK;
    const float *xd = x->data;
    float *yd = y->data;
#pragma omp parallel for schedule(static) if (nn_numel(x) >= CPU_PARALLEL_MIN)
    for (int64_t t = 0; t < batch * row_blocks; t++) {
        int64_t n = t / row_blocks, r0 = (t % row_blocks) * TRANSPOSE_BLOCK;
        int64_t r1 = r0 + TRANSPOSE_BLOCK < rows ? r0 + TRANSPOSE_BLOCK : rows;
        const float *src = xd + n * rows * cols;
        float *dst = yd + n * rows * cols;
        for (int64_t c0 = 0; c0 < cols; c0 += TRANSPOSE_BLOCK) {
            int64_t c1 = c0 + TRANSPOSE_BLOCK < cols ? c0 + TRANSPOSE_BLOCK : cols;
            for (int64_t j = c0; j < c1; j++)
                for (int64_t i = r0; i < r1; i++)
                    dst[j * rows + i] = src[i * cols + j];
        }
    }
}
