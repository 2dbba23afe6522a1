/*
 * cuda_conv.c - conv2d on cuDNN (NHWC fp16 or bf16 with KRSC filters, tensor
 * cores, fp32 accumulation).
 *
 * cuDNN pads symmetrically and cannot read its input upsampled, so a
 * convolution with upsample2x or with unequal padding first builds its input
 * in the arena: x read nearest-upsampled, with the padding beyond the
 * smaller side of each axis written as zeros (diffusers' (0,1,0,1) pad of a
 * stride-2 downsampler, the x2 upsampler's input); cuDNN then pads the rest.
 *
 * The algorithm for a geometry is the fastest of cuDNN's proposals, timed
 * once per process (cuda_conv_plans.c); one that cuDNN refuses to run
 * (not supported) is dropped and the next tried. Its workspace comes from
 * the arena. x, w and y are fp16 or bf16; the convolution's compute type is
 * fp32 (cuDNN's pseudo-half and pseudo-bf16 configurations: fp32
 * accumulation, float alpha and beta). Tensor cores are allowed; an
 * algorithm runs with the math type cuDNN proposed it with.
 *
 * A geometry cuDNN runs no algorithm for (its tensor-core kernels may want
 * channel counts in multiples of 8, and MuseTalk's networks have 3-, 4- and
 * 8-channel ends) is computed as GEMMs instead: for a chunk of images at a
 * time, the kh x kw patch of every output pixel becomes a row (im2col, in
 * the KRSC filters' order), and cuBLAS multiplies the rows by the filters,
 * as a linear layer does (cuda_gemm.c).
 *
 * Epilogue: the bias and a residual that is another buffer are added by one
 * kernel pass over the result; a residual that is y itself is
 * accumulated by cuDNN or cuBLAS (beta 1).
 */
#include "nn/cuda/cuda_internal.h"

#define GEMM_PATCHES_BYTES ((int64_t)64 << 20)   /* the patch rows of one chunk of images */

/* y = conv(x, w) with symmetric padding as GEMMs (no cuDNN algorithm runs
 * the geometry); beta 1 accumulates into y. */
static void conv_as_gemm(nn_ctx *c, cuda_ctx *s, const void *x, const int64_t xs[4], const nn_tensor *w,
                         int pad_h, int pad_w, int stride_h, int stride_w, float beta, nn_tensor *y)
{
    int64_t n = xs[0], ch = xs[1], h = xs[2], wd = xs[3];
    int64_t o = w->shape[0], kh = w->shape[2], kw = w->shape[3], ho = y->shape[2], wo = y->shape[3];
    int64_t k = kh * kw * ch, image_rows = ho * wo;
    int64_t images = GEMM_PATCHES_BYTES / (image_rows * k * 2);
    images = images < 1 ? 1 : images > n ? n : images;
    float one = 1.0f;
    nn_arena_mark mark = nn_arena_get_mark(c->arena);
    void *cols = nn_arena_alloc(c->arena, (images * image_rows * k + 1) / 2);   /* 2-byte */
    for (int64_t i0 = 0; i0 < n; i0 += images) {
        int64_t count = n - i0 < images ? n - i0 : images, rows = count * image_rows;
        cuda_run_im2col(s->queue.stream, nn_at(c->be, (float *)x, i0 * h * wd * ch), cols, count, h, wd, ch, (int)kh,
                        (int)kw, pad_h, pad_w, stride_h, stride_w, ho, wo);
        /* y rows (rows x o) = cols (rows x k) w^T: column-major y^T = w cols^T */
        BLAS_OK(cublasGemmEx(s->blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)o, (int)rows, (int)k, &one, w->data,
                             s->blas_type, (int)k, cols, s->blas_type, (int)k, &beta,
                             nn_at(c->be, y->data, i0 * image_rows * o), s->blas_type, (int)o,
                             CUDA_GEMM_COMPUTE, CUBLAS_GEMM_DEFAULT));
    }
    nn_arena_release(c->arena, mark);
}

/* y = conv(x, w) with symmetric padding (pad_h, pad_w), then the epilogue. */
static void run_conv(nn_ctx *c, cuda_ctx *s, const void *x, const int64_t xs[4],
                     const nn_tensor *w, const nn_tensor *b, int pad_h, int pad_w, int stride_h,
                     int stride_w, const nn_tensor *residual, nn_tensor *y)
{
    int n = (int)xs[0], ch = (int)xs[1], h = (int)xs[2], wd = (int)xs[3];
    int o = (int)w->shape[0], kh = (int)w->shape[2], kw = (int)w->shape[3];
    int ho = (int)y->shape[2], wo = (int)y->shape[3];
    DNN_OK(cudnnSetTensor4dDescriptor(s->x_desc, CUDNN_TENSOR_NHWC, s->dnn_type, n, ch, h, wd));
    DNN_OK(cudnnSetFilter4dDescriptor(s->w_desc, s->dnn_type, CUDNN_TENSOR_NHWC, o, ch, kh, kw));
    DNN_OK(cudnnSetConvolution2dDescriptor(s->conv_desc, pad_h, pad_w, stride_h, stride_w, 1, 1,
                                           CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    DNN_OK(cudnnSetTensor4dDescriptor(s->y_desc, CUDNN_TENSOR_NHWC, s->dnn_type, n, o, ho, wo));
    const int key[CUDA_CONV_KEY_LEN] = { s->dnn_type, n,     ch,    h,        wd,       o,  kh,
                                          kw,          pad_h, pad_w, stride_h, stride_w, ho, wo };
    int accumulate = residual && residual->data == y->data;
    float one = 1.0f, beta = accumulate ? 1.0f : 0.0f;
    size_t y_bytes = (size_t)n * o * ho * wo * 2;
    for (;;) {
        cuda_conv_choice choice = cuda_conv_choose(s, key, x, w->data, y_bytes);
        if (choice.gemm) {
            conv_as_gemm(c, s, x, xs, w, pad_h, pad_w, stride_h, stride_w, beta, y);
            break;
        }
        DNN_OK(cudnnSetConvolutionMathType(s->conv_desc, choice.math));
        nn_arena_mark mark = nn_arena_get_mark(c->arena);
        void *workspace = choice.workspace
                              ? nn_arena_alloc(c->arena, (int64_t)((choice.workspace + 3) / 4))
                              : NULL;
        cudnnStatus_t status = cudnnConvolutionForward(
            s->dnn, &one, s->x_desc, x, s->w_desc, w->data, s->conv_desc, choice.algo, workspace,
            choice.workspace, &beta, s->y_desc, y->data);
        nn_arena_release(c->arena, mark);
        if (status == CUDNN_STATUS_SUCCESS)
            break;
        cuda_conv_refused(key, choice, status);
    }
    const void *res = residual && !accumulate ? residual->data : NULL;
    if (b || res)
        cuda_run_bias_residual(s->queue, y->data, b ? b->data : NULL, res, nn_numel(y), o);
}

static int min_int(int a, int b)
{
    return a < b ? a : b;
}

void cuda_conv2d(nn_ctx *c, const nn_tensor *x, const nn_tensor *w, const nn_tensor *b,
                 const nn_conv2d_params *p, const nn_tensor *residual, nn_tensor *y)
{
    cuda_ctx *s = cuda_enter(c);
    int pad_h = min_int(p->pad_top, p->pad_bottom), pad_w = min_int(p->pad_left, p->pad_right);
    int direct = !p->upsample2x && p->pad_top == p->pad_bottom && p->pad_left == p->pad_right;
    if (direct) {
        run_conv(c, s, x->data, x->shape, w, b, pad_h, pad_w, p->stride_h, p->stride_w, residual,
                 y);
        return;
    }
    /* the input as cuDNN must see it: upsampled, with the unequal padding in it */
    int up = p->upsample2x ? 1 : 0;
    int64_t top = p->pad_top - pad_h, left = p->pad_left - pad_w;
    int64_t hp = (x->shape[2] << up) + top + (p->pad_bottom - pad_h);
    int64_t wp = (x->shape[3] << up) + left + (p->pad_right - pad_w);
    int64_t xs[4] = { x->shape[0], x->shape[1], hp, wp };
    nn_arena_mark mark = nn_arena_get_mark(c->arena);
    void *xp = nn_arena_alloc(c->arena, (xs[0] * xs[1] * hp * wp + 1) / 2);   /* 2-byte */
    cuda_run_conv_input(s->queue.stream, x->data, xp, xs[0], x->shape[2], x->shape[3], xs[1], up, top,
                        left, hp, wp);
    run_conv(c, s, xp, xs, w, b, pad_h, pad_w, p->stride_h, p->stride_w, residual, y);
    nn_arena_release(c->arena, mark);
}
