/*
 * fenced_backend.h - a CPU backend that behaves like a GPU's in the ways
 * model code can get wrong, for tests that run anywhere (test_cuda_ops
 * host). Included once by a test, after check.h.
 *
 * Memory: it records the blocks it allocates, and every operator and copy
 * fails a CHECK when given memory outside them (a weight the placement
 * missed, an input the model code did not upload).
 *
 * Recording: as a GPU's graph capture, between record_begin and record_end
 * the operators are recorded with their arguments (tensors by value: the
 * same memory, the same shapes), not run, and a copy is a failed CHECK;
 * replay runs them on whatever that memory holds then, each with the
 * arena's cursor where it was when recorded, so that the scratch the CPU
 * kernels take from the arena lies where it lay (a GPU's workspaces are
 * fixed in its graph the same way). A pass whose inputs
 * a replay would not see (a host buffer read while recording, tensors at
 * other addresses the next time) gives a wrong result here as on a GPU.
 *
 * Storage: with NN_STORAGE_FP32 tensors are fp32 and the operators are the
 * CPU backend's, so results must equal the CPU's exactly. With FP16 or BF16
 * tensors are 2-byte elements and spatial tensors channels-last as on the
 * CUDA backends: every operator converts its tensors to fp32 (spatial ones
 * reordered to the CPU's (N, C, S...)), runs the CPU's kernel and stores
 * its output rounded (and reordered back), as the GPU's kernels load
 * elements, compute in fp32 and store them rounded, and it prefers batches
 * as the GPU does (the VAE runs a batch at once). The models' handling of
 * 2-byte elements (allocation, offsets, copies) and of the channels-last
 * layout (spatial copies, tokens of feature maps) is then checked here, and
 * the networks' error from fp16 or bf16 storage measured.
 */
#ifndef LS_TESTS_FENCED_BACKEND_H
#define LS_TESTS_FENCED_BACKEND_H

#include <stdlib.h>

#include "avatar/paste.h"
#include "nn/nn.h"

#define FENCE_MAX_BLOCKS 4096

typedef struct fence_block {
    char *base;
    size_t size;
} fence_block;

static fence_block fence_blocks[FENCE_MAX_BLOCKS];
static int fence_count;
static nn_backend fenced;

static void *fence_alloc(size_t bytes)
{
    NN_CHECK(fence_count < FENCE_MAX_BLOCKS, "fence: too many blocks");
    void *p = nn_backend_cpu()->alloc(bytes);
    if (p)
        fence_blocks[fence_count++] = (fence_block){ p, bytes };
    return p;
}

static void fence_free(void *p)
{
    for (int i = 0; i < fence_count; i++)
        if (fence_blocks[i].base == p) {
            fence_blocks[i] = fence_blocks[--fence_count];
            break;
        }
    nn_backend_cpu()->free(p);
}

/* Host memory of host_alloc: plain, but counted, so that a test can tell
 * that every buffer taken was given back (as a GPU's page-locked memory
 * must be, to its own free). */
static int fence_host_count, fence_host_taken;

static void *fence_host_alloc(size_t bytes)
{
    void *p = malloc(bytes);
    fence_host_count += p != NULL;
    fence_host_taken += p != NULL;
    return p;
}

static void fence_host_free(void *p)
{
    fence_host_count -= p != NULL;
    free(p);
}

/* Fails the check unless [p, p + bytes) lies in one block of the backend. */
static void fence_need(const char *op, const void *p, size_t bytes)
{
    const char *c = p;
    int inside = 0;
    for (int i = 0; i < fence_count && !inside; i++)
        inside = c >= fence_blocks[i].base && c + bytes <= fence_blocks[i].base + fence_blocks[i].size;
    CHECK(inside, "%s: %zu bytes at %p are not backend memory", op, bytes, p);
}

static size_t fence_bytes(const nn_tensor *t)
{
    return (size_t)nn_numel(t) * (size_t)nn_elem_bytes(&fenced);
}

/* --- calls: run now, or recorded --------------------------------------------- */

#define FENCE_TENSORS 5

typedef struct fence_call fence_call;
struct fence_call {
    void (*run)(nn_ctx *c, const fence_call *k);
    nn_tensor t[FENCE_TENSORS];
    int given[FENCE_TENSORS];        /* t[i] was passed (optional ones may be NULL) */
    unsigned spatial;                /* bit i: t[i] is spatial (nn/backend.h) */
    nn_conv2d_params conv;
    int n;                           /* groups, heads */
    float eps;
    nn_act act;
    nn_arena_mark mark;              /* the arena's cursor when recorded */
    void (*unary)(nn_ctx *, const nn_tensor *, nn_tensor *);
    void (*binary)(nn_ctx *, const nn_tensor *, const nn_tensor *, nn_tensor *);
};

typedef struct fence_recording {
    fence_call *calls;
    int count;
} fence_recording;

static struct {
    int on;
    fence_recording now;
    int capacity;
} fence_rec;

static const nn_tensor *fence_arg(const fence_call *k, int i)
{
    return k->given[i] ? &k->t[i] : NULL;
}

static nn_tensor *fence_out(const fence_call *k, int i)
{
    return (nn_tensor *)fence_arg(k, i);
}

/* A call of `op` on up to FENCE_TENSORS tensors (NULL where absent), each
 * checked to be backend memory. */
static fence_call fence_tensors(const char *op, void (*run)(nn_ctx *, const fence_call *),
                                const nn_tensor *a, const nn_tensor *b, const nn_tensor *c,
                                const nn_tensor *d, const nn_tensor *e)
{
    const nn_tensor *all[FENCE_TENSORS] = { a, b, c, d, e };
    fence_call k = { .run = run };
    for (int i = 0; i < FENCE_TENSORS; i++)
        if (all[i]) {
            fence_need(op, all[i]->data, fence_bytes(all[i]));
            k.t[i] = *all[i];
            k.given[i] = 1;
        }
    return k;
}

/* fp32 values of 2-byte tensor t, in the CPU's order: spatial ones reordered
 * from channels-last. */
static float *fence_widen(const nn_tensor *t, int spatial)
{
    int64_t n = nn_numel(t);
    float *wide = malloc((size_t)n * sizeof *wide);
    float *order = spatial ? malloc((size_t)n * sizeof *order) : NULL;
    NN_CHECK(wide && (order || !spatial), "fence: out of memory");
    nn_widen_floats(fenced.storage, spatial ? order : wide, (const uint16_t *)t->data, n);
    if (spatial)
        nn_reorder_channels(wide, order, t, 0);
    free(order);
    return wide;
}

/* 2-byte tensor t = fp32 values `wide` in the CPU's order, rounded (and
 * reordered to channels-last when spatial); frees wide. */
static void fence_narrow(const nn_tensor *t, float *wide, int spatial)
{
    int64_t n = nn_numel(t);
    float *order = spatial ? malloc((size_t)n * sizeof *order) : NULL;
    NN_CHECK(order || !spatial, "fence: out of memory");
    if (spatial)
        nn_reorder_channels(order, wide, t, 1);
    nn_narrow_floats(fenced.storage, (uint16_t *)t->data, spatial ? order : wide, n);
    free(order);
    free(wide);
}

/* Runs call k: on 2-byte storage, on fp32 copies of its tensors (one per
 * distinct address, so aliases stay aliases), every copy stored back
 * rounded (inputs come back unchanged: widening and rounding back is exact). */
static void fence_run(nn_ctx *c, const fence_call *k)
{
    if (fenced.storage == NN_STORAGE_FP32) {
        k->run(c, k);
        return;
    }
    fence_call wide = *k;
    float *copy[FENCE_TENSORS] = { 0 };
    for (int i = 0; i < FENCE_TENSORS; i++) {
        if (!k->given[i])
            continue;
        int alias = -1;
        for (int j = 0; j < i && alias < 0; j++)
            if (copy[j] && k->t[j].data == k->t[i].data)
                alias = j;
        if (alias >= 0) {
            NN_CHECK(nn_numel(&k->t[alias]) == nn_numel(&k->t[i]) &&
                         (k->spatial >> alias & 1) == (k->spatial >> i & 1),
                     "fence: tensors overlap");
            wide.t[i].data = copy[alias];
            continue;
        }
        copy[i] = fence_widen(&k->t[i], k->spatial >> i & 1);
        wide.t[i].data = copy[i];
    }
    k->run(c, &wide);
    for (int i = 0; i < FENCE_TENSORS; i++)
        if (copy[i])
            fence_narrow(&k->t[i], copy[i], k->spatial >> i & 1);
}

static void fence_issue(nn_ctx *c, const fence_call *k)
{
    if (!fence_rec.on) {
        fence_run(c, k);
        return;
    }
    fence_recording *r = &fence_rec.now;
    if (r->count == fence_rec.capacity) {
        fence_rec.capacity = fence_rec.capacity ? 2 * fence_rec.capacity : 256;
        r->calls = realloc(r->calls, (size_t)fence_rec.capacity * sizeof *r->calls);
        NN_CHECK(r->calls != NULL, "fence: out of memory recording");
    }
    r->calls[r->count] = *k;
    r->calls[r->count++].mark = nn_arena_get_mark(c->arena);
}

static int fence_record_begin(nn_ctx *c)
{
    (void)c;
    CHECK(!fence_rec.on, "recording inside a recording");
    fence_rec.on = 1;
    fence_rec.now = (fence_recording){ 0 };
    fence_rec.capacity = 0;
    return 0;
}

static void *fence_record_end(nn_ctx *c)
{
    (void)c;
    CHECK(fence_rec.on, "record_end without record_begin");
    fence_rec.on = 0;
    fence_recording *r = malloc(sizeof *r);
    NN_CHECK(r != NULL, "fence: out of memory recording");
    *r = fence_rec.now;
    return r;
}

static void fence_replay(nn_ctx *c, void *recording)
{
    const fence_recording *r = recording;
    nn_arena_mark now = nn_arena_get_mark(c->arena);
    for (int i = 0; i < r->count; i++) {
        nn_arena_release(c->arena, r->calls[i].mark);   /* its scratch where it was recorded */
        fence_run(c, &r->calls[i]);
    }
    nn_arena_release(c->arena, now);
}

static void fence_record_free(void *recording)
{
    fence_recording *r = recording;
    free(r->calls);
    free(r);
}

/* --- copies ------------------------------------------------------------------ */

static void fence_upload(nn_ctx *c, void *dst, const void *src, size_t bytes)
{
    CHECK(!(c && fence_rec.on), "upload while recording");
    fence_need("upload", dst, bytes);
    memcpy(dst, src, bytes);
}

static void fence_download(nn_ctx *c, void *dst, const void *src, size_t bytes)
{
    CHECK(!(c && fence_rec.on), "download while recording");
    fence_need("download", src, bytes);
    memcpy(dst, src, bytes);
}

/* --- operators: the CPU's, through fence_issue ---------------------------------- */

#define CPU nn_backend_cpu()

static void run_linear(nn_ctx *c, const fence_call *k)
{
    CPU->linear(c, fence_arg(k, 0), fence_arg(k, 1), fence_arg(k, 2), fence_arg(k, 3),
                fence_out(k, 4));
}

static void fence_linear(nn_ctx *c, const nn_tensor *x, const nn_tensor *w, const nn_tensor *b,
                         const nn_tensor *residual, nn_tensor *y)
{
    fence_call k = fence_tensors("linear", run_linear, x, w, b, residual, y);
    fence_issue(c, &k);
}

static void run_conv2d(nn_ctx *c, const fence_call *k)
{
    CPU->conv2d(c, fence_arg(k, 0), fence_arg(k, 1), fence_arg(k, 2), &k->conv, fence_arg(k, 3),
                fence_out(k, 4));
}

static void fence_conv2d(nn_ctx *c, const nn_tensor *x, const nn_tensor *w, const nn_tensor *b,
                         const nn_conv2d_params *p, const nn_tensor *residual, nn_tensor *y)
{
    fence_call k = fence_tensors("conv2d", run_conv2d, x, w, b, residual, y);
    k.conv = *p;
    k.spatial = 1u | 2u | 8u | 16u;   /* all but the bias */
    fence_issue(c, &k);
}

static void run_group_norm(nn_ctx *c, const fence_call *k)
{
    CPU->group_norm(c, fence_arg(k, 0), fence_arg(k, 1), fence_arg(k, 2), k->n, k->eps, k->act,
                    fence_out(k, 3));
}

static void fence_group_norm(nn_ctx *c, const nn_tensor *x, const nn_tensor *gamma,
                             const nn_tensor *beta, int groups, float eps, nn_act act, nn_tensor *y)
{
    fence_call k = fence_tensors("group_norm", run_group_norm, x, gamma, beta, y, NULL);
    k.n = groups, k.eps = eps, k.act = act;
    k.spatial = 1u | 8u;
    fence_issue(c, &k);
}

static void run_layer_norm(nn_ctx *c, const fence_call *k)
{
    CPU->layer_norm(c, fence_arg(k, 0), fence_arg(k, 1), fence_arg(k, 2), k->eps, fence_out(k, 3));
}

static void fence_layer_norm(nn_ctx *c, const nn_tensor *x, const nn_tensor *gamma,
                             const nn_tensor *beta, float eps, nn_tensor *y)
{
    fence_call k = fence_tensors("layer_norm", run_layer_norm, x, gamma, beta, y, NULL);
    k.eps = eps;
    fence_issue(c, &k);
}

static void run_activation(nn_ctx *c, const fence_call *k)
{
    CPU->activation(c, fence_arg(k, 0), k->act, fence_out(k, 1));
}

static void fence_activation(nn_ctx *c, const nn_tensor *x, nn_act act, nn_tensor *y)
{
    fence_call k = fence_tensors("activation", run_activation, x, y, NULL, NULL, NULL);
    k.act = act;
    fence_issue(c, &k);
}

static void run_attention(nn_ctx *c, const fence_call *k)
{
    CPU->attention(c, fence_arg(k, 0), fence_arg(k, 1), fence_arg(k, 2), k->n,
                   fence_out(k, 3));
}

static void fence_attention(nn_ctx *c, const nn_tensor *q, const nn_tensor *k, const nn_tensor *v,
                            int heads, nn_tensor *out)
{
    fence_call call = fence_tensors("attention", run_attention, q, k, v, out, NULL);
    call.n = heads;
    fence_issue(c, &call);
}

/* The operators of one input (geglu, upsample2x, transpose12) and of two
 * (add, concat_channels): the CPU's function travels in the call, and
 * whether its tensors are spatial. */
static void run_unary(nn_ctx *c, const fence_call *k)
{
    k->unary(c, fence_arg(k, 0), fence_out(k, 1));
}

static void run_binary(nn_ctx *c, const fence_call *k)
{
    k->binary(c, fence_arg(k, 0), fence_arg(k, 1), fence_out(k, 2));
}

static void fence_unary(nn_ctx *c, const char *op,
                        void (*cpu_op)(nn_ctx *, const nn_tensor *, nn_tensor *), int spatial,
                        const nn_tensor *x, nn_tensor *y)
{
    fence_call k = fence_tensors(op, run_unary, x, y, NULL, NULL, NULL);
    k.unary = cpu_op;
    k.spatial = spatial ? 1u | 2u : 0u;
    fence_issue(c, &k);
}

static void fence_binary(nn_ctx *c, const char *op,
                         void (*cpu_op)(nn_ctx *, const nn_tensor *, const nn_tensor *, nn_tensor *),
                         int spatial, const nn_tensor *a, const nn_tensor *b, nn_tensor *y)
{
    fence_call k = fence_tensors(op, run_binary, a, b, y, NULL, NULL);
    k.binary = cpu_op;
    k.spatial = spatial ? 1u | 2u | 4u : 0u;
    fence_issue(c, &k);
}

static void fence_geglu(nn_ctx *c, const nn_tensor *x, nn_tensor *y)
{
    fence_unary(c, "geglu", CPU->geglu, 0, x, y);
}

static void fence_upsample2x(nn_ctx *c, const nn_tensor *x, nn_tensor *y)
{
    fence_unary(c, "upsample2x", CPU->upsample2x, 1, x, y);
}

static void fence_transpose12(nn_ctx *c, const nn_tensor *x, nn_tensor *y)
{
    fence_unary(c, "transpose12", CPU->transpose12, 0, x, y);
}

static void fence_add(nn_ctx *c, const nn_tensor *a, const nn_tensor *b, nn_tensor *y)
{
    fence_binary(c, "add", CPU->add, 0, a, b, y);
}

static void fence_concat(nn_ctx *c, const nn_tensor *a, const nn_tensor *b, nn_tensor *y)
{
    fence_binary(c, "concat_channels", CPU->concat_channels, 1, a, b, y);
}

#undef CPU

/* The paste table is host memory read at the call: not recordable here
 * (nor needed: the worker pastes after the recorded pass). */
static void fence_paste_faces(nn_ctx *c, const nn_tensor *faces, const nn_paste *pastes)
{
    (void)c;
    CHECK(!fence_rec.on, "paste_faces while recording");
    fence_need("paste", faces->data, fence_bytes(faces));
    for (int64_t i = 0; i < faces->shape[0]; i++) {
        const nn_paste *p = &pastes[i];
        size_t frame = (size_t)p->width * p->height * 3;
        fence_need("paste frame", p->frame, frame);
        fence_need("paste out", p->out, frame);
        fence_need("paste mask", p->mask, (size_t)p->crop_width * p->crop_height);
    }
    if (fenced.storage == NN_STORAGE_FP32) {
        ls_paste_faces_host(faces, pastes);
        return;
    }
    nn_tensor wide = *faces;
    wide.data = fence_widen(faces, 1);
    ls_paste_faces_host(&wide, pastes);
    free(wide.data);
}

/* The fenced backend with tensors stored as fp32, fp16 or bf16. */
static const nn_backend *fenced_backend(nn_storage storage)
{
    static const char *const names[] = { "fenced", "fenced-fp16", "fenced-bf16" };
    int gpu_like = storage != NN_STORAGE_FP32;
    fenced = *nn_backend_cpu();
    fenced.name = names[storage];
    fenced.storage = storage;
    fenced.prefers_batches = gpu_like;   /* as the GPU: its storage, its batches, */
    fenced.channels_last = gpu_like;     /* its layout */
    fenced.alloc = fence_alloc;
    fenced.free = fence_free;
    fenced.host_alloc = fence_host_alloc;
    fenced.host_free = fence_host_free;
    fenced.upload = fence_upload;
    fenced.download = fence_download;
    fenced.record_begin = fence_record_begin;
    fenced.record_end = fence_record_end;
    fenced.replay = fence_replay;
    fenced.record_free = fence_record_free;
    fenced.linear = fence_linear;
    fenced.conv2d = fence_conv2d;
    fenced.group_norm = fence_group_norm;
    fenced.layer_norm = fence_layer_norm;
    fenced.activation = fence_activation;
    fenced.geglu = fence_geglu;
    fenced.attention = fence_attention;
    fenced.add = fence_add;
    fenced.upsample2x = fence_upsample2x;
    fenced.concat_channels = fence_concat;
    fenced.transpose12 = gpu_like ? NULL : fence_transpose12;
    fenced.paste_faces = fence_paste_faces;
    return &fenced;
}

#endif
