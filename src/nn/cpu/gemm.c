/*
 * gemm.c - the linear operator: y[M,N] = x[M,K] w[N,K]^T + b[N] + residual.
 *
 * One OpenBLAS SGEMM with the weight transposed in place (no copy). The
 * epilogue is folded into the GEMM: y is first filled with the bias plus the
 * residual (or left as it is when the residual is y itself), then SGEMM
 * accumulates into it with beta = 1. OpenBLAS would otherwise make its own
 * pass over y to scale it by beta, so the fill costs nothing extra.
 */
#include "nn/cpu/cpu_ops.h"

#include <cblas.h>

/* y[m, :] = residual[m, :] + b for every row; residual or b may be NULL. */
static void fill_rows(float *y, const float *residual, const float *b, int64_t m, int64_t n)
{
#pragma omp parallel for schedule(static) if (m * n >= CPU_PARALLEL_MIN)
    for (int64_t i = 0; i < m; i++) {
        float *row = y + i * n;
        const float *res = residual ? residual + i * n : NULL;
        if (res && b) {
            for (int64_t j = 0; j < n; j++)
                row[j] = res[j] + b[j];
        } else if (res) {
            if (res != row)
                memcpy(row, res, (size_t)n * sizeof *row);
        } else {
            for (int64_t j = 0; j < n; j++)
                row[j] = b[j];
        }
    }
}

void cpu_linear(nn_ctx *c, const nn_tensor *x, const nn_tensor *w, const nn_tensor *b,
                const nn_tensor *residual, nn_tensor *y)
{
    int64_t k = w->shape[1];
    int64_t n = w->shape[0];
    int64_t m = nn_numel(x) / k;
    float beta = 0.0f;
    if (b || residual) {
        fill_rows(y->data, residual ? residual->data : NULL, b ? b->data : NULL, m, n);
        beta = 1.0f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n, (int)k, 1.0f, x->data,
                (int)k, w->data, (int)k, beta, y->data, (int)n);
}
