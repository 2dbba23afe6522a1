/*
 * backend.h - the operator table every compute backend implements.
 *
 * Models never call a backend's kernels directly: they call the nn_* wrappers
 * of nn.h, which dispatch through the nn_backend table held by the nn_ctx.
 * The CPU backend (nn/cpu/) implements the table with OpenBLAS and OpenMP; a
 * GPU backend implements the same table over device memory. Tensors are
 * contiguous and row-major, their elements fp32 or, on a GPU, 2-byte fp16
 * or bf16 (see storage); outputs are preallocated by the caller and never
 * alias inputs unless an operator says it allows it.
 *
 * Fused epilogues: where an operator takes `residual`, it computes
 * y = op(x) + residual (residual may be NULL, and may alias y).
 *
 * Ordering: a GPU backend queues the operators of one nn_ctx in order on
 * that context's stream. upload() and download() are synchronous: a
 * download returns finished results and a host buffer may be reused as soon
 * as its upload returns. Given a context, a copy is ordered after that
 * context's operators only (a GPU copies on the context's stream), so
 * contexts used by different threads (the inference worker, each session's
 * whisper encoder) never wait for one another. Given NULL, a copy waits for
 * no context: it is for memory no operator is using (placing weights,
 * uploading an avatar), and it is complete when it returns, so every
 * operator queued after it sees the data.
 */
#ifndef LS_NN_BACKEND_H
#define LS_NN_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "nn/tensor.h"

typedef struct nn_ctx nn_ctx;

typedef enum nn_storage {
    NN_STORAGE_FP32 = 0,
    NN_STORAGE_FP16,     /* IEEE binary16 (nn/half.h) */
    NN_STORAGE_BF16,     /* bfloat16 (nn/bfloat16.h) */
} nn_storage;

typedef enum nn_act {
    NN_ACT_NONE = 0,
    NN_ACT_SILU,     /* x * sigmoid(x) */
    NN_ACT_GELU,     /* 0.5 x (1 + erf(x / sqrt 2)), the exact form */
} nn_act;

typedef struct nn_conv2d_params {
    int stride_h, stride_w;
    int pad_top, pad_bottom, pad_left, pad_right;   /* zero padding, may differ per side */
    int upsample2x;  /* read the input as if nearest-upsampled x2 first (fuses Upsample + conv) */
} nn_conv2d_params;

/* One generated face pasted into one avatar frame (paste_faces). Pointers
 * are the backend's memory; positions are frame pixels. The face box lies
 * inside the crop box, the crop box inside the frame (checked by whoever
 * fills these in: avatar/avatar_device.h). */
typedef struct nn_paste {
    const uint8_t *frame;    /* (height, width, 3) BGR, the avatar frame */
    uint8_t *out;            /* (height, width, 3) BGR: the frame with the face pasted */
    int width, height;
    const uint8_t *mask;     /* (crop_height, crop_width) grey */
    int crop_x1, crop_y1, crop_width, crop_height;
    int face_x1, face_y1, face_x2, face_y2;   /* x2, y2 exclusive */
} nn_paste;

typedef struct nn_backend {
    const char *name;

    /* How tensor elements are stored in this backend's memory: fp32, or
     * 2-byte IEEE fp16 or bf16 (a tensor's `data` then points at those, and
     * operators compute in fp32 between loading and storing them). Host
     * code moves tensors with nn_upload/nn_download (nn.h), which convert
     * from and to fp32, and offsets device pointers with nn_at; upload and
     * download copy bytes as they are. Scratch from nn_arena_alloc is
     * counted in floats whatever the storage. */
    nn_storage storage;

    /* 1 where a pass over a whole batch outruns the same pass image by image
     * (a GPU, whose late layers at low resolution fill it only with many
     * images at once): models that can run either way (the VAE) then keep
     * the batch together. 0 on the CPU, where one image at a time keeps the
     * activations small and loses nothing. */
    int prefers_batches;

    /* 1 where spatial tensors are stored with their channels innermost (a
     * GPU's cuDNN, whose tensor-core convolutions read NHWC; 0 on the CPU).
     * Spatial tensors are those the spatial operators take as (N, C, S...):
     * conv2d's and conv1d's x, y and weights (O, C, kh, kw), group_norm's,
     * upsample2x's and concat_channels' tensors and paste_faces' faces.
     * Their shapes still say (N, C, S...); only the memory order is
     * (N, S..., C): a convolution weight is then (O, kh, kw, C) and a spatial
     * (N, C, S) tensor is already token rows (N, S, C). Host code moves
     * spatial tensors with nn_upload_spatial / nn_download_spatial and turns
     * them into token rows and back with nn_spatial_to_tokens /
     * nn_tokens_to_spatial (nn.h); elementwise operators see no difference,
     * and the others (linear, layer_norm, attention, geglu) take token rows. */
    int channels_last;

    /* Memory for weights and activations on this backend. */
    void *(*alloc)(size_t bytes);
    void (*free)(void *p);
    void (*upload)(nn_ctx *c, void *dst, const void *host_src, size_t bytes);
    void (*download)(nn_ctx *c, void *host_dst, const void *src, size_t bytes);
    void (*synchronize)(nn_ctx *c);

    /* Optional (NULL: plain host memory will do): host memory this backend
     * copies to and from fastest, for buffers that are copied often (a
     * GPU's page-locked memory, which its DMA engines reach directly where
     * pageable memory goes through a staging copy). NULL when out of it. */
    void *(*host_alloc)(size_t bytes);
    void (*host_free)(void *p);

    /* Optional (NULL on the CPU): the device's memory in bytes, in use (by
     * every process) and in all; 0, or -1 when the device cannot say. */
    int (*memory_info)(size_t *used, size_t *total);

    /* Optional (NULL on the CPU): per-context state in c->device, made by
     * nn_ctx_new (0, or -1 when it cannot be made) and freed by nn_ctx_free. */
    int (*ctx_open)(nn_ctx *c);
    void (*ctx_close)(nn_ctx *c);

    /* Optional (NULL where launching an operator costs next to nothing, as on
     * the CPU): recording a context's operators once to replay them as one
     * launch (a GPU's graphs; nn/recording.h decides when). Between
     * record_begin and record_end the context's operators are recorded, not
     * run, and nothing may be copied or waited for on the context.
     * record_begin gives 0, or -1 when the context cannot record; record_end
     * gives the recording, or NULL when recording failed (the operators then
     * never ran). replay queues a recording on the context it was made on:
     * the same operators on the same memory, reading what it holds now. */
    int (*record_begin)(nn_ctx *c);
    void *(*record_end)(nn_ctx *c);
    void (*replay)(nn_ctx *c, void *recording);
    void (*record_free)(void *recording);

    /* y[M,N] = x[M,K] w[N,K]^T + b[N] + residual[M,N]. x may have any rank:
     * its last dimension is K, the others are flattened into M. */
    void (*linear)(nn_ctx *c, const nn_tensor *x, const nn_tensor *w, const nn_tensor *b,
                   const nn_tensor *residual, nn_tensor *y);

    /* y[N,O,Ho,Wo] = conv(x[N,C,H,W], w[O,C,kh,kw]) + b[O] + residual. */
    void (*conv2d)(nn_ctx *c, const nn_tensor *x, const nn_tensor *w, const nn_tensor *b,
                   const nn_conv2d_params *p, const nn_tensor *residual, nn_tensor *y);

    /* GroupNorm over x[N,C,...] (all dims after C are spatial), affine with
     * gamma/beta[C], then the activation. y may alias x. */
    void (*group_norm)(nn_ctx *c, const nn_tensor *x, const nn_tensor *gamma,
                       const nn_tensor *beta, int groups, float eps, nn_act act, nn_tensor *y);

    /* LayerNorm over the last dimension, affine. y may alias x. */
    void (*layer_norm)(nn_ctx *c, const nn_tensor *x, const nn_tensor *gamma,
                       const nn_tensor *beta, float eps, nn_tensor *y);

    /* Elementwise activation; y may alias x. */
    void (*activation)(nn_ctx *c, const nn_tensor *x, nn_act act, nn_tensor *y);

    /* GEGLU: x[..., 2F] split into a = x[..., :F], g = x[..., F:]; y[..., F] = a * gelu(g). */
    void (*geglu)(nn_ctx *c, const nn_tensor *x, nn_tensor *y);

    /* Multi-head scaled dot-product attention, no mask.
     * q[B,Lq,C], k[B,Lk,C], v[B,Lk,C] with C = heads * head_dim, head h using
     * channels [h*head_dim, (h+1)*head_dim); out[B,Lq,C] = softmax(q k^T / sqrt(head_dim)) v. */
    void (*attention)(nn_ctx *c, const nn_tensor *q, const nn_tensor *k, const nn_tensor *v,
                      int heads, nn_tensor *out);

    /* y = a + b, same shapes; y may alias a or b. */
    void (*add)(nn_ctx *c, const nn_tensor *a, const nn_tensor *b, nn_tensor *y);

    /* y[N,C,2H,2W] = nearest-neighbour upsample of x[N,C,H,W]. */
    void (*upsample2x)(nn_ctx *c, const nn_tensor *x, nn_tensor *y);

    /* y[N,Ca+Cb,...] = cat([a, b], dim 1). */
    void (*concat_channels)(nn_ctx *c, const nn_tensor *a, const nn_tensor *b, nn_tensor *y);

    /* y[B,S,R] = x[B,R,S] transposed in its last two dimensions
     * (NCHW <-> token-major (B, HW, C), (B, C, T) <-> (B, T, C)). NULL on a
     * channels-last backend, whose spatial tensors are token-major already. */
    void (*transpose12)(nn_ctx *c, const nn_tensor *x, nn_tensor *y);

    /* MuseTalk's paste-back (avatar/blend.h) of faces[N,3,h,w], the VAE's
     * RGB output in [-1, 1], with pastes[N] in host memory: face i becomes
     * BGR bytes round(clamp(x / 2 + 0.5, 0, 1) * 255), is resized bilinearly
     * (image/resize.h's fixed-point rounding) to paste i's face box and
     * blended with its mask there; paste i's out is its frame with that
     * box replaced. Exactly the host's bytes. Optional: NULL on backends
     * whose memory is host memory, where avatar/paste.h runs the host code. */
    void (*paste_faces)(nn_ctx *c, const nn_tensor *faces, const nn_paste *pastes);
} nn_backend;

/* The CPU backend: OpenBLAS GEMM, OpenMP threads. */
const nn_backend *nn_backend_cpu(void);

/* Bytes per tensor element in be's memory (4 or 2). */
static inline int nn_elem_bytes(const nn_backend *be)
{
    return be->storage == NN_STORAGE_FP32 ? 4 : 2;
}

#endif
