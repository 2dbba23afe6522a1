/*
 * cuda_internal.h - what the CUDA backend's files share: the per-context
 * state, error checks and the operators (C files; the kernels are in
 * cuda_kernels.h).
 *
 * Precision: tensors, weights included, are 2-byte elements in device
 * memory, IEEE fp16 (the "cuda" backend, as MuseTalk and LiveTalking run
 * PyTorch) or bfloat16 ("cuda-bf16"); the host converts inputs before
 * uploading them and results back to fp32 after downloading them
 * (nn/half.h, nn/bfloat16.h). GEMMs and convolutions run on the tensor
 * cores with 2-byte inputs and fp32 accumulation; norms (their
 * statistics), softmax, activations and the other kernels load elements,
 * compute in fp32 and round once on the store. fp16 has 11 significant bits
 * and overflows beyond 65504, as in PyTorch's fp16 inference; bf16 has 8
 * bits and fp32's range, for weights or inputs whose activations outgrow
 * fp16.
 *
 * Layout: the backend is channels-last (backend.h): spatial tensors are
 * NHWC and convolution weights KRSC (O, kh, kw, C), the layout cuDNN's
 * tensor-core convolutions read natively (NCHW costs them a transpose of
 * the input and the output per convolution). A spatial (N, C, HW) tensor
 * is then also the token rows (N, HW, C) of the attention blocks, with no
 * transpose between them.
 */
#ifndef LS_NN_CUDA_INTERNAL_H
#define LS_NN_CUDA_INTERNAL_H

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "nn/cuda/cuda_kernels.h"
#include "nn/nn.h"

#define CUDA_GEMM_COMPUTE CUBLAS_COMPUTE_32F

/* One way cuDNN can run a convolution geometry (cuda_conv_plans.c). */
typedef struct cuda_conv_choice {
    cudnnConvolutionFwdAlgo_t algo;
    cudnnMathType_t math;            /* the math type cuDNN proposed the algorithm with */
    size_t workspace;
    int gemm;                        /* no cuDNN algorithm runs the geometry: im2col + cuBLAS */
} cuda_conv_choice;

/* A geometry: element type, n c h w o kh kw pad_h pad_w stride_h stride_w ho wo. */
#define CUDA_CONV_KEY_LEN 14
#define CUDA_CONV_CHOICES 8
/* The most workspace a convolution algorithm may take from the arena. */
#define CUDA_CONV_WORKSPACE_MAX ((size_t)512 << 20)

/* cuBLAS's workspace per context: NVIDIA's advice for Hopper, and enough for
 * graph capture (cuBLAS must not allocate while a stream is captured). */
#define CUDA_BLAS_WORKSPACE ((size_t)32 << 20)

typedef struct cuda_ctx {
    cuda_queue queue;                /* the context's stream, the backend's element format */
    cudaDataType_t blas_type;        /* that format for cuBLAS */
    cudnnDataType_t dnn_type;        /* and for cuDNN */
    void *blas_workspace;
    cublasHandle_t blas;
    cudnnHandle_t dnn;
    cudnnTensorDescriptor_t x_desc, y_desc;
    cudnnFilterDescriptor_t w_desc;
    cudnnConvolutionDescriptor_t conv_desc;
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

/* The algorithm for the geometry `key`, set in s's descriptors: the fastest
 * that runs, chosen the first time the process meets the geometry (timed
 * on x and w, output to scratch memory of y_bytes; not while s's stream is
 * captured); a choice with `gemm` set when cuDNN runs none. cuda_conv_refused
 * drops a choice whose forward call cuDNN refused as not supported; choose
 * again after it. Any other failure is no fault of the choice: it stops
 * the program with cuDNN's and CUDA's reasons. */
cuda_conv_choice cuda_conv_choose(cuda_ctx *s, const int key[CUDA_CONV_KEY_LEN], const void *x,
                                  const void *w, size_t y_bytes);
void cuda_conv_refused(const int key[CUDA_CONV_KEY_LEN], cuda_conv_choice refused,
                       cudnnStatus_t why);

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
void cuda_paste_faces(nn_ctx *c, const nn_tensor *faces, const nn_paste *pastes);

#endif
