/*
 * half.cuh - how the backend's kernels read and write tensors: fp16 in
 * memory, fp32 in registers. Every value is widened on load and rounded to
 * nearest (ties to even) on store. The launchers of cuda_kernels.h take
 * tensors as void pointers and hand them to the kernels through halves().
 */
#ifndef LS_NN_CUDA_HALF_CUH
#define LS_NN_CUDA_HALF_CUH

#include <cuda_fp16.h>
#include <stdint.h>

static __device__ __forceinline__ float load(const __half *p, int64_t i)
{
    return __half2float(p[i]);
}

static __device__ __forceinline__ void store(__half *p, int64_t i, float v)
{
    p[i] = __float2half_rn(v);
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
