/*
 * nn.h - what model code includes: the execution context and the operators.
 *
 * An nn_ctx binds a backend to an activation arena. Model forward passes take
 * an nn_ctx, allocate activations with nn_alloc*() and call the nn_* operator
 * wrappers below, which check shapes in debug builds and dispatch to the
 * backend table (backend.h). Threads: nn_set_threads() sets the OpenMP and
 * OpenBLAS thread counts for the whole process (0 = all cores); the device
 * is chosen the same way (nn/device.h).
 *
 * On a GPU backend activations are device memory: host code moves tensors
 * in and out with nn_upload / nn_download (fp32 on the host, converted to
 * and from the backend's element type; the _spatial ones also reorder the
 * channels of a channels-last backend, backend.h), staging host-side math in
 * nn_host_buffer() when it needs a buffer, and offsets device pointers with
 * nn_at / nn_slice0, which count in the backend's elements.
 */
#ifndef LS_NN_NN_H
#define LS_NN_NN_H

#include "nn/arena.h"
#include "nn/backend.h"
#include "nn/tensor.h"

struct nn_ctx {
    const nn_backend *be;
    nn_arena *arena;
    void *device;          /* the backend's state for this context (a CUDA stream), or NULL */
    void *host;            /* nn_host_buffer's memory */
    size_t host_bytes;
    void *stage;           /* conversions of nn_upload / nn_download */
    size_t stage_bytes;
    float *order;          /* reordering of nn_upload_spatial / nn_download_spatial */
    size_t order_bytes;
    struct nn_recordings *recordings;   /* nn/recording.h's passes, or NULL */
};

/* Creates a context with its own arena; NULL on out-of-memory or when the
 * backend cannot make a context (a GPU that fails). */
nn_ctx *nn_ctx_new(const nn_backend *be);
void nn_ctx_free(nn_ctx *c);

/* Host memory of at least `bytes` owned by the context, for staging a pass's
 * inputs and outputs: the same buffer every call (grown when asked for
 * more; the backend's nn_host_alloc memory), valid until the next call or
 * nn_ctx_free. Aborts when out of memory, as the arena does. */
void *nn_host_buffer(nn_ctx *c, size_t bytes);

/* n fp32 values as a backend storing fp16 or bf16 (backend.h's storage)
 * keeps them, rounded to nearest even (nn/half.h, nn/bfloat16.h); and back,
 * exactly. */
void nn_narrow_floats(nn_storage storage, uint16_t *dst, const float *src, int64_t n);
void nn_widen_floats(nn_storage storage, float *dst, const uint16_t *src, int64_t n);

/* Copies between n fp32 values on the host and backend memory, converted
 * when the backend keeps fp16 or bf16 (backend.h's storage); ordered and
 * complete as be->upload / be->download with context c. */
void nn_upload(nn_ctx *c, float *dst, const float *src, int64_t n);
void nn_download(nn_ctx *c, float *dst, const float *src, int64_t n);

/* The same for a spatial tensor (backend.h's channels_last), its host
 * values in (N, C, S...) order: reordered to (N, S..., C) on the way where
 * the backend keeps channels innermost. dst / src give the shape and the
 * backend memory. */
void nn_upload_spatial(nn_ctx *c, const nn_tensor *dst, const float *src);
void nn_download_spatial(nn_ctx *c, float *dst, const nn_tensor *src);

/* dst = the values of spatial tensor t (src, on the host) reordered from
 * (N, C, S...) to (N, S..., C) (to_channels_last 1) or back (0). */
void nn_reorder_channels(float *dst, const float *src, const nn_tensor *t, int to_channels_last);

/* Weight w (its data on the host) to dst on backend be, with no context
 * (backend.h: memory no operator is using yet); weights of rank 3 and more
 * are convolution weights, which are spatial. */
void nn_upload_weights(const nn_backend *be, float *dst, const nn_tensor *w);

/* Host memory for buffers copied often to and from backend be (its
 * host_alloc; malloc where it has none, or be is NULL); NULL when out of
 * memory. Freed by nn_host_free with the same backend. */
void *nn_host_alloc(const nn_backend *be, size_t bytes);
void nn_host_free(const nn_backend *be, void *p);

/* Backend memory n elements after data. */
float *nn_at(const nn_backend *be, float *data, int64_t n);

/* Slice [start, start+count) of the outermost dimension of a tensor in c's
 * memory. */
nn_tensor nn_slice0(const nn_ctx *c, nn_tensor t, int64_t start, int64_t count);

void nn_set_threads(int threads);
int nn_get_threads(void);

/* Activation tensors from the context's arena. */
nn_tensor nn_alloc(nn_ctx *c, int ndim, const int64_t *shape);
nn_tensor nn_alloc3(nn_ctx *c, int64_t a, int64_t b, int64_t d);
nn_tensor nn_alloc4(nn_ctx *c, int64_t a, int64_t b, int64_t d, int64_t e);

/* Operators: see backend.h for the exact semantics of each. */
void nn_linear(nn_ctx *c, const nn_tensor *x, const nn_tensor *w, const nn_tensor *b,
               const nn_tensor *residual, nn_tensor *y);
void nn_conv2d(nn_ctx *c, const nn_tensor *x, const nn_tensor *w, const nn_tensor *b,
               const nn_conv2d_params *p, const nn_tensor *residual, nn_tensor *y);
void nn_conv1d(nn_ctx *c, const nn_tensor *x, const nn_tensor *w, const nn_tensor *b, int stride,
               int pad_left, int pad_right, nn_act act, nn_tensor *y);
void nn_group_norm(nn_ctx *c, const nn_tensor *x, const nn_tensor *gamma, const nn_tensor *beta,
                   int groups, float eps, nn_act act, nn_tensor *y);
void nn_layer_norm(nn_ctx *c, const nn_tensor *x, const nn_tensor *gamma, const nn_tensor *beta,
                   float eps, nn_tensor *y);
void nn_activation(nn_ctx *c, const nn_tensor *x, nn_act act, nn_tensor *y);
void nn_geglu(nn_ctx *c, const nn_tensor *x, nn_tensor *y);
void nn_attention(nn_ctx *c, const nn_tensor *q, const nn_tensor *k, const nn_tensor *v, int heads,
                  nn_tensor *out);
void nn_add(nn_ctx *c, const nn_tensor *a, const nn_tensor *b, nn_tensor *y);
void nn_upsample2x(nn_ctx *c, const nn_tensor *x, nn_tensor *y);
void nn_concat_channels(nn_ctx *c, const nn_tensor *a, const nn_tensor *b, nn_tensor *y);

/* Token rows y[N,S,C] of spatial x[N,C,S] (the transpose in their last two
 * dimensions), and back; a copy on a channels-last backend. */
void nn_spatial_to_tokens(nn_ctx *c, const nn_tensor *x, nn_tensor *y);
void nn_tokens_to_spatial(nn_ctx *c, const nn_tensor *x, nn_tensor *y);

/* Output size of a convolution along one axis. */
static inline int64_t nn_conv_out(int64_t in, int k, int stride, int pad_before, int pad_after)
{
    return (in + pad_before + pad_after - k) / stride + 1;
}

#endif
