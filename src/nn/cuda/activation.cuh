/*
 * activation.cuh - the activations of nn_act for the backend's kernels.
 */
#ifndef LS_NN_CUDA_ACTIVATION_CUH
#define LS_NN_CUDA_ACTIVATION_CUH

/* act: 0 none, 1 SiLU x * sigmoid(x), 2 GELU in its exact erf form */
__device__ __forceinline__ float apply_act(float v, int act)
{
    if (act == 1)
        return v / (1.0f + expf(-v));
    if (act == 2)
        return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
    return v;
}

#endif
