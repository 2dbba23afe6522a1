/*
 * layers.c - shared layer loading and forward code (see layers.h).
 */
#include "models/layers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *ls_join_name(char buf[LS_NAME_MAX], const char *prefix, const char *field)
{
    int n = snprintf(buf, LS_NAME_MAX, "%s.%s", prefix, field);
    NN_CHECK(n > 0 && n < LS_NAME_MAX, "tensor name too long");   /* names come from this code */
    return buf;
}

static int get(ls_weights *w, const char *prefix, const char *field, int ndim,
               const int64_t *shape, nn_tensor *out, ls_error *err)
{
    char name[LS_NAME_MAX];
    int64_t dims[NN_MAX_DIMS];
    memcpy(dims, shape, ndim * sizeof *dims);
    return ls_weights_get(w, ls_join_name(name, prefix, field), ndim, dims, out, err);
}

int ls_load_conv(ls_weights *w, const char *prefix, int cout, int cin, int k, ls_affine *out,
                 ls_error *err)
{
    if (get(w, prefix, "weight", 4, (int64_t[]){ cout, cin, k, k }, &out->w, err) != 0)
        return -1;
    return get(w, prefix, "bias", 1, (int64_t[]){ cout }, &out->b, err);
}

int ls_load_linear(ls_weights *w, const char *prefix, int nout, int nin, int bias, ls_affine *out,
                   ls_error *err)
{
    if (get(w, prefix, "weight", 2, (int64_t[]){ nout, nin }, &out->w, err) != 0)
        return -1;
    out->b = (nn_tensor){ 0 };
    return bias ? get(w, prefix, "bias", 1, (int64_t[]){ nout }, &out->b, err) : 0;
}

int ls_load_norm(ls_weights *w, const char *prefix, int c, ls_affine *out, ls_error *err)
{
    if (get(w, prefix, "weight", 1, (int64_t[]){ c }, &out->w, err) != 0)
        return -1;
    return get(w, prefix, "bias", 1, (int64_t[]){ c }, &out->b, err);
}

void ls_host_linear(const ls_affine *l, const float *x, float *y)
{
    int64_t nout = l->w.shape[0], nin = l->w.shape[1];
    for (int64_t o = 0; o < nout; o++) {
        const float *row = l->w.data + o * nin;
        double sum = l->b.data ? l->b.data[o] : 0.0;
        for (int64_t k = 0; k < nin; k++)
            sum += (double)row[k] * x[k];
        y[o] = (float)sum;
    }
}

/* --- ResnetBlock2D ------------------------------------------------------- */

/* r->time_bias = conv1.bias + time_emb_proj(silu_temb) */
static int fold_time_embedding(ls_weights *w, const char *prefix, const float *silu_temb,
                               int temb_dim, ls_resnet *r, ls_error *err)
{
    char name[LS_NAME_MAX];
    ls_affine proj;
    if (ls_load_linear(w, ls_join_name(name, prefix, "time_emb_proj"), r->cout, temb_dim, 1, &proj,
                       err) != 0)
        return -1;
    r->time_bias = malloc(r->cout * sizeof *r->time_bias);
    if (!r->time_bias)
        return ls_error_set(err, "out of memory");
    ls_host_linear(&proj, silu_temb, r->time_bias);
    for (int o = 0; o < r->cout; o++)
        r->time_bias[o] += r->conv1.b.data[o];
    r->conv1.b = nn_view1(r->time_bias, r->cout);
    return 0;
}

int ls_resnet_load(ls_weights *w, const char *prefix, int cin, int cout, int groups, float eps,
                   const float *silu_temb, int temb_dim, ls_resnet *r, ls_error *err)
{
    char name[LS_NAME_MAX];
    memset(r, 0, sizeof *r);
    r->cin = cin;
    r->cout = cout;
    r->groups = groups;
    r->eps = eps;
    if (ls_load_norm(w, ls_join_name(name, prefix, "norm1"), cin, &r->norm1, err) != 0 ||
        ls_load_conv(w, ls_join_name(name, prefix, "conv1"), cout, cin, 3, &r->conv1, err) != 0 ||
        ls_load_norm(w, ls_join_name(name, prefix, "norm2"), cout, &r->norm2, err) != 0 ||
        ls_load_conv(w, ls_join_name(name, prefix, "conv2"), cout, cout, 3, &r->conv2, err) != 0)
        return -1;
    if (cin != cout && ls_load_conv(w, ls_join_name(name, prefix, "conv_shortcut"), cout, cin, 1,
                                    &r->shortcut, err) != 0)
        return -1;
    if (silu_temb)
        return fold_time_embedding(w, prefix, silu_temb, temb_dim, r, err);
    return 0;
}

void ls_resnet_free(ls_resnet *r)
{
    free(r->time_bias);
    r->time_bias = NULL;
}

void ls_resnet_forward(const ls_resnet *r, nn_ctx *c, const nn_tensor *x, nn_tensor *y)
{
    int64_t n = x->shape[0], hgt = x->shape[2], wid = x->shape[3];
    nn_arena_mark mark = nn_arena_get_mark(c->arena);
    /* shortcut = conv_shortcut(x) when the channel count changes, else x */
    const nn_tensor *shortcut = x;
    if (r->shortcut.w.data) {
        ls_conv_same(c, x, &r->shortcut, NULL, y);
        shortcut = y;
    }
    /* h = conv1(silu(norm1(x))) + time term (in the bias) */
    nn_tensor t = nn_alloc4(c, n, r->cin, hgt, wid);
    nn_group_norm(c, x, &r->norm1.w, &r->norm1.b, r->groups, r->eps, NN_ACT_SILU, &t);
    nn_tensor h = nn_alloc4(c, n, r->cout, hgt, wid);
    ls_conv_same(c, &t, &r->conv1, NULL, &h);
    /* y = conv2(silu(norm2(h))) + shortcut */
    nn_group_norm(c, &h, &r->norm2.w, &r->norm2.b, r->groups, r->eps, NN_ACT_SILU, &h);
    ls_conv_same(c, &h, &r->conv2, shortcut, y);
    nn_arena_release(c->arena, mark);
}

/* --- convolutions and samplers ------------------------------------------- */

void ls_conv_same(nn_ctx *c, const nn_tensor *x, const ls_affine *conv, const nn_tensor *residual,
                  nn_tensor *y)
{
    int pad = (int)conv->w.shape[2] / 2;
    nn_conv2d_params p = { .stride_h = 1, .stride_w = 1, .pad_top = pad, .pad_bottom = pad,
                           .pad_left = pad, .pad_right = pad };
    nn_conv2d(c, x, &conv->w, ls_bias(conv), &p, residual, y);
}

void ls_downsample(nn_ctx *c, const nn_tensor *x, const ls_affine *conv, int padding, nn_tensor *y)
{
    nn_conv2d_params p = { .stride_h = 2, .stride_w = 2, .pad_top = padding,
                           .pad_bottom = padding ? padding : 1, .pad_left = padding,
                           .pad_right = padding ? padding : 1 };
    nn_conv2d(c, x, &conv->w, ls_bias(conv), &p, NULL, y);
}

int64_t ls_downsampled(int64_t size, int padding)
{
    return padding ? nn_conv_out(size, 3, 2, padding, padding) : nn_conv_out(size, 3, 2, 0, 1);
}

void ls_upsample(nn_ctx *c, const nn_tensor *x, const ls_affine *conv, nn_tensor *y)
{
    nn_conv2d_params p = { .stride_h = 1, .stride_w = 1, .pad_top = 1, .pad_bottom = 1,
                           .pad_left = 1, .pad_right = 1, .upsample2x = 1 };
    nn_conv2d(c, x, &conv->w, ls_bias(conv), &p, NULL, y);
}

/* --- placement ----------------------------------------------------------- */

#define PLACE_ALIGN 256   /* the GPU's preferred alignment for vector loads */

static size_t place_bytes(const ls_placement *p, const nn_tensor *t)
{
    size_t bytes = (size_t)nn_numel(t) * (size_t)nn_elem_bytes(p->be);
    return (bytes + PLACE_ALIGN - 1) & ~(size_t)(PLACE_ALIGN - 1);
}

void ls_place(ls_placement *p, nn_tensor *t)
{
    if (!t->data)
        return;
    if (!p->block) {
        p->bytes += place_bytes(p, t);
        return;
    }
    NN_CHECK(p->used + place_bytes(p, t) <= p->bytes, "placement: the walks differ");
    float *dst = (float *)(p->block + p->used);
    nn_upload_weights(p->be, dst, t);
    t->data = dst;
    p->used += place_bytes(p, t);
}

void ls_place_affine(ls_placement *p, ls_affine *a)
{
    ls_place(p, &a->w);
    ls_place(p, &a->b);
}

void ls_place_resnet(ls_placement *p, ls_resnet *r)
{
    ls_place_affine(p, &r->norm1);
    ls_place_affine(p, &r->conv1);
    ls_place_affine(p, &r->norm2);
    ls_place_affine(p, &r->conv2);
    ls_place_affine(p, &r->shortcut);
}

int ls_placement_run(ls_placement *p, const nn_backend *be,
                     void (*walk)(void *model, ls_placement *p),
                     void *model, ls_error *err)
{
    if (be == nn_backend_cpu() || p->be == be)
        return 0;
    NN_CHECK(!p->be, "placement: a model is placed once");
    ls_placement sizing = { .be = be };
    walk(model, &sizing);
    char *block = be->alloc(sizing.bytes);
    if (!block)
        return ls_error_set(err, "%s: out of memory for %.1f MiB of weights", be->name,
                            sizing.bytes / 1048576.0);
    *p = (ls_placement){ .be = be, .block = block, .bytes = sizing.bytes };
    walk(model, p);
    NN_CHECK(p->used == p->bytes, "placement: the walks differ");
    return 0;
}

void ls_placement_free(ls_placement *p)
{
    if (p->block)
        p->be->free(p->block);
    *p = (ls_placement){ 0 };
}

const nn_backend *ls_placement_backend(const ls_placement *p)
{
    return p->be ? p->be : nn_backend_cpu();
}

/* --- alternating buffers ------------------------------------------------- */

void ls_pingpong_init(ls_pingpong *p, nn_ctx *c, int64_t cap)
{
    p->buf[0] = nn_arena_alloc(c->arena, cap);
    p->buf[1] = nn_arena_alloc(c->arena, cap);
    p->cap = cap;
    p->next = 0;
}

nn_tensor ls_pingpong_take(ls_pingpong *p, int64_t n, int64_t ch, int64_t h, int64_t w)
{
    NN_CHECK(n * ch * h * w <= p->cap, "pingpong: buffer too small");
    float *data = p->buf[p->next];
    p->next ^= 1;
    return nn_view4(data, n, ch, h, w);
}
