/*
 * half.cuh - how the backend's kernels read and write tensors: fp16 in
 * memory, fp32 in registers. Every value is widened on load and rounded to
 * nearest (ties to even) on store. The launchers of cuda_kernels.h take
 * tensors as void pointers and hand them to the kernels through halves().
 * Kernels over channels-last tensors whose channel count is a multiple of
 * 8 move runs of 8 adjacent values (one channel's neighbours) as one 16-byte
 * access (load_run / store_run with W = 8, where vector_width() allows).
 */
#ifndef LS_NN_CUDA_HALF_CUH
#define LS_NN_CUDA_HALF_CUH

#include <cuda_fp16.h>
#include <stdint.h>
#include <string.h>

static __device__ __forceinline__ float load(const __half *p, int64_t i)
{
    return __half2float(p[i]);
}

static __device__ __forceinline__ void store(__half *p, int64_t i, float v)
{
    p[i] = __float2half_rn(v);
}

/* v[0..W) = p[i..i + W); W is 1, or 8 with p + i 16-byte aligned. */
template <int W>
static __device__ __forceinline__ void load_run(const __half *p, int64_t i, float *v)
{
    __half h[W];
    if (W == 8) {
        uint4 raw = *reinterpret_cast<const uint4 *>(p + i);
        memcpy(static_cast<void *>(h), &raw, sizeof h);
    } else {
        for (int k = 0; k < W; k++)
            h[k] = p[i + k];
    }
    for (int k = 0; k < W; k++)
        v[k] = __half2float(h[k]);
}

/* p[i..i + W) = v[0..W) rounded; W as load_run's. */
template <int W>
static __device__ __forceinline__ void store_run(__half *p, int64_t i, const float *v)
{
    __half h[W];
    for (int k = 0; k < W; k++)
        h[k] = __float2half_rn(v[k]);
    if (W == 8) {
        uint4 raw;
        memcpy(&raw, h, sizeof h);
        *reinterpret_cast<uint4 *>(p + i) = raw;
    } else {
        for (int k = 0; k < W; k++)
            p[i + k] = h[k];
    }
}

/* 8 when runs of 8 halves of channels-last tensors with `channels` channels
 * at these addresses (NULL: absent) are 16-byte aligned, else 1. */
static inline int vector_width(int64_t channels, const void *a, const void *b, const void *c)
{
    uintptr_t any = (uintptr_t)a | (uintptr_t)b | (uintptr_t)c;
    return channels % 8 == 0 && any % 16 == 0 ? 8 : 1;
}

/* Runs of 8 halves as 16-byte elements (see vector_width). */
static inline const uint4 *runs(const void *p)
{
    return static_cast<const uint4 *>(p);
}

static inline uint4 *runs(void *p)
{
    return static_cast<uint4 *>(p);
}

static inline const __half *halves(const void *p)
{
    return static_cast<const __half *>(p);
}

static inline __half *halves(void *p)
{
    return static_cast<__half *>(p);
}

#endif
