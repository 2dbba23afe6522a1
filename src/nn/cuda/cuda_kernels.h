/*
 * cuda_kernels.h - launchers of the backend's own CUDA kernels (kernels_*.cu),
 * callable from C. Every launcher queues its kernels on a stream and
 * returns at once; pointers are device memory. Tensors are contiguous, of
 * 2-byte elements (IEEE fp16 or bf16), and passed as void pointers (C has
 * no such types; the kernels read them as __half or __nv_bfloat16,
 * storage.cuh); scratch and scores that hold floats are float pointers.
 * Launchers that compute take a cuda_queue (the stream and the element
 * format); those that only move elements take the stream. `act` is an
 * nn_act value.
 */
#ifndef LS_NN_CUDA_KERNELS_H
#define LS_NN_CUDA_KERNELS_H

#include <stdint.h>

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Where a launcher queues its kernels, and how its tensors store elements. */
typedef struct cuda_queue {
    cudaStream_t stream;
    int bf16;             /* 1: bfloat16, 0: IEEE fp16 */
} cuda_queue;

void cuda_run_activation(cuda_queue queue, const void *x, void *y, int64_t n, int act);
void cuda_run_geglu(cuda_queue queue, const void *x, void *y, int64_t rows, int64_t f);
void cuda_run_add(cuda_queue queue, const void *a, const void *b, void *y, int64_t n);
/* Spatial tensors are channels-last: (batch, h, w, c). The data movement
 * below copies 2-byte elements as they are, whatever their format. */
/* y (batch, 2h, 2w, c) = nearest x2 of x (batch, h, w, c) */
void cuda_run_upsample2x(cudaStream_t s, const void *x, void *y, int64_t batch, int64_t h,
                         int64_t w, int64_t c);
/* y (pixels, ca + cb) = cat(a (pixels, ca), b (pixels, cb)) per pixel */
void cuda_run_concat(cudaStream_t s, const void *a, const void *b, void *y, int64_t pixels,
                     int64_t ca, int64_t cb);
/* y[i] += b[i % channels] + residual[i]; b or residual may be NULL */
void cuda_run_bias_residual(cuda_queue queue, void *y, const void *b, const void *residual,
                            int64_t n, int64_t channels);
/* xp (batch, hp, wp, c): x (batch, h, w, c) read as nearest-upsampled by
 * 2^up_shift, placed at (top, left), zeros around */
void cuda_run_conv_input(cudaStream_t s, const void *x, void *xp, int64_t batch, int64_t h,
                         int64_t w, int64_t c, int up_shift, int64_t top, int64_t left,
                         int64_t hp, int64_t wp);
/* cols (batch * ho * wo, kh * kw * c): each output pixel's kh x kw patch of
 * x (batch, h, w, c) with symmetric padding, channels fastest (KRSC order),
 * zeros outside x: a convolution as one GEMM with its filters */
void cuda_run_im2col(cudaStream_t s, const void *x, void *cols, int64_t batch, int64_t h, int64_t w,
                     int64_t c, int kh, int kw, int pad_h, int pad_w, int stride_h, int stride_w,
                     int64_t ho, int64_t wo);
/* each of `rows` rows of n float scores becomes its softmax, written in
 * the queue's format to the same row of probs */
void cuda_run_softmax_rows(cuda_queue queue, const float *scores, void *probs, int64_t rows,
                           int64_t n);
/* out (batch, lq, heads * d) = softmax(q k^T / sqrt(d)) v per head, fused
 * (kernels_attention.cu), for d = ch / heads up to CUDA_ATTENTION_FUSED_MAX_D
 * (its shared memory then stays under the default 48 KiB); k and v are
 * (batch, lk, ch) */
#define CUDA_ATTENTION_FUSED_MAX_D 160
void cuda_run_attention_fused(cuda_queue queue, const void *q, const void *k, const void *v,
                              void *out, int64_t batch, int64_t lq, int64_t lk, int64_t ch,
                              int heads);
/* GroupNorm + activation of x (batch, spatial, channels); scratch holds
 * cuda_group_norm_scratch() floats */
int64_t cuda_group_norm_scratch(int64_t batch, int64_t channels, int64_t spatial);
void cuda_run_group_norm(cuda_queue queue, const void *x, void *y, const void *gamma,
                         const void *beta, int64_t batch, int64_t channels, int64_t spatial,
                         int groups, float eps, int act, float *scratch);
void cuda_run_layer_norm(cuda_queue queue, const void *x, void *y, const void *gamma,
                         const void *beta, int64_t rows, int64_t d, float eps);
/* out (height, width, 3) = frame with face (face_h, face_w, 3) pasted into
 * the box [x1, x2) x [y1, y2) through mask (rows of mask_width bytes, the
 * box's top-left at (mask_x, mask_y)); see paste_math.h */
void cuda_run_paste(cuda_queue queue, const void *face, int face_h, int face_w,
                    const uint8_t *frame, uint8_t *out, int width, int height,
                    const uint8_t *mask, int mask_width, int mask_x, int mask_y, int x1, int y1,
                    int x2, int y2);

#ifdef __cplusplus
}
#endif

#endif
