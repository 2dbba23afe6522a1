/*
 * storage.cuh - how the backend's kernels read and write tensors: 2-byte
 * elements in memory (IEEE fp16 as __half, or bfloat16 as __nv_bfloat16),
 * fp32 in registers. Every value is widened on load and rounded to nearest
 * (ties to even) on store. Kernels that compute are templates over the
 * element type S; their launchers take tensors as void pointers and pick S
 * from the queue with with_storage(). Kernels over channels-last tensors
 * whose channel count is a multiple of 8 move runs of 8 adjacent values (one
 * channel's neighbours) as one 16-byte access (load_run / store_run with
 * W = 8, where vector_width() allows); data movement copies elements as
 * uint16_t, or 8 at a time as uint4, whatever their format.
 */
#ifndef LS_NN_CUDA_STORAGE_CUH
#define LS_NN_CUDA_STORAGE_CUH

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>
#include <string.h>

#include "nn/cuda/cuda_kernels.h"

static __device__ __forceinline__ float widen(__half v)
{
    return __half2float(v);
}

static __device__ __forceinline__ float widen(__nv_bfloat16 v)
{
    return __bfloat162float(v);
}

static __device__ __forceinline__ void narrow(float v, __half *out)
{
    *out = __float2half_rn(v);
}

static __device__ __forceinline__ void narrow(float v, __nv_bfloat16 *out)
{
    *out = __float2bfloat16_rn(v);
}

template <typename S>
static __device__ __forceinline__ float load(const S *p, int64_t i)
{
    return widen(p[i]);
}

template <typename S>
static __device__ __forceinline__ void store(S *p, int64_t i, float v)
{
    narrow(v, &p[i]);
}

/* v[0..W) = p[i..i + W); W is 1, or 8 with p + i 16-byte aligned. */
template <int W, typename S>
static __device__ __forceinline__ void load_run(const S *p, int64_t i, float *v)
{
    S e[W];
    if (W == 8) {
        uint4 raw = *reinterpret_cast<const uint4 *>(p + i);
        memcpy(static_cast<void *>(e), &raw, sizeof e);
    } else {
        for (int k = 0; k < W; k++)
            e[k] = p[i + k];
    }
    for (int k = 0; k < W; k++)
        v[k] = widen(e[k]);
}

/* p[i..i + W) = v[0..W) rounded; W as load_run's. */
template <int W, typename S>
static __device__ __forceinline__ void store_run(S *p, int64_t i, const float *v)
{
    S e[W];
    for (int k = 0; k < W; k++)
        narrow(v[k], &e[k]);
    if (W == 8) {
        uint4 raw;
        memcpy(&raw, static_cast<const void *>(e), sizeof e);
        *reinterpret_cast<uint4 *>(p + i) = raw;
    } else {
        for (int k = 0; k < W; k++)
            p[i + k] = e[k];
    }
}

/* 8 when runs of 8 elements of channels-last tensors with `channels`
 * channels at these addresses (NULL: absent) are 16-byte aligned, else 1. */
static inline int vector_width(int64_t channels, const void *a, const void *b, const void *c)
{
    uintptr_t any = (uintptr_t)a | (uintptr_t)b | (uintptr_t)c;
    return channels % 8 == 0 && any % 16 == 0 ? 8 : 1;
}

/* A tensor's memory as elements of type T: S, uint16_t for data movement,
 * or uint4 for runs of 8 (see vector_width). */
template <typename T>
static inline const T *elements(const void *p)
{
    return static_cast<const T *>(p);
}

template <typename T>
static inline T *elements(void *p)
{
    return static_cast<T *>(p);
}

/* Calls launch(S()) with S the queue's element type; the launcher's generic
 * lambda takes S as decltype of its argument. */
template <typename Launch>
static inline void with_storage(cuda_queue queue, Launch launch)
{
    if (queue.bf16)
        launch(__nv_bfloat16());
    else
        launch(__half());
}

#endif
