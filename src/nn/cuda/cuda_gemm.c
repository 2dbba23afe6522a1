/*
 * cuda_gemm.c - linear and attention on cuBLAS (fp16 or bf16 inputs on the
 * tensor cores, fp32 accumulation).
 *
 * cuBLAS is column-major: a row-major matrix R (m x n, row stride ld) is the
 * column-major matrix R^T with the same ld, so the row-major product
 * Y = X W^T is computed as the column-major Y^T = W X^T (W transposed).
 *
 * linear: one GEMM into y, then the epilogue kernel adds the bias
 * and the residual in one pass over y (a residual that is y itself is
 * accumulated by the GEMM with beta = 1 instead).
 *
 * attention: up to ATTN_FUSED_MAX_KEYS keys (cross attention over the 50
 * audio tokens, self-attention on the smallest feature maps) the fused
 * kernel of kernels_attention.cu, which keeps the scores on the chip. Longer
 * sequences: for each batch element and band of query rows, a strided
 * batched GEMM over the heads gives the fp32 scores S[h] = q_h k_h^T /
 * sqrt(d) (a head is a column slice of the (L, C) tensor: stride d between
 * heads, leading dimension C), a kernel turns each row into its softmax,
 * written as probabilities P in the tensors' format, and a second batched GEMM writes
 * out_h = P[h] v_h straight into the head's columns of out. The band keeps
 * the scores and probabilities under ATTN_SCRATCH_BYTES.
 */
#include <math.h>

#include "nn/cuda/cuda_internal.h"

#define ATTN_SCRATCH_BYTES ((int64_t)128 << 20)   /* scores and probabilities of a band */
#define ATTN_FUSED_MAX_KEYS 64

void cuda_linear(nn_ctx *c, const nn_tensor *x, const nn_tensor *w, const nn_tensor *b,
                 const nn_tensor *residual, nn_tensor *y)
{
    cuda_ctx *s = cuda_enter(c);
    int64_t k = w->shape[1], n = w->shape[0], m = nn_numel(x) / k;
    int accumulate = residual && residual->data == y->data;
    float one = 1.0f, beta = accumulate ? 1.0f : 0.0f;
    BLAS_OK(cublasGemmEx(s->blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)n, (int)m, (int)k, &one,
                         w->data, s->blas_type, (int)k, x->data, s->blas_type, (int)k, &beta,
                         y->data, s->blas_type, (int)n, CUDA_GEMM_COMPUTE,
                         CUBLAS_GEMM_DEFAULT));
    const void *res = residual && !accumulate ? residual->data : NULL;
    if (b || res)
        cuda_run_bias_residual(s->queue, y->data, b ? b->data : NULL, res, m * n, n);
}

void cuda_attention(nn_ctx *c, const nn_tensor *q, const nn_tensor *k, const nn_tensor *v,
                    int heads, nn_tensor *out)
{
    cuda_ctx *s = cuda_enter(c);
    int64_t batch = q->shape[0], lq = q->shape[1], lk = k->shape[1], ch = q->shape[2];
    int64_t d = ch / heads;
    if (lk <= ATTN_FUSED_MAX_KEYS && d <= CUDA_ATTENTION_FUSED_MAX_D) {
        cuda_run_attention_fused(s->queue, q->data, k->data, v->data, out->data, batch, lq, lk,
                                 ch, heads);
        return;
    }
    /* a query row takes heads * lk scores (float) and as many probabilities (2 bytes) */
    int64_t row_bytes = heads * lk * (int64_t)(sizeof(float) + sizeof(uint16_t));
    int64_t band = ATTN_SCRATCH_BYTES / row_bytes;
    band = band < 1 ? 1 : band > lq ? lq : band;
    float scale = 1.0f / sqrtf((float)d), one = 1.0f, zero = 0.0f;

    nn_arena_mark mark = nn_arena_get_mark(c->arena);
    int64_t block = heads * band * lk;
    float *scores = nn_arena_alloc(c->arena, block);
    void *probs = nn_arena_alloc(c->arena, (block + 1) / 2);
    for (int64_t n = 0; n < batch; n++) {
        const void *kn = nn_at(c->be, k->data, n * lk * ch);
        const void *vn = nn_at(c->be, v->data, n * lk * ch);
        for (int64_t i0 = 0; i0 < lq; i0 += band) {
            int64_t rows = lq - i0 < band ? lq - i0 : band;
            const void *qn = nn_at(c->be, q->data, (n * lq + i0) * ch);
            void *on = nn_at(c->be, out->data, (n * lq + i0) * ch);
            /* S[h] (rows x lk) = q_h k_h^T * scale: column-major S^T = k_h^T' q_h^T */
            BLAS_OK(cublasGemmStridedBatchedEx(
                s->blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)lk, (int)rows, (int)d, &scale, kn,
                s->blas_type, (int)ch, d, qn, s->blas_type, (int)ch, d, &zero, scores,
                CUDA_R_32F, (int)lk, rows * lk, heads, CUDA_GEMM_COMPUTE, CUBLAS_GEMM_DEFAULT));
            cuda_run_softmax_rows(s->queue, scores, probs, heads * rows, lk);
            /* out_h (rows x d) = P[h] v_h: column-major out_h^T = v_h^T P^T */
            BLAS_OK(cublasGemmStridedBatchedEx(
                s->blas, CUBLAS_OP_N, CUBLAS_OP_N, (int)d, (int)rows, (int)lk, &one, vn,
                s->blas_type, (int)ch, d, probs, s->blas_type, (int)lk, rows * lk, &zero, on,
                s->blas_type, (int)ch, d, heads, CUDA_GEMM_COMPUTE,
                CUBLAS_GEMM_DEFAULT));
        }
    }
    nn_arena_release(c->arena, mark);
}
