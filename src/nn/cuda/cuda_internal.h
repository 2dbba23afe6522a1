/*
 * cuda_internal.h - what the CUDA backend's files share: the per-context
 * state, error checks and the operators (C files; the kernels are in
 * cuda_kernels.h).
 *
 * Precision: tensors are fp32 at the interface and in memory. GEMMs and
 * convolutions run on tensor cores in TF32 (10-bit mantissa inputs, fp32
 * accumulation); norms, softmax and pointwise kernels compute in fp32.
 *
 * fp16 storage, the next step, switches at the CUDA_STORAGE_* and
 * CUDA_GEMM_COMPUTE definitions below: it needs the weights converted to
 * half once at placement (a conversion kernel; the tensor's data pointer
 * then points at halves), activations allocated at 2 bytes per element (the
 * arena sizes in floats today), every kernel here templated on its load and
 * store type while still accumulating in fp32 (norm statistics, softmax,
 * GELU), cuDNN descriptors of CUDNN_DATA_HALF with a CUDNN_DATA_FLOAT
 * convolution (compute) type, cuBLAS A/B/C of CUDA_R_16F with
 * CUBLAS_COMPUTE_32F, and upload/download converting at the boundary, where
 * the host keeps fp32. The operator table stays as it is.
 */
#ifndef LS_NN_CUDA_INTERNAL_H
#define LS_NN_CUDA_INTERNAL_H

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "nn/cuda/cuda_kernels.h"
#include "nn/nn.h"

#define CUDA_STORAGE_BLAS CUDA_R_32F
#define CUDA_STORAGE_DNN CUDNN_DATA_FLOAT
#define CUDA_GEMM_COMPUTE CUBLAS_COMPUTE_32F_FAST_TF32

/* Convolution algorithm chosen once per geometry and context. */
typedef struct cuda_conv_plan {
    int key[13];                     /* n c h w o kh kw pad_h pad_w stride_h stride_w ho wo */
    cudnnConvolutionFwdAlgo_t algo;
    size_t workspace;
} cuda_conv_plan;

#define CUDA_MAX_PLANS 256

/* cuBLAS's workspace per context: NVIDIA's advice for Hopper, and enough for
 * graph capture (cuBLAS must not allocate while a stream is captured). */
#define CUDA_BLAS_WORKSPACE ((size_t)32 << 20)

typedef struct cuda_ctx {
    cudaStream_t stream;
    void *blas_workspace;
    cublasHandle_t blas;
    cudnnHandle_t dnn;
    cudnnTensorDescriptor_t x_desc, y_desc;
    cudnnFilterDescriptor_t w_desc;
    cudnnConvolutionDescriptor_t conv_desc;
    cuda_conv_plan plans[CUDA_MAX_PLANS];
    int n_plans;
} cuda_ctx;

/* The context's state, with this thread's current device set to the
 * backend's GPU (library calls and launches act on the current device). */
cuda_ctx *cuda_enter(nn_ctx *c);

/* Abort with the library's message when a call fails: inside an operator a
 * failure is a programming error or a lost device, never outside input. */
void cuda_check(cudaError_t e, const char *what);
void cuda_check_blas(cublasStatus_t s, const char *what);
void cuda_check_dnn(cudnnStatus_t s, const char *what);
#define CUDA_OK(call) cuda_check((call), #call)
#define BLAS_OK(call) cuda_check_blas((call), #call)
#define DNN_OK(call) cuda_check_dnn((call), #call)

/* Operators (backend.h semantics). */
void cuda_linear(nn_ctx *c, const nn_tensor *x, const nn_tensor *w, const nn_tensor *b,
                 const nn_tensor *residual, nn_tensor *y);
void cuda_attention(nn_ctx *c, const nn_tensor *q, const nn_tensor *k, const nn_tensor *v,
                    int heads, nn_tensor *out);
void cuda_conv2d(nn_ctx *c, const nn_tensor *x, const nn_tensor *w, const nn_tensor *b,
                 const nn_conv2d_params *p, const nn_tensor *residual, nn_tensor *y);
void cuda_group_norm(nn_ctx *c, const nn_tensor *x, const nn_tensor *gamma, const nn_tensor *beta,
                     int groups, float eps, nn_act act, nn_tensor *y);
void cuda_layer_norm(nn_ctx *c, const nn_tensor *x, const nn_tensor *gamma, const nn_tensor *beta,
                     float eps, nn_tensor *y);
void cuda_activation(nn_ctx *c, const nn_tensor *x, nn_act act, nn_tensor *y);
void cuda_geglu(nn_ctx *c, const nn_tensor *x, nn_tensor *y);
void cuda_add(nn_ctx *c, const nn_tensor *a, const nn_tensor *b, nn_tensor *y);
void cuda_upsample2x(nn_ctx *c, const nn_tensor *x, nn_tensor *y);
void cuda_concat_channels(nn_ctx *c, const nn_tensor *a, const nn_tensor *b, nn_tensor *y);
void cuda_transpose12(nn_ctx *c, const nn_tensor *x, nn_tensor *y);
void cuda_paste_faces(nn_ctx *c, const nn_tensor *faces, const nn_paste *pastes);

#endif
