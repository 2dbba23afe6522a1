/*
 * kernels_pointwise.cu - the backend's elementwise and data-movement
 * kernels: activations, GEGLU, add, the bias/residual epilogue, nearest x2
 * upsampling, channel concatenation, the input builder of padded or
 * upsampled convolutions, and the patch rows (im2col) of a convolution run
 * as a GEMM.
 *
 * Tensors hold 2-byte elements (fp16 or bf16): the arithmetic kernels,
 * templates over the element type S, compute in fp32 between load and store
 * (storage.cuh), the data-movement kernels copy elements as they are.
 * Spatial tensors are channels-last (N, H, W, C) (cuda_internal.h): a
 * pixel's channels are contiguous, so the data-movement kernels read and
 * write runs of channels, 8 channels per 16-byte access where the channel
 * counts allow (storage.cuh), as the bias/residual epilogue does. Kernels are
 * grid-stride loops over 64-bit indices, launched with enough blocks to fill
 * the GPU (capped: each thread then takes several elements).
 */
#include "nn/cuda/activation.cuh"
#include "nn/cuda/cuda_kernels.h"
#include "nn/cuda/launch.cuh"
#include "nn/cuda/storage.cuh"

#define THREADS 256
#define MAX_BLOCKS 65535

static unsigned blocks_for(int64_t n)
{
    int64_t b = (n + THREADS - 1) / THREADS;
    return (unsigned)(b < 1 ? 1 : b > MAX_BLOCKS ? MAX_BLOCKS : b);
}

#define GRID_STRIDE(i, n)                                                                      \
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n);                \
         i += (int64_t)gridDim.x * blockDim.x)

template <typename S>
__global__ void activation_kernel(const S *x, S *y, int64_t n, int act)
{
    GRID_STRIDE(i, n) store(y, i, apply_act(load(x, i), act));
}

template <typename S>
__global__ void geglu_kernel(const S *x, S *y, int64_t rows, int64_t f)
{
    GRID_STRIDE(i, rows * f)
    {
        int64_t r = i / f, j = i % f;
        const S *row = x + r * 2 * f;
        store(y, i, load(row, j) * apply_act(load(row, f + j), 2));
    }
}

template <typename S>
__global__ void add_kernel(const S *a, const S *b, S *y, int64_t n)
{
    GRID_STRIDE(i, n) store(y, i, load(a, i) + load(b, i));
}

/* y += b[channel] + res, W adjacent values (channels) per step */
template <int W, typename S>
__global__ void bias_residual_kernel(S *y, const S *b, const S *res, int64_t n, int64_t channels)
{
    for (int64_t i = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) * W; i < n;
         i += (int64_t)gridDim.x * blockDim.x * W) {
        float v[W], r[W];
        load_run<W>(y, i, v);
        if (b) {
            int64_t c = i % channels;
            for (int k = 0; k < W; k++)
                v[k] += load(b, c + k);
        }
        if (res) {
            load_run<W>(res, i, r);
            for (int k = 0; k < W; k++)
                v[k] += r[k];
        }
        store_run<W>(y, i, v);
    }
}

/* The data-movement kernels copy elements of type T: uint16_t, or uint4 (8
 * elements) where the channel counts are multiples of 8, c then counting
 * runs of 8 channels. */

/* y (batch, 2h, 2w, c) = x (batch, h, w, c) repeated 2x2 */
template <typename T>
__global__ void upsample_kernel(const T *x, T *y, int64_t batch, int64_t h, int64_t w, int64_t c)
{
    int64_t row2 = 2 * w * c, image2 = 2 * h * row2;
    GRID_STRIDE(i, batch * image2)
    {
        int64_t n = i / image2, r = i % image2;
        int64_t oy = r / row2, ox = r % row2 / c, ch = r % c;
        y[i] = x[((n * h + oy / 2) * w + ox / 2) * c + ch];
    }
}

/* y (pixels, ca + cb) = each pixel's a (pixels, ca) channels, then its b (pixels, cb) */
template <typename T>
__global__ void concat_kernel(const T *a, const T *b, T *y, int64_t pixels, int64_t ca, int64_t cb)
{
    int64_t ct = ca + cb;
    GRID_STRIDE(i, pixels * ct)
    {
        int64_t p = i / ct, ch = i % ct;
        y[i] = ch < ca ? a[p * ca + ch] : b[p * cb + ch - ca];
    }
}

/* xp (batch, hp, wp, c): x (batch, h, w, c) read nearest-upsampled by
 * 2^up_shift and placed at (top, left), zeros around */
template <typename T>
__global__ void conv_input_kernel(const T *x, T *xp, int64_t batch, int64_t h, int64_t w,
                                  int64_t c, int up_shift, int64_t top, int64_t left, int64_t hp,
                                  int64_t wp)
{
    int64_t hi = h << up_shift, wi = w << up_shift, image = hp * wp * c;
    GRID_STRIDE(i, batch * image)
    {
        int64_t n = i / image, r = i % image;
        int64_t iy = r / (wp * c) - top, ix = r % (wp * c) / c - left, ch = r % c;
        int inside = iy >= 0 && iy < hi && ix >= 0 && ix < wi;
        xp[i] = inside ? x[((n * h + (iy >> up_shift)) * w + (ix >> up_shift)) * c + ch]
                       : T();   /* zero */
    }
}

/* cols (batch * ho * wo, kh * kw * c): row (n, oy, ox) holds the kh x kw
 * patch of x (batch, h, w, c) at (oy * stride_h - pad_h, ox * stride_w -
 * pad_w), channels fastest (the order of KRSC filters), zeros outside */
template <typename T>
__global__ void im2col_kernel(const T *x, T *cols, int64_t batch, int64_t h, int64_t w, int64_t c,
                              int kh, int kw, int pad_h, int pad_w, int stride_h, int stride_w,
                              int64_t ho, int64_t wo)
{
    int64_t row_len = kh * kw * c;
    GRID_STRIDE(i, batch * ho * wo * row_len)
    {
        int64_t row = i / row_len, k = i % row_len;
        int64_t n = row / (ho * wo), oy = row % (ho * wo) / wo, ox = row % wo;
        int64_t ky = k / (kw * c), kx = k % (kw * c) / c, ch = k % c;
        int64_t iy = oy * stride_h - pad_h + ky, ix = ox * stride_w - pad_w + kx;
        int inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
        cols[i] = inside ? x[((n * h + iy) * w + ix) * c + ch] : T();   /* zero */
    }
}

extern "C" {

void cuda_run_activation(cuda_queue queue, const void *x, void *y, int64_t n, int act)
{
    with_storage(queue, [&](auto element) {
        using S = decltype(element);
        LS_LAUNCH(blocks_for(n), THREADS, 0, queue.stream, activation_kernel<S>)(
            elements<S>(x), elements<S>(y), n, act);
    });
}

void cuda_run_geglu(cuda_queue queue, const void *x, void *y, int64_t rows, int64_t f)
{
    with_storage(queue, [&](auto element) {
        using S = decltype(element);
        LS_LAUNCH(blocks_for(rows * f), THREADS, 0, queue.stream, geglu_kernel<S>)(
            elements<S>(x), elements<S>(y), rows, f);
    });
}

void cuda_run_add(cuda_queue queue, const void *a, const void *b, void *y, int64_t n)
{
    with_storage(queue, [&](auto element) {
        using S = decltype(element);
        LS_LAUNCH(blocks_for(n), THREADS, 0, queue.stream, add_kernel<S>)(
            elements<S>(a), elements<S>(b), elements<S>(y), n);
    });
}

void cuda_run_bias_residual(cuda_queue queue, void *y, const void *b, const void *residual,
                            int64_t n, int64_t channels)
{
    with_storage(queue, [&](auto element) {
        using S = decltype(element);
        if (vector_width(channels, y, residual, NULL) == 8)
            LS_LAUNCH(blocks_for(n / 8), THREADS, 0, queue.stream, bias_residual_kernel<8, S>)(
                elements<S>(y), elements<S>(b), elements<S>(residual), n, channels);
        else
            LS_LAUNCH(blocks_for(n), THREADS, 0, queue.stream, bias_residual_kernel<1, S>)(
                elements<S>(y), elements<S>(b), elements<S>(residual), n, channels);
    });
}

void cuda_run_upsample2x(cudaStream_t s, const void *x, void *y, int64_t batch, int64_t h,
                         int64_t w, int64_t c)
{
    if (vector_width(c, x, y, NULL) == 8) {
        c /= 8;
        LS_LAUNCH(blocks_for(batch * 4 * h * w * c), THREADS, 0, s, upsample_kernel<uint4>)(
            elements<uint4>(x), elements<uint4>(y), batch, h, w, c);
    } else {
        LS_LAUNCH(blocks_for(batch * 4 * h * w * c), THREADS, 0, s, upsample_kernel<uint16_t>)(
            elements<uint16_t>(x), elements<uint16_t>(y), batch, h, w, c);
    }
}

void cuda_run_concat(cudaStream_t s, const void *a, const void *b, void *y, int64_t pixels,
                     int64_t ca, int64_t cb)
{
    if (vector_width(ca, a, b, y) == 8 && cb % 8 == 0) {
        ca /= 8, cb /= 8;
        LS_LAUNCH(blocks_for(pixels * (ca + cb)), THREADS, 0, s, concat_kernel<uint4>)(
            elements<uint4>(a), elements<uint4>(b), elements<uint4>(y), pixels, ca, cb);
    } else {
        LS_LAUNCH(blocks_for(pixels * (ca + cb)), THREADS, 0, s, concat_kernel<uint16_t>)(
            elements<uint16_t>(a), elements<uint16_t>(b), elements<uint16_t>(y), pixels, ca,
            cb);
    }
}

void cuda_run_conv_input(cudaStream_t s, const void *x, void *xp, int64_t batch, int64_t h,
                         int64_t w, int64_t c, int up_shift, int64_t top, int64_t left,
                         int64_t hp, int64_t wp)
{
    if (vector_width(c, x, xp, NULL) == 8) {
        c /= 8;
        LS_LAUNCH(blocks_for(batch * hp * wp * c), THREADS, 0, s, conv_input_kernel<uint4>)(
            elements<uint4>(x), elements<uint4>(xp), batch, h, w, c, up_shift, top, left, hp,
            wp);
    } else {
        LS_LAUNCH(blocks_for(batch * hp * wp * c), THREADS, 0, s, conv_input_kernel<uint16_t>)(
            elements<uint16_t>(x), elements<uint16_t>(xp), batch, h, w, c, up_shift, top, left,
            hp, wp);
    }
}

void cuda_run_im2col(cudaStream_t s, const void *x, void *cols, int64_t batch, int64_t h, int64_t w,
                     int64_t c, int kh, int kw, int pad_h, int pad_w, int stride_h, int stride_w,
                     int64_t ho, int64_t wo)
{
    int64_t n = batch * ho * wo * kh * kw * c;
    if (vector_width(c, x, cols, NULL) == 8) {
        c /= 8;
        LS_LAUNCH(blocks_for(n / 8), THREADS, 0, s, im2col_kernel<uint4>)(
            elements<uint4>(x), elements<uint4>(cols), batch, h, w, c, kh, kw, pad_h, pad_w, stride_h,
            stride_w, ho, wo);
    } else {
        LS_LAUNCH(blocks_for(n), THREADS, 0, s, im2col_kernel<uint16_t>)(
            elements<uint16_t>(x), elements<uint16_t>(cols), batch, h, w, c, kh, kw, pad_h, pad_w,
            stride_h, stride_w, ho, wo);
    }
}

}
