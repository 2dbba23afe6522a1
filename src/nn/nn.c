/*
 * nn.c - execution context, thread control, host copies (converting to the
 * backend's element type through a staging buffer, spatial tensors
 * reordered for channels-last backends), and the operator
 * wrappers that check shape contracts before dispatching to the backend
 * table.
 */
#include "nn/nn.h"

#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "nn/bfloat16.h"
#include "nn/half.h"
#include "nn/recording.h"

nn_ctx *nn_ctx_new(const nn_backend *be)
{
    nn_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->be = be;
    if (be->ctx_open && be->ctx_open(c) != 0) {
        free(c);
        return NULL;
    }
    c->arena = nn_arena_new(be, 0);
    if (!c->arena) {
        nn_ctx_free(c);
        return NULL;
    }
    return c;
}

void nn_ctx_free(nn_ctx *c)
{
    if (!c)
        return;
    nn_recordings_free(c);
    if (c->be->ctx_close)
        c->be->ctx_close(c);   /* finishes the context's queued work first */
    nn_arena_free(c->arena);
    nn_host_free(c->be, c->host);
    nn_host_free(c->be, c->stage);
    nn_host_free(c->be, c->order);
    free(c);
}

/* *buf, grown to at least `bytes` (its contents are not kept), in the host
 * memory c's backend copies fastest. */
static void *grown(nn_ctx *c, void **buf, size_t *size, size_t bytes)
{
    if (bytes > *size) {
        nn_host_free(c->be, *buf);
        *buf = nn_host_alloc(c->be, bytes);
        if (!*buf) {
            fprintf(stderr, "lipstream: out of memory allocating %zu bytes of host staging\n",
                    bytes);
            abort();
        }
        *size = bytes;
    }
    return *buf;
}

void *nn_host_buffer(nn_ctx *c, size_t bytes)
{
    return grown(c, &c->host, &c->host_bytes, bytes);
}

/* --- copies ---------------------------------------------------------------- */

void nn_narrow_floats(nn_storage storage, uint16_t *dst, const float *src, int64_t n)
{
    if (storage == NN_STORAGE_BF16)
        nn_bfloats_from_floats(dst, src, n);
    else
        nn_halves_from_floats(dst, src, n);
}

void nn_widen_floats(nn_storage storage, float *dst, const uint16_t *src, int64_t n)
{
    if (storage == NN_STORAGE_BF16)
        nn_floats_from_bfloats(dst, src, n);
    else
        nn_floats_from_halves(dst, src, n);
}

/* n floats to be's memory with context c (or none): as they are, or
 * converted into `narrow` (room for n) first where be keeps 2-byte elements. */
static void upload_floats(const nn_backend *be, nn_ctx *c, float *dst, const float *src,
                          int64_t n, uint16_t *narrow)
{
    if (be->storage == NN_STORAGE_FP32) {
        be->upload(c, dst, src, (size_t)n * sizeof *src);
        return;
    }
    nn_narrow_floats(be->storage, narrow, src, n);
    be->upload(c, dst, narrow, (size_t)n * sizeof *narrow);
}

void nn_upload(nn_ctx *c, float *dst, const float *src, int64_t n)
{
    uint16_t *narrow = c->be->storage != NN_STORAGE_FP32
                           ? grown(c, &c->stage, &c->stage_bytes, (size_t)n * sizeof *narrow)
                           : NULL;
    upload_floats(c->be, c, dst, src, n, narrow);
}

void nn_download(nn_ctx *c, float *dst, const float *src, int64_t n)
{
    if (c->be->storage == NN_STORAGE_FP32) {
        c->be->download(c, dst, src, (size_t)n * sizeof *dst);
        return;
    }
    uint16_t *narrow = grown(c, &c->stage, &c->stage_bytes, (size_t)n * sizeof *narrow);
    c->be->download(c, narrow, src, (size_t)n * sizeof *narrow);
    nn_widen_floats(c->be->storage, dst, narrow, n);
}

void nn_reorder_channels(float *dst, const float *src, const nn_tensor *t, int to_channels_last)
{
    NN_CHECK(t->ndim >= 2, "spatial tensor: rank below 2");
    int64_t outer = t->shape[0], channels = t->shape[1], planes = outer * channels;
    int64_t inner = planes > 0 ? nn_numel(t) / planes : 0;
    /* (outer, a, b) -> (outer, b, a) */
    int64_t a = to_channels_last ? channels : inner, b = to_channels_last ? inner : channels;
    for (int64_t o = 0; o < outer; o++) {
        const float *from = src + o * a * b;
        float *to = dst + o * a * b;
        for (int64_t i = 0; i < a; i++)
            for (int64_t j = 0; j < b; j++)
                to[j * a + i] = from[i * b + j];
    }
}

void nn_upload_spatial(nn_ctx *c, const nn_tensor *dst, const float *src)
{
    int64_t n = nn_numel(dst);
    if (!c->be->channels_last) {
        nn_upload(c, dst->data, src, n);
        return;
    }
    float *ordered = grown(c, (void **)&c->order, &c->order_bytes, (size_t)n * sizeof *ordered);
    nn_reorder_channels(ordered, src, dst, 1);
    nn_upload(c, dst->data, ordered, n);
}

void nn_download_spatial(nn_ctx *c, float *dst, const nn_tensor *src)
{
    int64_t n = nn_numel(src);
    if (!c->be->channels_last) {
        nn_download(c, dst, src->data, n);
        return;
    }
    float *ordered = grown(c, (void **)&c->order, &c->order_bytes, (size_t)n * sizeof *ordered);
    nn_download(c, ordered, src->data, n);
    nn_reorder_channels(dst, ordered, src, 0);
}

void nn_upload_weights(const nn_backend *be, float *dst, const nn_tensor *w)
{
    int64_t n = nn_numel(w);
    const float *src = w->data;
    float *ordered = NULL;
    uint16_t *narrow = NULL;
    if (be->channels_last && w->ndim >= 3) {
        ordered = malloc((size_t)n * sizeof *ordered);
        NN_CHECK(ordered != NULL, "out of memory reordering weights");
        nn_reorder_channels(ordered, src, w, 1);
        src = ordered;
    }
    if (be->storage != NN_STORAGE_FP32) {
        narrow = malloc((size_t)(n ? n : 1) * sizeof *narrow);
        NN_CHECK(narrow != NULL, "out of memory converting weights");
    }
    upload_floats(be, NULL, dst, src, n, narrow);
    free(narrow);
    free(ordered);
}

void *nn_host_alloc(const nn_backend *be, size_t bytes)
{
    return be && be->host_alloc ? be->host_alloc(bytes) : malloc(bytes);
}

void nn_host_free(const nn_backend *be, void *p)
{
    if (!p)
        return;   /* backends are never asked to free nothing */
    if (be && be->host_alloc)
        be->host_free(p);
    else
        free(p);
}

float *nn_at(const nn_backend *be, float *data, int64_t n)
{
    return (float *)((char *)data + n * nn_elem_bytes(be));
}

nn_tensor nn_slice0(const nn_ctx *c, nn_tensor t, int64_t start, int64_t count)
{
    NN_CHECK(start >= 0 && count >= 0 && start + count <= t.shape[0], "slice0: out of range");
    int64_t inner = nn_numel(&t) / (t.shape[0] ? t.shape[0] : 1);
    t.data = nn_at(c->be, t.data, start * inner);
    t.shape[0] = count;
    return t;
}

void nn_set_threads(int threads)
{
    if (threads <= 0)
        threads = omp_get_num_procs();
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
}

int nn_get_threads(void)
{
    return omp_get_max_threads();
}

nn_tensor nn_alloc(nn_ctx *c, int ndim, const int64_t *shape)
{
    nn_tensor t = { .ndim = ndim };
    NN_CHECK(ndim >= 1 && ndim <= NN_MAX_DIMS, "alloc: bad rank");
    for (int i = 0; i < ndim; i++)
        t.shape[i] = shape[i];
    /* the arena counts floats: elements of 2 bytes take half as many */
    t.data = nn_arena_alloc(c->arena, (nn_numel(&t) * nn_elem_bytes(c->be) + 3) / 4);
    return t;
}

nn_tensor nn_alloc3(nn_ctx *c, int64_t a, int64_t b, int64_t d)
{
    return nn_alloc(c, 3, (int64_t[]){ a, b, d });
}

nn_tensor nn_alloc4(nn_ctx *c, int64_t a, int64_t b, int64_t d, int64_t e)
{
    return nn_alloc(c, 4, (int64_t[]){ a, b, d, e });
}

static int64_t last_dim(const nn_tensor *t)
{
    return t->shape[t->ndim - 1];
}

void nn_linear(nn_ctx *c, const nn_tensor *x, const nn_tensor *w, const nn_tensor *b,
               const nn_tensor *residual, nn_tensor *y)
{
    NN_CHECK(w->ndim == 2 && last_dim(x) == w->shape[1], "linear: x and w disagree on K");
    NN_CHECK(last_dim(y) == w->shape[0], "linear: y and w disagree on N");
    NN_CHECK(nn_numel(x) / last_dim(x) == nn_numel(y) / last_dim(y), "linear: M differs");
    NN_CHECK(!b || nn_numel(b) == w->shape[0], "linear: bias size");
    NN_CHECK(!residual || nn_numel(residual) == nn_numel(y), "linear: residual size");
    c->be->linear(c, x, w, b, residual, y);
}

void nn_conv2d(nn_ctx *c, const nn_tensor *x, const nn_tensor *w, const nn_tensor *b,
               const nn_conv2d_params *p, const nn_tensor *residual, nn_tensor *y)
{
    NN_CHECK(x->ndim == 4 && w->ndim == 4 && y->ndim == 4, "conv2d: rank");
    NN_CHECK(x->shape[1] == w->shape[1] && y->shape[1] == w->shape[0], "conv2d: channels");
    int up = p->upsample2x ? 2 : 1;
    NN_CHECK(y->shape[0] == x->shape[0] &&
                 y->shape[2] == nn_conv_out(x->shape[2] * up, (int)w->shape[2], p->stride_h,
                                            p->pad_top, p->pad_bottom) &&
                 y->shape[3] == nn_conv_out(x->shape[3] * up, (int)w->shape[3], p->stride_w,
                                            p->pad_left, p->pad_right),
             "conv2d: output size");
    NN_CHECK(!b || nn_numel(b) == w->shape[0], "conv2d: bias size");
    NN_CHECK(!residual || nn_same_shape(residual, y), "conv2d: residual shape");
    c->be->conv2d(c, x, w, b, p, residual, y);
}

void nn_conv1d(nn_ctx *c, const nn_tensor *x, const nn_tensor *w, const nn_tensor *b, int stride,
               int pad_left, int pad_right, nn_act act, nn_tensor *y)
{
    NN_CHECK(x->ndim == 3 && w->ndim == 3 && y->ndim == 3, "conv1d: rank");
    NN_CHECK(x->shape[1] == w->shape[1] && y->shape[1] == w->shape[0], "conv1d: channels");
    NN_CHECK(y->shape[0] == x->shape[0] &&
                 y->shape[2] == nn_conv_out(x->shape[2], (int)w->shape[2], stride, pad_left,
                                            pad_right),
             "conv1d: output size");
    NN_CHECK(!b || nn_numel(b) == w->shape[0], "conv1d: bias size");
    /* conv2d on a one-row image, then the activation in place */
    nn_tensor x2 = nn_view4(x->data, x->shape[0], x->shape[1], 1, x->shape[2]);
    nn_tensor w2 = nn_view4(w->data, w->shape[0], w->shape[1], 1, w->shape[2]);
    nn_tensor y2 = nn_view4(y->data, y->shape[0], y->shape[1], 1, y->shape[2]);
    nn_conv2d_params p = { .stride_h = 1, .stride_w = stride,
                           .pad_left = pad_left, .pad_right = pad_right };
    c->be->conv2d(c, &x2, &w2, b, &p, NULL, &y2);
    if (act != NN_ACT_NONE)
        c->be->activation(c, y, act, y);
}

void nn_group_norm(nn_ctx *c, const nn_tensor *x, const nn_tensor *gamma, const nn_tensor *beta,
                   int groups, float eps, nn_act act, nn_tensor *y)
{
    NN_CHECK(x->ndim >= 2 && nn_same_shape(x, y), "group_norm: shapes");
    NN_CHECK(groups > 0 && x->shape[1] % groups == 0, "group_norm: groups must divide C");
    NN_CHECK(nn_numel(gamma) == x->shape[1] && nn_numel(beta) == x->shape[1],
             "group_norm: affine size");
    c->be->group_norm(c, x, gamma, beta, groups, eps, act, y);
}

void nn_layer_norm(nn_ctx *c, const nn_tensor *x, const nn_tensor *gamma, const nn_tensor *beta,
                   float eps, nn_tensor *y)
{
    NN_CHECK(nn_same_shape(x, y), "layer_norm: shapes");
    NN_CHECK(nn_numel(gamma) == last_dim(x) && nn_numel(beta) == last_dim(x),
             "layer_norm: affine size");
    c->be->layer_norm(c, x, gamma, beta, eps, y);
}

void nn_activation(nn_ctx *c, const nn_tensor *x, nn_act act, nn_tensor *y)
{
    NN_CHECK(nn_numel(x) == nn_numel(y), "activation: sizes");
    c->be->activation(c, x, act, y);
}

void nn_geglu(nn_ctx *c, const nn_tensor *x, nn_tensor *y)
{
    NN_CHECK(last_dim(x) == 2 * last_dim(y) && nn_numel(x) == 2 * nn_numel(y), "geglu: sizes");
    c->be->geglu(c, x, y);
}

void nn_attention(nn_ctx *c, const nn_tensor *q, const nn_tensor *k, const nn_tensor *v, int heads,
                  nn_tensor *out)
{
    NN_CHECK(q->ndim == 3 && k->ndim == 3 && v->ndim == 3 && nn_same_shape(q, out),
             "attention: rank");
    NN_CHECK(nn_same_shape(k, v) && k->shape[0] == q->shape[0] && k->shape[2] == q->shape[2],
             "attention: q/k/v shapes");
    NN_CHECK(heads > 0 && q->shape[2] % heads == 0, "attention: heads must divide C");
    c->be->attention(c, q, k, v, heads, out);
}

void nn_add(nn_ctx *c, const nn_tensor *a, const nn_tensor *b, nn_tensor *y)
{
    NN_CHECK(nn_numel(a) == nn_numel(b) && nn_numel(a) == nn_numel(y), "add: sizes");
    c->be->add(c, a, b, y);
}

void nn_upsample2x(nn_ctx *c, const nn_tensor *x, nn_tensor *y)
{
    NN_CHECK(x->ndim == 4 && y->ndim == 4 && y->shape[0] == x->shape[0] &&
                 y->shape[1] == x->shape[1] && y->shape[2] == 2 * x->shape[2] &&
                 y->shape[3] == 2 * x->shape[3],
             "upsample2x: shapes");
    c->be->upsample2x(c, x, y);
}

void nn_concat_channels(nn_ctx *c, const nn_tensor *a, const nn_tensor *b, nn_tensor *y)
{
    NN_CHECK(a->ndim >= 2 && a->ndim == b->ndim && a->ndim == y->ndim, "concat: rank");
    NN_CHECK(y->shape[0] == a->shape[0] && b->shape[0] == a->shape[0] &&
                 y->shape[1] == a->shape[1] + b->shape[1],
             "concat: batch or channels");
    for (int i = 2; i < a->ndim; i++)
        NN_CHECK(a->shape[i] == b->shape[i] && a->shape[i] == y->shape[i], "concat: spatial");
    c->be->concat_channels(c, a, b, y);
}

/* x (N, A, B) and y (N, B, A): the shapes of a transpose in the last two
 * dimensions. */
static int transposed_shapes(const nn_tensor *x, const nn_tensor *y)
{
    return x->ndim == 3 && y->ndim == 3 && x->shape[0] == y->shape[0] &&
           x->shape[1] == y->shape[2] && x->shape[2] == y->shape[1];
}

/* y = x reordered between spatial and token rows: a transpose, or on a
 * channels-last backend, where both orders are the same memory, a copy (the
 * identity activation over x's elements). */
static void spatial_tokens_copy(nn_ctx *c, const nn_tensor *x, nn_tensor *y)
{
    if (!c->be->channels_last) {
        c->be->transpose12(c, x, y);
        return;
    }
    nn_tensor same = *y;
    same.shape[1] = x->shape[1];
    same.shape[2] = x->shape[2];
    c->be->activation(c, x, NN_ACT_NONE, &same);
}

void nn_spatial_to_tokens(nn_ctx *c, const nn_tensor *x, nn_tensor *y)
{
    NN_CHECK(transposed_shapes(x, y), "spatial_to_tokens: shapes");
    spatial_tokens_copy(c, x, y);
}

void nn_tokens_to_spatial(nn_ctx *c, const nn_tensor *x, nn_tensor *y)
{
    NN_CHECK(transposed_shapes(x, y), "tokens_to_spatial: shapes");
    spatial_tokens_copy(c, x, y);
}
