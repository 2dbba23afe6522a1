/*
 * cuda_backend.h - the CUDA backend: the operator table of nn/backend.h on
 * one NVIDIA GPU (cuBLAS GEMMs, cuDNN convolutions, custom kernels).
 *
 * Only in builds configured with CUDA (LS_HAVE_CUDA); code that picks a
 * device goes through nn/device.h, which works in every build.
 */
#ifndef LS_NN_CUDA_BACKEND_H
#define LS_NN_CUDA_BACKEND_H

#include "nn/backend.h"
#include "util/error.h"

/* The backend of GPU `device` (0 = the first) storing tensors as `storage`
 * (NN_STORAGE_FP16 or NN_STORAGE_BF16). NULL, with the reason, when
 * there is no such device, the driver fails, the GPU is older than compute
 * capability 8.0, or the process already uses another GPU (one per process). */
const nn_backend *nn_backend_cuda(int device, nn_storage storage, ls_error *err);

/* How the process's convolutions chose their cuDNN algorithms so far. */
typedef struct nn_cuda_conv_stats {
    int geometries;   /* convolution geometries met (shape, padding, stride, type) */
    int timed;        /* of them, with cuDNN's proposals timed on the GPU */
    int reordered;    /* of those, where the fastest was not cuDNN's first proposal that ran */
    int refused;      /* proposals that cuDNN then refused to run (dropped) */
    int gemm;         /* geometries cuDNN runs no algorithm for: computed as im2col + GEMM */
} nn_cuda_conv_stats;

nn_cuda_conv_stats nn_cuda_conv_stats_now(void);

#endif
