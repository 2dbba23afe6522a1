/*
 * emu_dnn.cpp - the cuDNN calls the backend makes, emulated on the CPU
 * (tests/cuda_emu): handles bound to a stream, 4-d NCHW or NHWC tensor and
 * filter descriptors (KCRS or KRSC filters; x, w and y in one format, as
 * cuDNN's tensor-core algorithms want them), 2-d cross-correlation
 * descriptors, the forward heuristics and
 * the forward convolution, in fp16 or bf16 storage with fp32 computation
 * (cuDNN's pseudo-half and pseudo-bf16 configurations) or in fp32.
 *
 * The heuristics answer as cuDNN may, in an order a caller must not trust:
 * first an algorithm needing more workspace than anyone would give (so a
 * caller must honour each answer's memory), then FFT, which the forward
 * call then refuses (CUDNN_STATUS_NOT_SUPPORTED: cuDNN's heuristics can
 * propose an algorithm that fails to run), then the implicit GEMM without
 * tensor cores, then the precomputed-index GEMM on the tensor cores, with
 * a workspace. The algorithms compute alike, but each models its speed on
 * the device clock (emu_events.cpp): the tensor-core GEMM is the fastest,
 * so a caller that times the proposals with events picks it, and one that
 * takes the first proposal that runs gets the slow one.
 * The forward call checks what cuDNN checks (every descriptor set and
 * consistent, y's shape the convolution's, the workspace as large as the
 * algorithm needs) and that x, w, y and the workspace lie in device memory;
 * it queues the convolution on the handle's stream (im2col and OpenBLAS's
 * sgemm per image, y = alpha * conv + beta * y, y unread with beta 0) after
 * filling the workspace with NaN bytes, as if the algorithm had used it.
 * The version checks answer as this build's cuDNN, or (LS_CUDA_EMU_CUDNN_CNN
 * =missing) as one whose convolution library does not load. With
 * LS_CUDA_EMU_CUDNN_REFUSE=narrow every forward call refuses (a sub-code of
 * NOT_SUPPORTED) channel counts that are not multiples of 8.
 */
#include <cblas.h>
#include <cudnn.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "emu_internal.h"

struct cudnnContext {
    cudaStream_t stream = nullptr;
};

struct cudnnTensorStruct {
    bool set = false;
    cudnnDataType_t type;
    cudnnTensorFormat_t format;
    int n, c, h, w;
};

struct cudnnFilterStruct {
    bool set = false;
    cudnnDataType_t type;
    cudnnTensorFormat_t format;
    int k, c, h, w;
};

struct cudnnConvolutionStruct {
    bool set = false;
    int pad_h, pad_w, stride_h, stride_w, dilation_h, dilation_w;
    cudnnDataType_t compute;
    cudnnMathType_t math = CUDNN_DEFAULT_MATH;
};

namespace {

typedef std::lock_guard<std::recursive_mutex> hold_lock;

const size_t HUGE_WORKSPACE = (size_t)3 << 30;

emu::storage storage_of(cudnnDataType_t t)
{
    return t == CUDNN_DATA_HALF       ? emu::storage::f16
           : t == CUDNN_DATA_BFLOAT16 ? emu::storage::bf16
           : t == CUDNN_DATA_FLOAT    ? emu::storage::f32
                                      : emu::storage::none;
}

size_t element_bytes(cudnnDataType_t t)
{
    return emu::element_bytes(storage_of(t));
}

int out_size(int in, int pad, int k, int stride, int dilation)
{
    return (in + 2 * pad - dilation * (k - 1) - 1) / stride + 1;
}

/* LS_CUDA_EMU_CUDNN_REFUSE=narrow: as a cuDNN whose every algorithm refuses
 * input or output channel counts that are not multiples of 8 (proposed by
 * the heuristics all the same, refused by the forward call). */
bool refuses_narrow()
{
    const char *refuse = getenv("LS_CUDA_EMU_CUDNN_REFUSE");
    return refuse && strcmp(refuse, "narrow") == 0;
}

/* What cuDNN checks before a forward convolution. */
cudnnStatus_t check_geometry(const cudnnTensorStruct *x, const cudnnFilterStruct *w,
                             const cudnnConvolutionStruct *conv, const cudnnTensorStruct *y)
{
    if (!x || !w || !conv || !y || !x->set || !w->set || !conv->set || !y->set)
        return CUDNN_STATUS_BAD_PARAM;
    if (x->c != w->c || y->n != x->n || y->c != w->k ||
        y->h != out_size(x->h, conv->pad_h, w->h, conv->stride_h, conv->dilation_h) ||
        y->w != out_size(x->w, conv->pad_w, w->w, conv->stride_w, conv->dilation_w))
        return CUDNN_STATUS_BAD_PARAM;
    if (x->format != w->format || x->format != y->format)
        return CUDNN_STATUS_NOT_SUPPORTED;
    /* every storage with fp32 computation: cuDNN's pseudo-half, pseudo-bf16 and single */
    if (x->type != w->type || x->type != y->type || conv->compute != CUDNN_DATA_FLOAT)
        return CUDNN_STATUS_NOT_SUPPORTED;
    return CUDNN_STATUS_SUCCESS;
}

/* The workspace the emulated algorithms need: im2col of one image for the
 * precomputed-index GEMM, nothing for the plain GEMM. */
size_t workspace_of(cudnnConvolutionFwdAlgo_t algo, const cudnnFilterStruct *w,
                    const cudnnTensorStruct *y)
{
    if (algo == CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED)
        return HUGE_WORKSPACE;
    if (algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM)
        return (size_t)w->c * w->h * w->w * y->h * y->w * element_bytes(y->type);
    return 0;
}

/* The modelled duration of a convolution, from its multiply-adds at the
 * algorithm's modelled rate: tensor cores (allowed by the math type) 8x
 * faster than the plain implicit GEMM. */
double modelled_ms(cudnnConvolutionFwdAlgo_t algo, cudnnMathType_t math,
                   const cudnnFilterStruct *w, const cudnnTensorStruct *y)
{
    double macs = (double)y->n * y->c * y->h * y->w * w->c * w->h * w->w;
    bool tensor_cores = algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM &&
                        math != CUDNN_DEFAULT_MATH;
    double macs_per_ms = tensor_cores ? 4e11 : 5e10;
    return macs / macs_per_ms;
}

/* Offset of element (n, c, p) (p: the pixel in its plane) of an (n, c,
 * plane) tensor stored in `format`. */
size_t offset_of(cudnnTensorFormat_t format, int channels, size_t plane, size_t n, size_t c,
                 size_t p)
{
    return format == CUDNN_TENSOR_NHWC ? (n * plane + p) * channels + c
                                       : (n * channels + c) * plane + p;
}

/* The (n, c, plane) tensor at p as fp32 values in NCHW order. */
std::vector<float> widen(const void *p, cudnnDataType_t t, cudnnTensorFormat_t format, int n,
                         int channels, size_t plane)
{
    std::vector<float> out((size_t)n * channels * plane);
    for (size_t i = 0; i < out.size(); i++) {
        size_t img = i / (channels * plane), c = i / plane % channels, at = i % plane;
        out[i] = emu::load_element(p, storage_of(t),
                                   (int64_t)offset_of(format, channels, plane, img, c, at));
    }
    return out;
}

void convolve(cudnnTensorStruct x, const void *xd, cudnnFilterStruct w, const void *wd,
              cudnnConvolutionStruct conv, float alpha, float beta, cudnnTensorStruct y,
              void *yd)
{
    size_t plane_in = (size_t)x.h * x.w, plane_out = (size_t)y.h * y.w;
    size_t taps = (size_t)w.c * w.h * w.w;
    std::vector<float> fx = widen(xd, x.type, x.format, x.n, x.c, plane_in);
    std::vector<float> fw = widen(wd, w.type, w.format, w.k, w.c, (size_t)w.h * w.w);
    std::vector<float> col(taps * plane_out), out((size_t)y.c * plane_out);
    for (int n = 0; n < x.n; n++) {
        const float *img = fx.data() + (size_t)n * x.c * plane_in;
        for (int c = 0; c < w.c; c++)
            for (int i = 0; i < w.h; i++)
                for (int j = 0; j < w.w; j++) {
                    float *row = col.data() + (((size_t)c * w.h + i) * w.w + j) * plane_out;
                    for (int oy = 0; oy < y.h; oy++)
                        for (int ox = 0; ox < y.w; ox++) {
                            int iy = oy * conv.stride_h - conv.pad_h + i * conv.dilation_h;
                            int ix = ox * conv.stride_w - conv.pad_w + j * conv.dilation_w;
                            bool in = iy >= 0 && iy < x.h && ix >= 0 && ix < x.w;
                            row[(size_t)oy * y.w + ox] =
                                in ? img[((size_t)c * x.h + iy) * x.w + ix] : 0.0f;
                        }
                }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, y.c, (int)plane_out, (int)taps,
                    alpha, fw.data(), (int)taps, col.data(), (int)plane_out, 0.0f, out.data(),
                    (int)plane_out);
        for (size_t i = 0; i < out.size(); i++) {
            int64_t at = (int64_t)offset_of(y.format, y.c, plane_out, n, i / plane_out,
                                            i % plane_out);
            float v = out[i];
            if (beta != 0.0f)
                v += beta * emu::load_element(yd, storage_of(y.type), at);
            emu::store_element(yd, storage_of(y.type), at, v);
        }
    }
}

} // namespace

extern "C" {

size_t cudnnGetVersion(void)
{
    return CUDNN_VERSION;
}

/* LS_CUDA_EMU_CUDNN_CNN=missing: as a machine whose cuDNN lacks its
 * convolution library (libcudnn_cnn) */
cudnnStatus_t cudnnCnnVersionCheck(void)
{
    const char *cnn = getenv("LS_CUDA_EMU_CUDNN_CNN");
    return cnn && strcmp(cnn, "missing") == 0 ? CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED : CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnCreate(cudnnHandle_t *handle)
{
    *handle = new cudnnContext;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnDestroy(cudnnHandle_t handle)
{
    delete handle;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetStream(cudnnHandle_t handle, cudaStream_t stream)
{
    handle->stream = stream;
    return CUDNN_STATUS_SUCCESS;
}

const char *cudnnGetErrorString(cudnnStatus_t status)
{
    switch (status) {
    case CUDNN_STATUS_SUCCESS:
        return "CUDNN_STATUS_SUCCESS";
    case CUDNN_STATUS_BAD_PARAM:
        return "CUDNN_STATUS_BAD_PARAM";
    case CUDNN_STATUS_NOT_SUPPORTED:
        return "CUDNN_STATUS_NOT_SUPPORTED";
    case CUDNN_STATUS_NOT_SUPPORTED_SHAPE:
        return "CUDNN_STATUS_NOT_SUPPORTED_SHAPE";
    case CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED:
        return "CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED";
    default:
        return "CUDNN_STATUS (unemulated)";
    }
}

cudnnStatus_t cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t *desc)
{
    *desc = new cudnnTensorStruct;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnDestroyTensorDescriptor(cudnnTensorDescriptor_t desc)
{
    delete desc;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t desc, cudnnTensorFormat_t format,
                                         cudnnDataType_t type, int n, int c, int h, int w)
{
    if (n <= 0 || c <= 0 || h <= 0 || w <= 0 || element_bytes(type) == 0)
        return CUDNN_STATUS_BAD_PARAM;
    if (format != CUDNN_TENSOR_NCHW && format != CUDNN_TENSOR_NHWC)
        return CUDNN_STATUS_NOT_SUPPORTED;   /* the emulator has no vectorized formats */
    *desc = { true, type, format, n, c, h, w };
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnCreateFilterDescriptor(cudnnFilterDescriptor_t *desc)
{
    *desc = new cudnnFilterStruct;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnDestroyFilterDescriptor(cudnnFilterDescriptor_t desc)
{
    delete desc;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t desc, cudnnDataType_t type,
                                         cudnnTensorFormat_t format, int k, int c, int h, int w)
{
    if (k <= 0 || c <= 0 || h <= 0 || w <= 0 || element_bytes(type) == 0)
        return CUDNN_STATUS_BAD_PARAM;
    if (format != CUDNN_TENSOR_NCHW && format != CUDNN_TENSOR_NHWC)
        return CUDNN_STATUS_NOT_SUPPORTED;
    *desc = { true, type, format, k, c, h, w };
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnCreateConvolutionDescriptor(cudnnConvolutionDescriptor_t *desc)
{
    *desc = new cudnnConvolutionStruct;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnDestroyConvolutionDescriptor(cudnnConvolutionDescriptor_t desc)
{
    delete desc;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t desc, int pad_h,
                                              int pad_w, int u, int v, int dilation_h,
                                              int dilation_w, cudnnConvolutionMode_t mode,
                                              cudnnDataType_t compute)
{
    if (pad_h < 0 || pad_w < 0 || u <= 0 || v <= 0 || dilation_h <= 0 || dilation_w <= 0)
        return CUDNN_STATUS_BAD_PARAM;
    if (mode != CUDNN_CROSS_CORRELATION)
        return CUDNN_STATUS_NOT_SUPPORTED;   /* the emulator has cross-correlation only */
    cudnnMathType_t math = desc->math;
    *desc = { true, pad_h, pad_w, u, v, dilation_h, dilation_w, compute, math };
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t desc, cudnnMathType_t math)
{
    if (math != CUDNN_DEFAULT_MATH && math != CUDNN_TENSOR_OP_MATH &&
        math != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION && math != CUDNN_FMA_MATH)
        return CUDNN_STATUS_BAD_PARAM;
    desc->math = math;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolutionForwardAlgorithm_v7(
    cudnnHandle_t handle, const cudnnTensorDescriptor_t x, const cudnnFilterDescriptor_t w,
    const cudnnConvolutionDescriptor_t conv, const cudnnTensorDescriptor_t y, const int requested,
    int *returned, cudnnConvolutionFwdAlgoPerf_t *perf)
{
    hold_lock hold(emu::lock());
    cudnnStatus_t s = check_geometry(x, w, conv, y);
    if (s != CUDNN_STATUS_SUCCESS)
        return s;
    if (requested < 1)
        return CUDNN_STATUS_BAD_PARAM;
    const struct {
        cudnnConvolutionFwdAlgo_t algo;
        cudnnMathType_t math;
    } answers[] = {
        { CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED, conv->math },
        { CUDNN_CONVOLUTION_FWD_ALGO_FFT, CUDNN_DEFAULT_MATH },
        { CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, CUDNN_DEFAULT_MATH },
        { CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, conv->math },
    };
    int n = 0;
    for (const auto &a : answers) {
        if (n == requested)
            break;
        perf[n] = {};
        perf[n].algo = a.algo;
        perf[n].status = CUDNN_STATUS_SUCCESS;
        perf[n].time = -1.0f;   /* heuristics do not time */
        perf[n].memory = workspace_of(a.algo, w, y);
        perf[n].determinism = CUDNN_DETERMINISTIC;
        perf[n].mathType = a.math;
        n++;
    }
    *returned = n;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t handle, const void *alpha,
                                      const cudnnTensorDescriptor_t x_desc, const void *x,
                                      const cudnnFilterDescriptor_t w_desc, const void *w,
                                      const cudnnConvolutionDescriptor_t conv_desc,
                                      cudnnConvolutionFwdAlgo_t algo, void *workspace,
                                      size_t workspace_bytes, const void *beta,
                                      const cudnnTensorDescriptor_t y_desc, void *y)
{
    hold_lock hold(emu::lock());
    cudnnStatus_t s = check_geometry(x_desc, w_desc, conv_desc, y_desc);
    if (s != CUDNN_STATUS_SUCCESS)
        return s;
    if (algo != CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED &&
        algo != CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM &&
        algo != CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM)
        return CUDNN_STATUS_NOT_SUPPORTED;
    if (refuses_narrow() && (x_desc->c % 8 != 0 || w_desc->k % 8 != 0))
        return CUDNN_STATUS_NOT_SUPPORTED_SHAPE;
    size_t need = workspace_of(algo, w_desc, y_desc);
    if (workspace_bytes < need || (need && !workspace))
        return CUDNN_STATUS_BAD_PARAM;
    cudnnTensorStruct xs = *x_desc, ys = *y_desc;
    cudnnFilterStruct ws = *w_desc;
    cudnnConvolutionStruct cs = *conv_desc;
    size_t eb = element_bytes(xs.type);
    struct {
        const char *name;
        const void *p;
        size_t bytes;
    } const regions[] = {
        { "x", x, (size_t)xs.n * xs.c * xs.h * xs.w * eb },
        { "w", w, (size_t)ws.k * ws.c * ws.h * ws.w * eb },
        { "y", y, (size_t)ys.n * ys.c * ys.h * ys.w * eb },
        { "the workspace", workspace, workspace_bytes },
    };
    for (const auto &r : regions)
        if (r.bytes && !emu::in_device_memory(r.p, r.bytes))
            emu::fail("cudnnConvolutionForward: %s (%zu bytes at %p) is not inside device memory",
                      r.name, r.bytes, r.p);
    float a = *static_cast<const float *>(alpha), b = *static_cast<const float *>(beta);
    double ms = modelled_ms(algo, cs.math, &ws, &ys);
    emu::enqueue(handle->stream, [=] {
        if (workspace_bytes)
            memset(workspace, 0xff, workspace_bytes);
        convolve(xs, x, ws, w, cs, a, b, ys, y);
        emu::spend_device_time(ms);
    });
    return CUDNN_STATUS_SUCCESS;
}

} // extern "C"
