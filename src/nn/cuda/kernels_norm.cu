/*
 * kernels_norm.cu - GroupNorm (+ activation), LayerNorm and row softmax.
 *
 * GroupNorm: x is channels-last (batch, spatial, C); a (batch, group) span
 * holds the group's C/G adjacent channels of every pixel, element i of it
 * being pixel i / (C/G), channel i % (C/G) of the group (runs of C/G halves,
 * a pixel's row apart). A span is up to millions of values, too many for
 * one block to read while the
 * rest of the GPU idles. A first kernel cuts every span into chunks of
 * GN_CHUNK values and reduces each chunk, one block per chunk, to its count,
 * mean and sum of squared deviations (Welford per thread, then Chan's
 * pairwise merge across threads: no large fp32 sums, so no drift or
 * cancellation at a million values). The second kernel's blocks each merge
 * their span's chunks the same way and write y = x * scale + shift per
 * channel (scale = gamma * rstd, shift = beta - mean * scale) with the
 * activation applied on the way out. y may alias x.
 *
 * LayerNorm: one block per row; the mean, then the mean squared deviation
 * from it (two passes over the row, which stays in L1/L2). Softmax: one
 * block per row of fp32 scores; the maximum, the sum of exp(x - max), then
 * the probabilities written as halves.
 *
 * Tensors (x, y, gamma, beta) are fp16; every statistic, the normalization
 * and the activation are computed in fp32 (half.cuh).
 */
#include "nn/cuda/activation.cuh"
#include "nn/cuda/cuda_kernels.h"
#include "nn/cuda/half.cuh"
#include "nn/cuda/launch.cuh"

#define THREADS 256
#define WARPS (THREADS / 32)
#define GN_CHUNK 8192
#define GN_APPLY_SPAN 4096

/* --- reductions -------------------------------------------------------------- */

typedef struct moments {
    float n, mean, m2;   /* count, mean, sum of squared deviations from the mean */
} moments;

__device__ __forceinline__ moments merge(moments a, moments b)
{
    float total = a.n + b.n;
    if (total == 0.0f)
        return a;
    float delta = b.mean - a.mean, fb = b.n / total;
    moments r = { total, a.mean + delta * fb, a.m2 + b.m2 + delta * delta * a.n * fb };
    return r;
}

__device__ moments warp_merge(moments m)
{
    for (int off = 16; off > 0; off >>= 1) {
        moments o = { __shfl_down_sync(0xffffffffu, m.n, off),
                      __shfl_down_sync(0xffffffffu, m.mean, off),
                      __shfl_down_sync(0xffffffffu, m.m2, off) };
        m = merge(m, o);
    }
    return m;
}

/* The block's merged moments, valid in thread 0. */
__device__ moments block_merge(moments m)
{
    __shared__ moments part[WARPS];
    m = warp_merge(m);
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    if (lane == 0)
        part[warp] = m;
    __syncthreads();
    if (warp == 0) {
        moments z = { 0.0f, 0.0f, 0.0f };
        m = warp_merge(lane < WARPS ? part[lane] : z);
    }
    __syncthreads();
    return m;
}

/* Sum (op 0) or maximum (op 1) over the block, returned to every thread. */
__device__ float block_reduce(float v, int op)
{
    __shared__ float part[WARPS];
    __shared__ float result;
    for (int off = 16; off > 0; off >>= 1) {
        float o = __shfl_down_sync(0xffffffffu, v, off);
        v = op ? fmaxf(v, o) : v + o;
    }
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    if (lane == 0)
        part[warp] = v;
    __syncthreads();
    if (threadIdx.x == 0) {
        float r = part[0];
        for (int i = 1; i < WARPS; i++)
            r = op ? fmaxf(r, part[i]) : r + part[i];
        result = r;
    }
    __syncthreads();
    float r = result;
    __syncthreads();   /* the shared slots are reused by the next call */
    return r;
}

/* --- GroupNorm --------------------------------------------------------------- */

/* Offset of element i of span `span` (see the top) from x's start. */
__device__ __forceinline__ int64_t span_offset(int64_t span, int64_t i, int64_t spatial,
                                               int per_group, int groups)
{
    int64_t n = span / groups, g = span % groups;
    int64_t pixel = i / per_group, j = i - pixel * per_group;
    return (n * spatial + pixel) * per_group * groups + g * per_group + j;
}

/* grid (chunks, batch * groups): partial[(span * chunks + chunk)] moments */
__global__ void gn_partial_kernel(const __half *x, moments *partial, int64_t spatial,
                                  int per_group, int groups)
{
    int64_t span = blockIdx.y, chunks = gridDim.x, span_size = spatial * per_group;
    int64_t begin = (int64_t)blockIdx.x * GN_CHUNK;
    int64_t end = begin + GN_CHUNK < span_size ? begin + GN_CHUNK : span_size;
    moments m = { 0.0f, 0.0f, 0.0f };
    for (int64_t i = begin + threadIdx.x; i < end; i += THREADS) {
        float v = load(x, span_offset(span, i, spatial, per_group, groups));
        m.n += 1.0f;
        float delta = v - m.mean;
        m.mean += delta / m.n;
        m.m2 += delta * (v - m.mean);
    }
    m = block_merge(m);
    if (threadIdx.x == 0)
        partial[span * chunks + blockIdx.x] = m;
}

/* grid (ceil(span_size / GN_APPLY_SPAN), batch * groups) */
__global__ void gn_apply_kernel(const __half *x, __half *y, const moments *partial, int chunks,
                                const __half *gamma, const __half *beta, int64_t spatial,
                                int per_group, int groups, float eps, int act)
{
    __shared__ float stats[2];
    int64_t span = blockIdx.y, span_size = spatial * per_group;
    if (threadIdx.x < 32) {
        moments m = { 0.0f, 0.0f, 0.0f };
        for (int j = threadIdx.x; j < chunks; j += 32)
            m = merge(m, partial[span * chunks + j]);
        m = warp_merge(m);
        if (threadIdx.x == 0) {
            stats[0] = m.mean;
            stats[1] = rsqrtf(m.m2 / m.n + eps);
        }
    }
    __syncthreads();
    float mean = stats[0], rstd = stats[1];
    int64_t first_channel = (span % groups) * per_group;
    int64_t begin = (int64_t)blockIdx.x * GN_APPLY_SPAN;
    int64_t end = begin + GN_APPLY_SPAN < span_size ? begin + GN_APPLY_SPAN : span_size;
    for (int64_t i = begin + threadIdx.x; i < end; i += THREADS) {
        int64_t at = span_offset(span, i, spatial, per_group, groups);
        int64_t ch = first_channel + i % per_group;
        float scale = load(gamma, ch) * rstd, shift = load(beta, ch) - mean * scale;
        store(y, at, apply_act(load(x, at) * scale + shift, act));
    }
}

/* --- LayerNorm and softmax --------------------------------------------------- */

__global__ void layer_norm_kernel(const __half *x, __half *y, const __half *gamma,
                                  const __half *beta, int64_t d, float eps)
{
    const __half *src = x + (int64_t)blockIdx.x * d;
    __half *dst = y + (int64_t)blockIdx.x * d;
    float sum = 0.0f;
    for (int64_t i = threadIdx.x; i < d; i += THREADS)
        sum += load(src, i);
    float mean = block_reduce(sum, 0) / (float)d;
    float sq = 0.0f;
    for (int64_t i = threadIdx.x; i < d; i += THREADS) {
        float dev = load(src, i) - mean;
        sq += dev * dev;
    }
    float rstd = rsqrtf(block_reduce(sq, 0) / (float)d + eps);
    for (int64_t i = threadIdx.x; i < d; i += THREADS)
        store(dst, i, (load(src, i) - mean) * rstd * load(gamma, i) + load(beta, i));
}

__global__ void softmax_kernel(const float *scores, __half *probs, int64_t n)
{
    const float *row = scores + (int64_t)blockIdx.x * n;
    __half *out = probs + (int64_t)blockIdx.x * n;
    float max = -INFINITY;
    for (int64_t i = threadIdx.x; i < n; i += THREADS)
        max = fmaxf(max, row[i]);
    max = block_reduce(max, 1);
    float sum = 0.0f;
    for (int64_t i = threadIdx.x; i < n; i += THREADS)
        sum += expf(row[i] - max);
    float inv = 1.0f / block_reduce(sum, 0);
    for (int64_t i = threadIdx.x; i < n; i += THREADS)
        store(out, i, expf(row[i] - max) * inv);
}

extern "C" {

static int64_t gn_chunks(int64_t span_size)
{
    return (span_size + GN_CHUNK - 1) / GN_CHUNK;
}

int64_t cuda_group_norm_scratch(int64_t batch, int groups, int64_t group_size)
{
    return batch * groups * gn_chunks(group_size) * (int64_t)(sizeof(moments) / sizeof(float));
}

void cuda_run_group_norm(cudaStream_t s, const void *x, void *y, const void *gamma,
                         const void *beta, int64_t batch, int64_t channels, int64_t spatial,
                         int groups, float eps, int act, float *scratch)
{
    int per_group = (int)(channels / groups);
    int64_t span_size = per_group * spatial, chunks = gn_chunks(span_size);
    moments *partial = (moments *)scratch;
    dim3 partial_grid((unsigned)chunks, (unsigned)(batch * groups));
    LS_LAUNCH(gn_partial_kernel, partial_grid, THREADS, 0, s)(halves(x), partial, spatial,
                                                              per_group, groups);
    dim3 apply_grid((unsigned)((span_size + GN_APPLY_SPAN - 1) / GN_APPLY_SPAN),
                    (unsigned)(batch * groups));
    LS_LAUNCH(gn_apply_kernel, apply_grid, THREADS, 0, s)(halves(x), halves(y), partial,
                                                          (int)chunks, halves(gamma),
                                                          halves(beta), spatial, per_group,
                                                          groups, eps, act);
}

void cuda_run_layer_norm(cudaStream_t s, const void *x, void *y, const void *gamma,
                         const void *beta, int64_t rows, int64_t d, float eps)
{
    LS_LAUNCH(layer_norm_kernel, (unsigned)rows, THREADS, 0, s)(halves(x), halves(y),
                                                                halves(gamma), halves(beta), d,
                                                                eps);
}

void cuda_run_softmax_rows(cudaStream_t s, const float *scores, void *probs, int64_t rows,
                           int64_t n)
{
    LS_LAUNCH(softmax_kernel, (unsigned)rows, THREADS, 0, s)(scores, halves(probs), n);
}

}
