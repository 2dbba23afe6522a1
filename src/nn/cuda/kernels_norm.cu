/*
 * kernels_norm.cu - GroupNorm (+ activation), LayerNorm and row softmax.
 *
 * GroupNorm over channels-last x (batch, spatial, C), in three coalesced
 * passes (a warp always reads adjacent channels of one pixel, or adjacent
 * pixels, never a group's few channels a pixel's row apart). First, every
 * image is cut into chunks of pixels, and each chunk's block reduces each
 * channel over the chunk's pixels to its count, mean and sum of squared
 * deviations (Welford per thread: a thread per channel, or per channel and
 * pixel lane where C is below the block's size, lanes merged by Chan's
 * pairwise formula). Second, a block per (image, group) merges its group's
 * channels over all chunks the same way (no large fp32 sums, so no drift or
 * cancellation at millions of values) and turns the statistics into a
 * scale (gamma * rstd) and shift (beta - mean * scale) per channel. Third, an
 * elementwise pass (8 channels per 16-byte access where C allows) writes
 * y = x * scale + shift with the activation applied on the way out. y may
 * alias x.
 *
 * LayerNorm: one block per row; the mean, then the mean squared deviation
 * from it (two passes over the row, which stays in L1/L2). Softmax: one
 * block per row of fp32 scores; the maximum, the sum of exp(x - max), then
 * the probabilities written in the tensors' format.
 *
 * Tensors (x, y, gamma, beta) hold 2-byte elements of type S (fp16 or
 * bf16); every statistic, the normalization and the activation are computed
 * in fp32 (storage.cuh).
 */
#include "nn/cuda/activation.cuh"
#include "nn/cuda/cuda_kernels.h"
#include "nn/cuda/launch.cuh"
#include "nn/cuda/storage.cuh"

#define THREADS 256
#define WARPS (THREADS / 32)
#define GN_MIN_CHUNK_PIXELS 64
#define GN_MAX_CHUNKS 256
#define MAX_BLOCKS 65535

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

__device__ __forceinline__ void welford_add(moments *m, float v)
{
    m->n += 1.0f;
    float delta = v - m->mean;
    m->mean += delta / m->n;
    m->m2 += delta * (v - m->mean);
}

/* grid (chunks, batch): partial[(n * chunks + chunk) * channels + c] = the
 * moments of channel c over the chunk's pixels of image n. */
template <typename S>
__global__ void gn_channel_moments_kernel(const S *x, moments *partial, int64_t spatial,
                                          int channels, int64_t chunk_pixels)
{
    __shared__ moments lane_part[THREADS];
    int t = (int)threadIdx.x;
    int64_t n = blockIdx.y, p0 = (int64_t)blockIdx.x * chunk_pixels;
    int64_t p1 = p0 + chunk_pixels < spatial ? p0 + chunk_pixels : spatial;
    const S *img = x + n * spatial * channels;
    moments *out = partial + (n * gridDim.x + blockIdx.x) * channels;
    if (channels >= THREADS) {
        /* a thread per channel, each reading its channel of every pixel */
        for (int c = t; c < channels; c += THREADS) {
            moments m = { 0.0f, 0.0f, 0.0f };
            for (int64_t p = p0; p < p1; p++)
                welford_add(&m, load(img, p * channels + c));
            out[c] = m;
        }
        return;
    }
    /* lanes of `channels` threads, lane l reading pixels p0 + l, p0 + l + lanes, ... */
    int lanes = THREADS / channels, c = t % channels, lane = t / channels;
    moments m = { 0.0f, 0.0f, 0.0f };
    if (lane < lanes)
        for (int64_t p = p0 + lane; p < p1; p += lanes)
            welford_add(&m, load(img, p * channels + c));
    lane_part[t] = m;
    __syncthreads();
    if (t < channels) {
        for (int l = 1; l < lanes; l++)
            m = merge(m, lane_part[l * channels + t]);
        out[t] = m;
    }
}

/* grid (groups, batch): scale_shift[(n * channels + c) * 2 + {0, 1}] of the
 * group's channels from their moments over all chunks. */
template <typename S>
__global__ void gn_group_stats_kernel(const moments *partial, int chunks, int channels,
                                      int groups, const S *gamma, const S *beta, float eps,
                                      float *scale_shift)
{
    __shared__ float stats[2];
    int64_t n = blockIdx.y;
    int per_group = channels / groups, first = blockIdx.x * per_group;
    moments m = { 0.0f, 0.0f, 0.0f };
    for (int i = threadIdx.x; i < chunks * per_group; i += THREADS) {
        int chunk = i / per_group, j = i - chunk * per_group;
        m = merge(m, partial[(n * chunks + chunk) * channels + first + j]);
    }
    m = block_merge(m);
    if (threadIdx.x == 0) {
        stats[0] = m.mean;
        stats[1] = rsqrtf(m.m2 / m.n + eps);
    }
    __syncthreads();
    for (int j = threadIdx.x; j < per_group; j += THREADS) {
        int c = first + j;
        float scale = load(gamma, c) * stats[1];
        scale_shift[(n * channels + c) * 2] = scale;
        scale_shift[(n * channels + c) * 2 + 1] = load(beta, c) - stats[0] * scale;
    }
}

/* grid (blocks, batch): y = act(x * scale + shift) over image blockIdx.y,
 * W adjacent values (channels) per step */
template <int W, typename S>
__global__ void gn_apply_kernel(const S *x, S *y, const float *scale_shift, int64_t image,
                                int channels, int act)
{
    int64_t n = blockIdx.y;
    const S *src = x + n * image;
    S *dst = y + n * image;
    const float *ss = scale_shift + n * channels * 2;
    for (int64_t i = ((int64_t)blockIdx.x * THREADS + threadIdx.x) * W; i < image;
         i += (int64_t)gridDim.x * THREADS * W) {
        int c = (int)(i % channels);
        float v[W];
        load_run<W>(src, i, v);
        for (int k = 0; k < W; k++)
            v[k] = apply_act(v[k] * ss[2 * (c + k)] + ss[2 * (c + k) + 1], act);
        store_run<W>(dst, i, v);
    }
}

/* --- LayerNorm and softmax --------------------------------------------------- */

template <typename S>
__global__ void layer_norm_kernel(const S *x, S *y, const S *gamma, const S *beta, int64_t d,
                                  float eps)
{
    const S *src = x + (int64_t)blockIdx.x * d;
    S *dst = y + (int64_t)blockIdx.x * d;
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

template <typename S>
__global__ void softmax_kernel(const float *scores, S *probs, int64_t n)
{
    const float *row = scores + (int64_t)blockIdx.x * n;
    S *out = probs + (int64_t)blockIdx.x * n;
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

static int64_t gn_chunks(int64_t spatial)
{
    int64_t chunks = (spatial + GN_MIN_CHUNK_PIXELS - 1) / GN_MIN_CHUNK_PIXELS;
    return chunks < GN_MAX_CHUNKS ? chunks : GN_MAX_CHUNKS;
}

static const int64_t MOMENT_FLOATS = (int64_t)(sizeof(moments) / sizeof(float));

int64_t cuda_group_norm_scratch(int64_t batch, int64_t channels, int64_t spatial)
{
    return batch * channels * (gn_chunks(spatial) * MOMENT_FLOATS + 2);
}

void cuda_run_group_norm(cuda_queue queue, const void *x, void *y, const void *gamma,
                         const void *beta, int64_t batch, int64_t channels, int64_t spatial,
                         int groups, float eps, int act, float *scratch)
{
    int64_t chunks = gn_chunks(spatial), chunk_pixels = (spatial + chunks - 1) / chunks;
    moments *partial = (moments *)scratch;
    float *scale_shift = scratch + batch * channels * chunks * MOMENT_FLOATS;
    int w = vector_width(channels, x, y, NULL);
    int64_t image = spatial * channels, blocks = (image / w + THREADS - 1) / THREADS;
    dim3 apply_grid((unsigned)(blocks < MAX_BLOCKS ? blocks : MAX_BLOCKS), (unsigned)batch);
    cudaStream_t s = queue.stream;
    with_storage(queue, [&](auto element) {
        using S = decltype(element);
        LS_LAUNCH(dim3((unsigned)chunks, (unsigned)batch), THREADS, 0, s,
                  gn_channel_moments_kernel<S>)(elements<S>(x), partial, spatial, (int)channels,
                                                chunk_pixels);
        LS_LAUNCH(dim3((unsigned)groups, (unsigned)batch), THREADS, 0, s,
                  gn_group_stats_kernel<S>)(partial, (int)chunks, (int)channels, groups,
                                            elements<S>(gamma), elements<S>(beta), eps,
                                            scale_shift);
        if (w == 8)
            LS_LAUNCH(apply_grid, THREADS, 0, s, gn_apply_kernel<8, S>)(
                elements<S>(x), elements<S>(y), scale_shift, image, (int)channels, act);
        else
            LS_LAUNCH(apply_grid, THREADS, 0, s, gn_apply_kernel<1, S>)(
                elements<S>(x), elements<S>(y), scale_shift, image, (int)channels, act);
    });
}

void cuda_run_layer_norm(cuda_queue queue, const void *x, void *y, const void *gamma,
                         const void *beta, int64_t rows, int64_t d, float eps)
{
    with_storage(queue, [&](auto element) {
        using S = decltype(element);
        LS_LAUNCH((unsigned)rows, THREADS, 0, queue.stream, layer_norm_kernel<S>)(
            elements<S>(x), elements<S>(y), elements<S>(gamma), elements<S>(beta), d, eps);
    });
}

void cuda_run_softmax_rows(cuda_queue queue, const float *scores, void *probs, int64_t rows,
                           int64_t n)
{
    with_storage(queue, [&](auto element) {
        using S = decltype(element);
        LS_LAUNCH((unsigned)rows, THREADS, 0, queue.stream, softmax_kernel<S>)(
            scores, elements<S>(probs), n);
    });
}

}
