/*
 * cuda_backend.c - the CUDA backend's table, device, memory and contexts,
 * and the operators that are one kernel each.
 *
 * One GPU per process: nn_backend_cuda() opens it on first use and later
 * calls for the same index return the same table: "cuda" (fp16 tensors) or
 * "cuda-bf16" (bfloat16), which differ only in that. Memory is cudaMalloc'd
 * and tensors in it are 2-byte elements, spatial ones channels-last
 * (cuda_internal.h); copies move bytes as they are, the host converting and
 * reordering on either side (nn.h).
 * A copy given a context runs on that context's stream and is waited for;
 * one given none is cudaMemcpy on the legacy default stream, then waited
 * for (a pageable upload may still be in flight when cudaMemcpy returns).
 *
 * Each nn_ctx gets a non-blocking stream, a cuBLAS handle (with its own
 * workspace, so that it never allocates while recording) and a cuDNN handle
 * bound to it, and reusable cuDNN descriptors; operators queue work and
 * return. The streams do not synchronize with the legacy default stream, so
 * a copy without a context on one thread (an avatar uploaded for a new
 * session) never joins, and so never breaks, a recording under way on
 * another. Recordings are CUDA graphs captured from the context's stream in
 * thread-local mode. Whatever thread runs an operator, cuda_enter() first
 * makes the backend's GPU its current device.
 */
#include "nn/cuda/cuda_backend.h"

#include <stdio.h>
#include <stdlib.h>

#include "nn/cuda/cuda_internal.h"

static int open_device = -1;                 /* the GPU in use, -1 before the first open */
static _Thread_local int thread_device = -1; /* this thread's current device, once set here */

void cuda_check(cudaError_t e, const char *what)
{
    if (e != cudaSuccess) {
        fprintf(stderr, "lipstream: CUDA: %s: %s\n", what, cudaGetErrorString(e));
        abort();
    }
}

void cuda_check_blas(cublasStatus_t s, const char *what)
{
    if (s != CUBLAS_STATUS_SUCCESS) {
        fprintf(stderr, "lipstream: cuBLAS: %s: %s\n", what, cublasGetStatusString(s));
        abort();
    }
}

void cuda_check_dnn(cudnnStatus_t s, const char *what)
{
    if (s != CUDNN_STATUS_SUCCESS) {
        fprintf(stderr, "lipstream: cuDNN: %s: %s\n", what, cudnnGetErrorString(s));
        abort();
    }
}

static void enter_device(void)
{
    if (thread_device != open_device) {
        CUDA_OK(cudaSetDevice(open_device));
        thread_device = open_device;
    }
}

cuda_ctx *cuda_enter(nn_ctx *c)
{
    enter_device();
    return c->device;
}

/* --- memory ---------------------------------------------------------------- */

static void *cuda_alloc(size_t bytes)
{
    enter_device();
    void *p = NULL;
    if (cudaMalloc(&p, bytes ? bytes : 1) != cudaSuccess) {
        cudaGetLastError();   /* out of memory is reported by returning NULL */
        return NULL;
    }
    return p;
}

static void cuda_free(void *p)
{
    enter_device();
    CUDA_OK(cudaFree(p));
}

/* Page-locked host memory: copies from and to it go straight over DMA. */
static void *cuda_host_alloc(size_t bytes)
{
    enter_device();
    void *p = NULL;
    if (cudaMallocHost(&p, bytes ? bytes : 1) != cudaSuccess) {
        cudaGetLastError();
        return NULL;
    }
    return p;
}

static void cuda_host_free(void *p)
{
    enter_device();
    CUDA_OK(cudaFreeHost(p));
}

static int cuda_memory_info(size_t *used, size_t *total)
{
    enter_device();
    size_t free_bytes = 0;
    if (cudaMemGetInfo(&free_bytes, total) != cudaSuccess) {
        cudaGetLastError();
        return -1;
    }
    *used = *total - free_bytes;
    return 0;
}

/* With a context: on its stream, then waited for (the other contexts' work
 * goes on). Without: on the legacy default stream, then waited for; no
 * context's work is involved either way. */
static void cuda_copy(nn_ctx *c, void *dst, const void *src, size_t bytes,
                      enum cudaMemcpyKind kind)
{
    if (!c) {
        enter_device();
        CUDA_OK(cudaMemcpy(dst, src, bytes, kind));
        CUDA_OK(cudaStreamSynchronize(cudaStreamLegacy));
        return;
    }
    cudaStream_t stream = cuda_enter(c)->queue.stream;
    CUDA_OK(cudaMemcpyAsync(dst, src, bytes, kind, stream));
    CUDA_OK(cudaStreamSynchronize(stream));
}

static void cuda_upload(nn_ctx *c, void *dst, const void *host_src, size_t bytes)
{
    cuda_copy(c, dst, host_src, bytes, cudaMemcpyHostToDevice);
}

static void cuda_download(nn_ctx *c, void *host_dst, const void *src, size_t bytes)
{
    cuda_copy(c, host_dst, src, bytes, cudaMemcpyDeviceToHost);
}

static void cuda_synchronize(nn_ctx *c)
{
    CUDA_OK(cudaStreamSynchronize(cuda_enter(c)->queue.stream));
}

/* --- contexts -------------------------------------------------------------- */

static void cuda_ctx_close(nn_ctx *c)
{
    cuda_ctx *s = c->device;
    if (!s)
        return;
    enter_device();
    if (s->queue.stream)
        cudaStreamSynchronize(s->queue.stream);
    if (s->conv_desc)
        cudnnDestroyConvolutionDescriptor(s->conv_desc);
    if (s->w_desc)
        cudnnDestroyFilterDescriptor(s->w_desc);
    if (s->y_desc)
        cudnnDestroyTensorDescriptor(s->y_desc);
    if (s->x_desc)
        cudnnDestroyTensorDescriptor(s->x_desc);
    if (s->dnn)
        cudnnDestroy(s->dnn);
    if (s->blas)
        cublasDestroy(s->blas);
    if (s->queue.stream)
        cudaStreamDestroy(s->queue.stream);
    if (s->blas_workspace)
        cudaFree(s->blas_workspace);
    free(s);
    c->device = NULL;
}

/* Each step of opening a context: 1 when it succeeded, else 0 with the call
 * and its reason logged (nn_ctx_new's caller learns only that it failed). */
static int opened(int ok, const char *call, const char *why)
{
    if (!ok)
        fprintf(stderr, "lipstream: CUDA: making a context: %s: %s\n", call, why);
    return ok;
}
#define CUDA_OPENED(call) cuda_opened((call), #call)
#define BLAS_OPENED(call) blas_opened((call), #call)
#define DNN_OPENED(call) dnn_opened((call), #call)

static int cuda_opened(cudaError_t e, const char *call)
{
    return opened(e == cudaSuccess, call, cudaGetErrorString(e));
}

static int blas_opened(cublasStatus_t st, const char *call)
{
    return opened(st == CUBLAS_STATUS_SUCCESS, call, cublasGetStatusString(st));
}

static int dnn_opened(cudnnStatus_t st, const char *call)
{
    return opened(st == CUDNN_STATUS_SUCCESS, call, cudnnGetErrorString(st));
}

static int cuda_ctx_open(nn_ctx *c)
{
    enter_device();
    cuda_ctx *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    c->device = s;
    int bf16 = c->be->storage == NN_STORAGE_BF16;
    s->queue.bf16 = bf16;
    s->blas_type = bf16 ? CUDA_R_16BF : CUDA_R_16F;
    s->dnn_type = bf16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_HALF;
    if (!CUDA_OPENED(cudaStreamCreateWithFlags(&s->queue.stream, cudaStreamNonBlocking)) ||
        !CUDA_OPENED(cudaMalloc(&s->blas_workspace, CUDA_BLAS_WORKSPACE)) ||
        !BLAS_OPENED(cublasCreate(&s->blas)) || !BLAS_OPENED(cublasSetStream(s->blas, s->queue.stream)) ||
        !BLAS_OPENED(cublasSetWorkspace(s->blas, s->blas_workspace, CUDA_BLAS_WORKSPACE)) ||
        !BLAS_OPENED(cublasSetMathMode(s->blas, CUBLAS_DEFAULT_MATH)) || !DNN_OPENED(cudnnCreate(&s->dnn)) ||
        !DNN_OPENED(cudnnSetStream(s->dnn, s->queue.stream)) ||
        !DNN_OPENED(cudnnCreateTensorDescriptor(&s->x_desc)) ||
        !DNN_OPENED(cudnnCreateTensorDescriptor(&s->y_desc)) ||
        !DNN_OPENED(cudnnCreateFilterDescriptor(&s->w_desc)) ||
        !DNN_OPENED(cudnnCreateConvolutionDescriptor(&s->conv_desc))) {
        cudaGetLastError();
        cuda_ctx_close(c);
        return -1;
    }
    return 0;
}

/* --- recordings: CUDA graphs ------------------------------------------------- */

static int cuda_record_begin(nn_ctx *c)
{
    cuda_ctx *s = cuda_enter(c);
    if (cudaStreamBeginCapture(s->queue.stream, cudaStreamCaptureModeThreadLocal) != cudaSuccess) {
        cudaGetLastError();
        return -1;
    }
    return 0;
}

static void *cuda_record_end(nn_ctx *c)
{
    cuda_ctx *s = cuda_enter(c);
    cudaGraph_t graph = NULL;
    cudaGraphExec_t exec = NULL;
    cudaError_t e = cudaStreamEndCapture(s->queue.stream, &graph);
    if (e == cudaSuccess)
        e = cudaGraphInstantiate(&exec, graph, 0);
    if (graph)
        cudaGraphDestroy(graph);
    if (e != cudaSuccess) {
        fprintf(stderr, "lipstream: CUDA: recording a pass failed (%s); it runs unrecorded\n",
                cudaGetErrorString(e));
        cudaGetLastError();
        return NULL;
    }
    return exec;
}

static void cuda_replay(nn_ctx *c, void *recording)
{
    CUDA_OK(cudaGraphLaunch((cudaGraphExec_t)recording, cuda_enter(c)->queue.stream));
}

static void cuda_record_free(void *recording)
{
    enter_device();
    cudaGraphExecDestroy((cudaGraphExec_t)recording);   /* a launch in flight completes first */
}

/* --- one-kernel operators -------------------------------------------------- */

void cuda_activation(nn_ctx *c, const nn_tensor *x, nn_act act, nn_tensor *y)
{
    if (act == NN_ACT_NONE && x->data == y->data)
        return;
    cuda_run_activation(cuda_enter(c)->queue, x->data, y->data, nn_numel(x), act);
}

void cuda_geglu(nn_ctx *c, const nn_tensor *x, nn_tensor *y)
{
    int64_t f = y->shape[y->ndim - 1];
    cuda_run_geglu(cuda_enter(c)->queue, x->data, y->data, nn_numel(y) / f, f);
}

void cuda_add(nn_ctx *c, const nn_tensor *a, const nn_tensor *b, nn_tensor *y)
{
    cuda_run_add(cuda_enter(c)->queue, a->data, b->data, y->data, nn_numel(y));
}

/* A spatial tensor's (batch, channels, pixels): its memory is (batch,
 * pixels, channels). */
static void spatial_dims(const nn_tensor *t, int64_t *batch, int64_t *channels, int64_t *pixels)
{
    *batch = t->shape[0];
    *channels = t->shape[1];
    *pixels = nn_numel(t) / (*batch * *channels);
}

void cuda_upsample2x(nn_ctx *c, const nn_tensor *x, nn_tensor *y)
{
    cuda_run_upsample2x(cuda_enter(c)->queue.stream, x->data, y->data, x->shape[0], x->shape[2],
                        x->shape[3], x->shape[1]);
}

void cuda_concat_channels(nn_ctx *c, const nn_tensor *a, const nn_tensor *b, nn_tensor *y)
{
    int64_t batch, ca, pixels;
    spatial_dims(a, &batch, &ca, &pixels);
    cuda_run_concat(cuda_enter(c)->queue.stream, a->data, b->data, y->data, batch * pixels, ca,
                    b->shape[1]);
}

void cuda_layer_norm(nn_ctx *c, const nn_tensor *x, const nn_tensor *gamma, const nn_tensor *beta,
                     float eps, nn_tensor *y)
{
    int64_t d = x->shape[x->ndim - 1];
    cuda_run_layer_norm(cuda_enter(c)->queue, x->data, y->data, gamma->data, beta->data,
                        nn_numel(x) / d, d, eps);
}

void cuda_group_norm(nn_ctx *c, const nn_tensor *x, const nn_tensor *gamma, const nn_tensor *beta,
                     int groups, float eps, nn_act act, nn_tensor *y)
{
    int64_t batch, channels, spatial;
    spatial_dims(x, &batch, &channels, &spatial);
    cuda_ctx *s = cuda_enter(c);
    nn_arena_mark mark = nn_arena_get_mark(c->arena);
    float *scratch = nn_arena_alloc(
        c->arena, cuda_group_norm_scratch(batch, channels, spatial));
    cuda_run_group_norm(s->queue, x->data, y->data, gamma->data, beta->data, batch, channels,
                        spatial, groups, eps, act, scratch);
    nn_arena_release(c->arena, mark);
}

void cuda_paste_faces(nn_ctx *c, const nn_tensor *faces, const nn_paste *pastes)
{
    cuda_queue queue = cuda_enter(c)->queue;
    int h = (int)faces->shape[2], w = (int)faces->shape[3];
    for (int64_t i = 0; i < faces->shape[0]; i++) {
        const nn_paste *p = &pastes[i];
        cuda_run_paste(queue, nn_at(c->be, faces->data, i * 3 * h * w), h, w, p->frame, p->out,
                       p->width, p->height, p->mask, p->crop_width, p->face_x1 - p->crop_x1,
                       p->face_y1 - p->crop_y1, p->face_x1, p->face_y1, p->face_x2, p->face_y2);
    }
}

/* --- the table ------------------------------------------------------------- */

/* The operator table; name and storage are set by the two backends below. */
#define CUDA_OPERATORS                                                                \
    .prefers_batches = 1,                                                             \
    .channels_last = 1,   /* NHWC, the tensor cores' layout (cuda_internal.h) */      \
    .alloc = cuda_alloc,                                                              \
    .free = cuda_free,                                                                \
    .upload = cuda_upload,                                                            \
    .download = cuda_download,                                                        \
    .synchronize = cuda_synchronize,                                                  \
    .host_alloc = cuda_host_alloc,                                                    \
    .host_free = cuda_host_free,                                                      \
    .memory_info = cuda_memory_info,                                                  \
    .ctx_open = cuda_ctx_open,                                                        \
    .ctx_close = cuda_ctx_close,                                                      \
    .record_begin = cuda_record_begin,                                                \
    .record_end = cuda_record_end,                                                    \
    .replay = cuda_replay,                                                            \
    .record_free = cuda_record_free,                                                  \
    .linear = cuda_linear,                                                            \
    .conv2d = cuda_conv2d,                                                            \
    .group_norm = cuda_group_norm,                                                    \
    .layer_norm = cuda_layer_norm,                                                    \
    .activation = cuda_activation,                                                    \
    .geglu = cuda_geglu,                                                              \
    .attention = cuda_attention,                                                      \
    .add = cuda_add,                                                                  \
    .upsample2x = cuda_upsample2x,                                                    \
    .concat_channels = cuda_concat_channels,                                          \
    .paste_faces = cuda_paste_faces,

static const nn_backend cuda_fp16_backend = {
    .name = "cuda",
    .storage = NN_STORAGE_FP16,
    CUDA_OPERATORS
};

static const nn_backend cuda_bf16_backend = {
    .name = "cuda-bf16",
    .storage = NN_STORAGE_BF16,
    CUDA_OPERATORS
};

/* Why no GPU can be used, from the runtime's answer to the device count. */
static int device_error(cudaError_t e, int device, ls_error *err)
{
    cudaGetLastError();
    if (e == cudaErrorNoDevice)
        return ls_error_set(err, "cuda:%d: no CUDA device found", device);
    if (e == cudaErrorInsufficientDriver)
        return ls_error_set(err, "cuda:%d: no NVIDIA driver, or one too old for CUDA %d.%d (%s)",
                            device, CUDART_VERSION / 1000, CUDART_VERSION % 1000 / 10,
                            cudaGetErrorString(e));
    return ls_error_set(err, "cuda:%d: CUDA driver error: %s", device, cudaGetErrorString(e));
}

/* The cuDNN the process loaded is the machine's, not the build's: it must
 * have the major version lipstream was built with, and its convolution
 * library (libcudnn_cnn, loaded on first use) must load and match. */
static int check_cudnn(int device, ls_error *err)
{
    size_t loaded = cudnnGetVersion();
    if (loaded / 10000 != CUDNN_MAJOR)
        return ls_error_set(err, "cuda:%d: cuDNN %zu.%zu.%zu is loaded; lipstream was built with cuDNN %d.%d",
                            device, loaded / 10000, loaded / 100 % 100, loaded % 100, CUDNN_MAJOR,
                            CUDNN_MINOR);
    cudnnStatus_t st = cudnnCnnVersionCheck();
    if (st != CUDNN_STATUS_SUCCESS)
        return ls_error_set(err, "cuda:%d: cuDNN's convolution library (libcudnn_cnn.so.%d): %s", device,
                            CUDNN_MAJOR, cudnnGetErrorString(st));
    return 0;
}

const nn_backend *nn_backend_cuda(int device, nn_storage storage, ls_error *err)
{
    const nn_backend *backend =
        storage == NN_STORAGE_BF16 ? &cuda_bf16_backend : &cuda_fp16_backend;
    if (open_device >= 0) {
        if (device == open_device)
            return backend;
        ls_error_set(err, "cuda:%d: this process already uses cuda:%d (one GPU per process)",
                     device, open_device);
        return NULL;
    }
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        device_error(e, device, err);
        return NULL;
    }
    if (device < 0 || device >= count) {
        ls_error_set(err, "cuda:%d: no such device (%d CUDA device%s)", device, count,
                     count == 1 ? "" : "s");
        return NULL;
    }
    struct cudaDeviceProp prop;
    /* Threads waiting for the GPU sleep rather than spin (CUDA's default when
     * the cores outnumber the contexts): the worker waits for every batch,
     * each session's whisper encoder for its window, and the cores they
     * would burn are the video encoders' and WebRTC's. */
    if ((e = cudaGetDeviceProperties(&prop, device)) != cudaSuccess ||
        (e = cudaSetDevice(device)) != cudaSuccess ||
        (e = cudaSetDeviceFlags(cudaDeviceScheduleBlockingSync)) != cudaSuccess ||
        (e = cudaFree(NULL)) != cudaSuccess) {
        device_error(e, device, err);
        return NULL;
    }
    if (check_cudnn(device, err) < 0)
        return NULL;
    if (prop.major < 8) {
        ls_error_set(err, "cuda:%d: %s has compute capability %d.%d; lipstream needs 8.0 or newer",
                     device, prop.name, prop.major, prop.minor);
        return NULL;
    }
    open_device = thread_device = device;
    return backend;
}
