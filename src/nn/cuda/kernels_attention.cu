/*
 * kernels_attention.cu - fused attention for short key sequences: the
 * scores never leave the chip.
 *
 * One warp per query row, ATT_WARPS rows of one (batch element, head) per
 * block. The block walks the keys in tiles of 32: its threads copy the
 * tile's keys and values of the head into shared memory, widened to fp32,
 * then each lane of a warp scores one key against the warp's query row (the
 * row, scaled by 1/sqrt(d), sits in shared memory too), the warp takes the
 * tile's maximum and the sum of its weights with shuffles, and each lane
 * accumulates the weighted values of its own output columns (lane,
 * lane + 32, ...), with the online softmax of attention_math.h carrying the
 * running maximum and sum from tile to tile. Key rows in shared memory are
 * padded to d + 1 floats, so the 32 lanes reading 32 different keys at the
 * same column hit 32 different banks.
 *
 * q, k, v and out hold 2-byte elements (fp16 or bf16) in memory; everything
 * between is fp32 on the CUDA cores (the scaled query, scores, softmax,
 * accumulators), and each output is rounded once, at the end. For a few dozen keys (cross
 * attention over the audio tokens, the self-attention of the smallest
 * feature maps) this beats two GEMMs and a softmax pass through memory;
 * longer sequences take the cuBLAS path (cuda_gemm.c).
 */
#include <math.h>

#include "nn/cuda/attention_math.h"
#include "nn/cuda/cuda_kernels.h"
#include "nn/cuda/launch.cuh"
#include "nn/cuda/storage.cuh"

#define ATT_WARPS 8
#define ATT_TILE 32
#define ATT_PER_LANE (CUDA_ATTENTION_FUSED_MAX_D / 32)
#define FULL_MASK 0xffffffffu

static __device__ __forceinline__ float warp_max(float v)
{
    for (int o = 16; o > 0; o >>= 1)
        v = fmaxf(v, __shfl_xor_sync(FULL_MASK, v, o));
    return v;
}

static __device__ __forceinline__ float warp_sum(float v)
{
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_xor_sync(FULL_MASK, v, o);
    return v;
}

/* Grid (row blocks, heads, batch); ATT_WARPS * 32 threads. */
template <typename S>
__global__ void attention_fused_kernel(const S *q, const S *k, const S *v, S *out, int64_t lq,
                                       int64_t lk, int64_t ch, int d, float scale)
{
    const int key_stride = d + 1;
    float *keys = dynamic_shared_floats();           /* (ATT_TILE, d + 1) */
    float *values = keys + ATT_TILE * key_stride;    /* (ATT_TILE, d) */
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    float *query = values + ATT_TILE * d + warp * d; /* this warp's row, scaled */

    const int64_t n = blockIdx.z, head = blockIdx.y;
    const int64_t row = (int64_t)blockIdx.x * ATT_WARPS + warp;
    const int active = row < lq;
    const S *kn = k + n * lk * ch + head * d, *vn = v + n * lk * ch + head * d;
    if (active)
        for (int e = lane; e < d; e += 32)
            query[e] = load(q, (n * lq + row) * ch + head * d + e) * scale;

    float acc[ATT_PER_LANE];
    for (int i = 0; i < ATT_PER_LANE; i++)
        acc[i] = 0.0f;
    attn_running run = attn_start();
    for (int64_t j0 = 0; j0 < lk; j0 += ATT_TILE) {
        const int tile = lk - j0 < ATT_TILE ? (int)(lk - j0) : ATT_TILE;
        __syncthreads();   /* the previous tile is used up (and the query rows written) */
        for (int i = threadIdx.x; i < tile * d; i += blockDim.x) {
            int j = i / d, e = i % d;
            keys[j * key_stride + e] = load(kn, (j0 + j) * ch + e);
            values[j * d + e] = load(vn, (j0 + j) * ch + e);
        }
        __syncthreads();
        if (!active)
            continue;
        float score = -INFINITY;
        if (lane < tile) {
            const float *key = keys + lane * key_stride;
            float dot = 0.0f;
            for (int e = 0; e < d; e++)
                dot += query[e] * key[e];
            score = dot;
        }
        float rescale = attn_enter_tile(&run, warp_max(score));
        float weight = lane < tile ? attn_weight(&run, score) : 0.0f;
        attn_add_weights(&run, warp_sum(weight));
        for (int i = 0; i < ATT_PER_LANE; i++)
            acc[i] *= rescale;
        for (int j = 0; j < tile; j++) {
            float w = __shfl_sync(FULL_MASK, weight, j);
            const float *value = values + j * d;
            for (int i = 0; i < ATT_PER_LANE; i++) {
                int e = lane + 32 * i;
                if (e < d)
                    acc[i] += w * value[e];
            }
        }
    }
    if (!active)
        return;
    S *o = out + (n * lq + row) * ch + head * d;
    for (int i = 0; i < ATT_PER_LANE; i++) {
        int e = lane + 32 * i;
        if (e < d)
            store(o, e, attn_finish(&run, acc[i]));
    }
}

extern "C" void cuda_run_attention_fused(cuda_queue queue, const void *q, const void *k,
                                         const void *v, void *out, int64_t batch, int64_t lq,
                                         int64_t lk, int64_t ch, int heads)
{
    int d = (int)(ch / heads);
    size_t shared = (size_t)(ATT_TILE * (d + 1) + ATT_TILE * d + ATT_WARPS * d) * sizeof(float);
    dim3 grid((unsigned)((lq + ATT_WARPS - 1) / ATT_WARPS), (unsigned)heads, (unsigned)batch);
    with_storage(queue, [&](auto element) {
        using S = decltype(element);
        LS_LAUNCH(grid, ATT_WARPS * 32, shared, queue.stream, attention_fused_kernel<S>)(
            elements<S>(q), elements<S>(k), elements<S>(v), elements<S>(out), lq, lk, ch, d,
            1.0f / sqrtf((float)d));
    });
}
