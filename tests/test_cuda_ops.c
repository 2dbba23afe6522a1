/*
 * test_cuda_ops.c - the CUDA backend against the CPU backend, and the models'
 * use of device memory.
 *
 * usage: test_cuda_ops gpu|host MUSETALK_SMALL WHISPER_REF
 *   (the folders written by tests/ref/musetalk_ref.py small and whisper_ref.py)
 *
 * gpu: every operator of backend.h on the GPU against the CPU backend on
 * random data in the UNet's, the VAE's and whisper's shapes (fused variants
 * included: residual epilogues, aliasing, asymmetric padding, upsampling
 * reads), then each network with the small random-weight checkpoints placed
 * on the GPU (whisper encoder, alone and as the live server streams it,
 * both UNets, VAE decode and encode, the renderer's faces, also replayed
 * from a CUDA graph with new inputs) against the same network on the CPU,
 * and the paste-back of faces into frames against the host's, byte for
 * byte. Exits 77 (skipped) with the reason when there is no GPU or no CUDA
 * build. The same file linked with the tests' CUDA emulator instead of CUDA
 * (test_cuda_ops_emulated, tests/cuda_emu) runs this mode on the CPU.
 *
 * host: runs anywhere. The same network comparisons on the "fenced" backend
 * of fenced_backend.h: the CPU's kernels behind a table that fails an
 * operator given memory it did not allocate, and records and replays passes
 * as graph capture does. A weight the placement missed, an input the model
 * code did not upload, or a recorded pass that would not see its new inputs
 * is caught here without a GPU; the results must equal the CPU's. Then the
 * same with tensors stored as fp16, as the CUDA backend stores them: the
 * models' handling of 2-byte elements (allocation, offsets, conversions at
 * the copies) is checked, and the networks' error from fp16 storage must
 * stay within the GPU's tolerances. Also the device names and their errors
 * (nn/device.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fenced_backend.h"
#include "avatar/paste.h"
#include "io/npy.h"
#include "live/stream_features.h"
#include "models/musetalk.h"
#include "nn/device.h"
#include "nn/recording.h"
#ifdef LS_HAVE_CUDA
#include "nn/cuda/cuda_backend.h"
#endif

/* Tolerances (max |got - want| <= atol + rtol * max |want|) of the CUDA
 * backends' storage. Random inputs are values of that storage (host_rand),
 * so both backends compute on the same numbers and the error is the GPU's:
 * - An output rounded once (norms, activations, add, the fused attention):
 *   half an ulp, 2^-11 = 4.9e-4 of the value in fp16 (2^-8 = 3.9e-3 in
 *   bf16), plus fp32 summation order and CUDA's expf/erff: rtol 1e-3
 *   (bf16: 4e-3 relative to the largest value, whose rounding is the
 *   largest).
 * - GEMMs and convolutions: 2-byte products are exact in their fp32
 *   accumulation, but the result is rounded before the bias and residual
 *   epilogue and again after it (the long attention path also rounds its
 *   probabilities): twice the above.
 * - Data movement is exact.
 * - Networks: the fenced backends (host mode) round every operator's
 *   output as the GPU does and measure at most 2.2e-3 of the largest
 *   output in fp16 (small UNet A), faces within 1 level; 2.0e-2 in bf16
 *   (VAE decode), faces within 3 levels. The GPU sums in other orders and
 *   rounds a few more intermediates: about 4x those (1e-2 and 8e-2), and
 *   3 and 8 levels. */
typedef struct tolerances {
    double rounded, gemm, network, face_levels;
} tolerances;

static const tolerances fp16_tolerances = { 1e-3, 2e-3, 1e-2, 3.0 };
static const tolerances bf16_tolerances = { 4e-3, 8e-3, 8e-2, 8.0 };

/* The storage of the device under test and its tolerances: random inputs
 * are rounded to its values, so that both backends compute on the same ones. */
static nn_storage device_storage = NN_STORAGE_FP32;
static tolerances tol;

static void set_device_storage(nn_storage storage)
{
    device_storage = storage;
    tol = storage == NN_STORAGE_BF16 ? bf16_tolerances : fp16_tolerances;
}

static const char *mt_dir, *whisper_dir;

static const char *path_in(const char *dir, const char *name)
{
    static char path[4][1024];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s/%s", dir, name);
    return p;
}

/* --- random host tensors and device copies -------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static float uniform(void)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

/* Host tensor t rounded to the values the device under test can hold. */
static void round_to_device(nn_tensor *t)
{
    if (device_storage == NN_STORAGE_FP32)
        return;
    int64_t n = nn_numel(t);
    uint16_t *narrow = malloc((size_t)n * sizeof *narrow);
    NN_CHECK(narrow != NULL, "out of memory");
    nn_narrow_floats(device_storage, narrow, t->data, n);
    nn_widen_floats(device_storage, t->data, narrow, n);
    free(narrow);
}

/* A host tensor of uniform values in [-scale, scale). */
static nn_tensor host_rand(int ndim, const int64_t *shape, float scale)
{
    nn_tensor t = { .ndim = ndim };
    memcpy(t.shape, shape, ndim * sizeof *shape);
    t.data = malloc((size_t)nn_numel(&t) * sizeof(float));
    for (int64_t i = 0; i < nn_numel(&t); i++)
        t.data[i] = scale * uniform();
    round_to_device(&t);
    return t;
}

static nn_tensor host_like(const nn_tensor *t)
{
    nn_tensor h = *t;
    h.data = calloc((size_t)nn_numel(t), sizeof(float));
    return h;
}

/* How a tensor is laid out in a backend's memory (nn/backend.h): SPATIAL
 * for the (N, C, S...) tensors of the convolutions and norms, channels
 * innermost on a channels-last backend; FLAT for the others. */
enum layout { FLAT, SPATIAL };

/* A copy of host tensor h in c's memory. */
static nn_tensor to_ctx(nn_ctx *c, const nn_tensor *h, enum layout layout)
{
    nn_tensor d = nn_alloc(c, h->ndim, h->shape);
    if (layout == SPATIAL)
        nn_upload_spatial(c, &d, h->data);
    else
        nn_upload(c, d.data, h->data, nn_numel(h));
    return d;
}

/* Downloads device tensor d and compares it with host tensor want. */
static void compare_ctx(const char *what, nn_ctx *c, const nn_tensor *d, const nn_tensor *want,
                        enum layout layout, double atol, double rtol)
{
    nn_tensor got = host_like(want);
    if (layout == SPATIAL)
        nn_download_spatial(c, got.data, d);
    else
        nn_download(c, got.data, d->data, nn_numel(want));
    check_close(what, got.data, want->data, nn_numel(want), atol, rtol);
    free(got.data);
}

/* --- operators on the GPU against the CPU --------------------------------- */

typedef struct op_env {
    nn_ctx *cpu, *gpu;
} op_env;

#define SHAPE(...) (sizeof((int64_t[]){ __VA_ARGS__ }) / sizeof(int64_t)), (int64_t[]){ __VA_ARGS__ }

static void test_linear(op_env *e, const char *what, int with_bias, int residual_mode,
                        int64_t batch, int64_t m, int64_t k, int64_t n)
{
    nn_tensor x = host_rand(SHAPE(batch, m, k), 1.0f), w = host_rand(SHAPE(n, k), 0.1f);
    nn_tensor b = host_rand(SHAPE(n), 1.0f), r = host_rand(SHAPE(batch, m, n), 1.0f);
    nn_tensor want = host_like(&r);
    /* residual_mode: 0 none, 1 another buffer, 2 y itself (y starts as the residual) */
    if (residual_mode == 2)
        memcpy(want.data, r.data, (size_t)nn_numel(&r) * sizeof(float));
    nn_linear(e->cpu, &x, &w, with_bias ? &b : NULL,
              residual_mode == 1 ? &r : residual_mode == 2 ? &want : NULL, &want);
    nn_arena_mark mark = nn_arena_get_mark(e->gpu->arena);
    nn_tensor dx = to_ctx(e->gpu, &x, FLAT), dw = to_ctx(e->gpu, &w, FLAT);
    nn_tensor db = to_ctx(e->gpu, &b, FLAT);
    nn_tensor dr = to_ctx(e->gpu, &r, FLAT), dy = nn_alloc(e->gpu, 3, r.shape);
    if (residual_mode == 2)
        dy = dr;
    nn_linear(e->gpu, &dx, &dw, with_bias ? &db : NULL, residual_mode == 1 ? &dr :
              residual_mode == 2 ? &dy : NULL, &dy);
    compare_ctx(what, e->gpu, &dy, &want, FLAT, 0, tol.gemm);
    nn_arena_release(e->gpu->arena, mark);
    free(x.data), free(w.data), free(b.data), free(r.data), free(want.data);
}

static void test_conv2d(op_env *e, const char *what, const int64_t xs[4], int64_t o, int k,
                        nn_conv2d_params p, int residual_mode)
{
    nn_tensor x = host_rand(4, xs, 1.0f), w = host_rand(SHAPE(o, xs[1], k, k), 0.05f);
    nn_tensor b = host_rand(SHAPE(o), 1.0f);
    int up = p.upsample2x ? 2 : 1;
    int64_t ys[4] = { xs[0], o, nn_conv_out(xs[2] * up, k, p.stride_h, p.pad_top, p.pad_bottom),
                      nn_conv_out(xs[3] * up, k, p.stride_w, p.pad_left, p.pad_right) };
    nn_tensor r = host_rand(4, ys, 1.0f), want = host_like(&r);
    if (residual_mode == 2)
        memcpy(want.data, r.data, (size_t)nn_numel(&r) * sizeof(float));
    nn_conv2d(e->cpu, &x, &w, &b, &p, residual_mode == 1 ? &r : residual_mode == 2 ? &want : NULL,
              &want);
    nn_arena_mark mark = nn_arena_get_mark(e->gpu->arena);
    nn_tensor dx = to_ctx(e->gpu, &x, SPATIAL), dw = to_ctx(e->gpu, &w, SPATIAL),
              db = to_ctx(e->gpu, &b, FLAT);
    nn_tensor dr = to_ctx(e->gpu, &r, SPATIAL);
    nn_tensor dy = residual_mode == 2 ? dr : nn_alloc(e->gpu, 4, ys);
    nn_conv2d(e->gpu, &dx, &dw, &db, &p, residual_mode == 1 ? &dr : residual_mode == 2 ? &dy : NULL,
              &dy);
    compare_ctx(what, e->gpu, &dy, &want, SPATIAL, 0, tol.gemm);
    nn_arena_release(e->gpu->arena, mark);
    free(x.data), free(w.data), free(b.data), free(r.data), free(want.data);
}

static void test_conv1d(op_env *e, const char *what, int64_t c, int64_t len, int64_t o, int stride,
                        nn_act act)
{
    nn_tensor x = host_rand(SHAPE(1, c, len), 1.0f), w = host_rand(SHAPE(o, c, 3), 0.1f);
    nn_tensor b = host_rand(SHAPE(o), 1.0f);
    nn_tensor want = host_rand(SHAPE(1, o, nn_conv_out(len, 3, stride, 1, 1)), 0.0f);
    nn_conv1d(e->cpu, &x, &w, &b, stride, 1, 1, act, &want);
    nn_arena_mark mark = nn_arena_get_mark(e->gpu->arena);
    nn_tensor dx = to_ctx(e->gpu, &x, SPATIAL), dw = to_ctx(e->gpu, &w, SPATIAL),
              db = to_ctx(e->gpu, &b, FLAT);
    nn_tensor dy = nn_alloc(e->gpu, 3, want.shape);
    nn_conv1d(e->gpu, &dx, &dw, &db, stride, 1, 1, act, &dy);
    compare_ctx(what, e->gpu, &dy, &want, SPATIAL, 0, tol.gemm);
    nn_arena_release(e->gpu->arena, mark);
    free(x.data), free(w.data), free(b.data), free(want.data);
}

static void test_group_norm(op_env *e, const char *what, const int64_t xs[4], int groups,
                            nn_act act, int in_place, double rtol)
{
    nn_tensor x = host_rand(4, xs, 2.0f), want = host_like(&x);
    for (int64_t i = 0; i < nn_numel(&x); i++)
        x.data[i] += 0.5f;   /* a mean away from 0 */
    round_to_device(&x);
    nn_tensor g = host_rand(SHAPE(xs[1]), 1.0f), b = host_rand(SHAPE(xs[1]), 1.0f);
    nn_group_norm(e->cpu, &x, &g, &b, groups, 1e-6f, act, &want);
    nn_arena_mark mark = nn_arena_get_mark(e->gpu->arena);
    nn_tensor dx = to_ctx(e->gpu, &x, SPATIAL), dg = to_ctx(e->gpu, &g, FLAT),
              db = to_ctx(e->gpu, &b, FLAT);
    nn_tensor dy = in_place ? dx : nn_alloc(e->gpu, 4, xs);
    nn_group_norm(e->gpu, &dx, &dg, &db, groups, 1e-6f, act, &dy);
    compare_ctx(what, e->gpu, &dy, &want, SPATIAL, 0, rtol);
    nn_arena_release(e->gpu->arena, mark);
    free(x.data), free(want.data), free(g.data), free(b.data);
}

static void test_layer_norm(op_env *e, int64_t rows, int64_t d)
{
    nn_tensor x = host_rand(SHAPE(1, rows, d), 3.0f), want = host_like(&x);
    nn_tensor g = host_rand(SHAPE(d), 1.0f), b = host_rand(SHAPE(d), 1.0f);
    nn_layer_norm(e->cpu, &x, &g, &b, 1e-5f, &want);
    nn_arena_mark mark = nn_arena_get_mark(e->gpu->arena);
    nn_tensor dx = to_ctx(e->gpu, &x, FLAT), dg = to_ctx(e->gpu, &g, FLAT),
              db = to_ctx(e->gpu, &b, FLAT);
    nn_layer_norm(e->gpu, &dx, &dg, &db, 1e-5f, &dx);   /* in place */
    compare_ctx("layer_norm (1, 1024, 320) in place", e->gpu, &dx, &want, FLAT, 0, tol.rounded);
    nn_arena_release(e->gpu->arena, mark);
    free(x.data), free(want.data), free(g.data), free(b.data);
}

static void test_pointwise(op_env *e)
{
    nn_tensor x = host_rand(SHAPE(2, 1024, 2560), 4.0f), y = host_rand(SHAPE(2, 1024, 2560), 1.0f);
    nn_tensor want = host_like(&x), half = host_rand(SHAPE(2, 1024, 1280), 0.0f);
    nn_arena_mark mark = nn_arena_get_mark(e->gpu->arena);
    nn_tensor dx = to_ctx(e->gpu, &x, FLAT), dy = to_ctx(e->gpu, &y, FLAT);
    nn_tensor dout = nn_alloc(e->gpu, 3, x.shape);
    static const char *const names[] = { "activation none", "activation silu", "activation gelu" };
    for (int act = NN_ACT_NONE; act <= NN_ACT_GELU; act++) {
        nn_activation(e->cpu, &x, act, &want);
        nn_activation(e->gpu, &dx, act, &dout);
        compare_ctx(names[act], e->gpu, &dout, &want, FLAT, 0, tol.rounded);
    }
    nn_geglu(e->cpu, &x, &half);
    nn_tensor dhalf = nn_alloc(e->gpu, 3, half.shape);
    nn_geglu(e->gpu, &dx, &dhalf);
    compare_ctx("geglu (2, 1024, 2560)", e->gpu, &dhalf, &half, FLAT, 0, tol.rounded);
    nn_add(e->cpu, &x, &y, &want);
    nn_add(e->gpu, &dx, &dy, &dy);   /* y aliases b */
    compare_ctx("add, y aliasing b", e->gpu, &dy, &want, FLAT, 0, tol.rounded);
    nn_arena_release(e->gpu->arena, mark);
    free(x.data), free(y.data), free(want.data), free(half.data);
}

/* concat_channels of a (n, ca, h, w) and b (n, cb, h, w), and upsample2x of a:
 * channel counts that are multiples of 8 take the kernels' 16-byte path. */
static void test_concat_upsample(op_env *e, int64_t n, int64_t ca, int64_t cb, int64_t h,
                                 int64_t w)
{
    nn_tensor a = host_rand(SHAPE(n, ca, h, w), 1.0f), b = host_rand(SHAPE(n, cb, h, w), 1.0f);
    nn_tensor cat = host_rand(SHAPE(n, ca + cb, h, w), 0.0f);
    nn_tensor up = host_rand(SHAPE(n, ca, 2 * h, 2 * w), 0.0f);
    nn_concat_channels(e->cpu, &a, &b, &cat);
    nn_upsample2x(e->cpu, &a, &up);
    nn_arena_mark mark = nn_arena_get_mark(e->gpu->arena);
    nn_tensor da = to_ctx(e->gpu, &a, SPATIAL), db = to_ctx(e->gpu, &b, SPATIAL);
    nn_tensor dcat = nn_alloc(e->gpu, 4, cat.shape), dup = nn_alloc(e->gpu, 4, up.shape);
    nn_concat_channels(e->gpu, &da, &db, &dcat);
    nn_upsample2x(e->gpu, &da, &dup);
    char what[96];
    snprintf(what, sizeof what, "concat_channels (%lld, %lld+%lld, %lld, %lld)", (long long)n,
             (long long)ca, (long long)cb, (long long)h, (long long)w);
    compare_ctx(what, e->gpu, &dcat, &cat, SPATIAL, 0, 0);
    snprintf(what, sizeof what, "upsample2x (%lld, %lld, %lld, %lld)", (long long)n,
             (long long)ca, (long long)h, (long long)w);
    compare_ctx(what, e->gpu, &dup, &up, SPATIAL, 0, 0);
    nn_arena_release(e->gpu->arena, mark);
    free(a.data), free(b.data), free(cat.data), free(up.data);
}

/* Feature maps to token rows and back. */
static void test_tokens(op_env *e)
{
    nn_tensor t = host_rand(SHAPE(2, 320, 1000), 1.0f), tt = host_rand(SHAPE(2, 1000, 320), 0.0f);
    nn_spatial_to_tokens(e->cpu, &t, &tt);
    nn_arena_mark mark = nn_arena_get_mark(e->gpu->arena);
    nn_tensor dt = to_ctx(e->gpu, &t, SPATIAL);
    nn_tensor dtt = nn_alloc(e->gpu, 3, tt.shape), dback = nn_alloc(e->gpu, 3, t.shape);
    nn_spatial_to_tokens(e->gpu, &dt, &dtt);
    nn_tokens_to_spatial(e->gpu, &dtt, &dback);
    compare_ctx("spatial_to_tokens (2, 320, 1000)", e->gpu, &dtt, &tt, FLAT, 0, 0);
    compare_ctx("tokens_to_spatial (2, 1000, 320)", e->gpu, &dback, &t, SPATIAL, 0, 0);
    nn_arena_release(e->gpu->arena, mark);
    free(t.data), free(tt.data);
}

static void test_attention(op_env *e, const char *what, int64_t batch, int64_t lq, int64_t lk,
                           int64_t ch, int heads, double rtol)
{
    nn_tensor q = host_rand(SHAPE(batch, lq, ch), 1.0f), k = host_rand(SHAPE(batch, lk, ch), 1.0f);
    nn_tensor v = host_rand(SHAPE(batch, lk, ch), 1.0f), want = host_like(&q);
    nn_attention(e->cpu, &q, &k, &v, heads, &want);
    nn_arena_mark mark = nn_arena_get_mark(e->gpu->arena);
    nn_tensor dq = to_ctx(e->gpu, &q, FLAT), dk = to_ctx(e->gpu, &k, FLAT);
    nn_tensor dv = to_ctx(e->gpu, &v, FLAT);
    nn_tensor dout = nn_alloc(e->gpu, 3, q.shape);
    nn_attention(e->gpu, &dq, &dk, &dv, heads, &dout);
    compare_ctx(what, e->gpu, &dout, &want, FLAT, 0, rtol);
    nn_arena_release(e->gpu->arena, mark);
    free(q.data), free(k.data), free(v.data), free(want.data);
}

/* Copies through the backend's host memory (page-locked on a GPU): fp16
 * values come back as they went. */
static void test_host_memory(op_env *e)
{
    const int64_t n = 1 << 20;
    nn_tensor x = host_rand(SHAPE(n), 100.0f);
    float *in = nn_host_alloc(e->gpu->be, (size_t)n * sizeof *in);
    float *out = nn_host_alloc(e->gpu->be, (size_t)n * sizeof *out);
    CHECK(in && out, "host memory of the backend");
    if (in && out) {
        memcpy(in, x.data, (size_t)n * sizeof *in);
        nn_arena_mark mark = nn_arena_get_mark(e->gpu->arena);
        nn_tensor d = nn_alloc(e->gpu, 1, x.shape);
        nn_upload(e->gpu, d.data, in, n);
        nn_download(e->gpu, out, d.data, n);
        check_close("copies through the backend's host memory", out, x.data, n, 0, 0);
        nn_arena_release(e->gpu->arena, mark);
    }
    nn_host_free(e->gpu->be, in);
    nn_host_free(e->gpu->be, out);
    free(x.data);
}

#ifdef LS_HAVE_CUDA
/* A convolution geometry first met while the context records (no timing
 * may run then) takes cuDNN's proposals in their order, skipping those that
 * refuse to run, and gives the CPU's result when replayed; outside a
 * recording it is then timed, once. */
static void test_conv_planned_while_recording(op_env *e)
{
    const int64_t xs[4] = { 1, 24, 7, 9 }, ys[4] = { 1, 16, 7, 9 };
    nn_conv2d_params same = { 1, 1, 1, 1, 1, 1, 0 };
    nn_tensor x = host_rand(4, xs, 1.0f), w = host_rand(SHAPE(16, 24, 3, 3), 0.05f);
    nn_tensor b = host_rand(SHAPE(16), 1.0f), want = host_rand(4, ys, 0.0f);
    nn_conv2d(e->cpu, &x, &w, &b, &same, NULL, &want);
    nn_ctx *c = e->gpu;
    nn_arena_mark mark = nn_arena_get_mark(c->arena);
    nn_tensor dx = to_ctx(c, &x, SPATIAL), dw = to_ctx(c, &w, SPATIAL), db = to_ctx(c, &b, FLAT);
    nn_tensor dy = nn_alloc(c, 4, ys);
    nn_cuda_conv_stats before = nn_cuda_conv_stats_now();
    CHECK(c->be->record_begin(c) == 0, "a recording begins");
    nn_conv2d(c, &dx, &dw, &db, &same, NULL, &dy);
    void *recording = c->be->record_end(c);
    nn_cuda_conv_stats recorded = nn_cuda_conv_stats_now();
    CHECK(recording != NULL, "the convolution planned while recording is recorded");
    CHECK(recorded.geometries == before.geometries + 1 && recorded.timed == before.timed,
          "a geometry met while recording is planned (%d -> %d) and not timed (%d -> %d)",
          before.geometries, recorded.geometries, before.timed, recorded.timed);
    if (recording) {
        c->be->replay(c, recording);
        compare_ctx("conv2d planned while recording, replayed", c, &dy, &want, SPATIAL, 0,
                    tol.gemm);
        c->be->record_free(recording);
    }
    nn_conv2d(c, &dx, &dw, &db, &same, NULL, &dy);
    compare_ctx("conv2d planned while recording, run after", c, &dy, &want, SPATIAL, 0, tol.gemm);
    nn_conv2d(c, &dx, &dw, &db, &same, NULL, &dy);
    nn_cuda_conv_stats after = nn_cuda_conv_stats_now();
    CHECK(after.geometries == recorded.geometries && after.timed == recorded.timed + 1,
          "outside the recording the geometry is timed once (%d -> %d timed)", recorded.timed,
          after.timed);
    nn_arena_release(c->arena, mark);
    free(x.data), free(w.data), free(b.data), free(want.data);
}

#ifdef LS_CUDA_EMULATOR
/* A geometry cuDNN runs no algorithm for is computed as im2col + GEMM: the
 * emulator's cuDNN refuses channel counts that are not multiples of 8
 * (LS_CUDA_EMU_CUDNN_REFUSE=narrow) while these run. New geometries, one
 * planned before with cuDNN's algorithms (5 -> 3 channels, upsampled: each
 * is refused in turn), and one whose patch rows take two chunks. */
static void test_conv_without_algorithm(op_env *e)
{
    nn_conv2d_params same = { 1, 1, 1, 1, 1, 1, 0 }, one = { 1, 1, 0, 0, 0, 0, 0 };
    nn_conv2d_params down_pad01 = { 2, 2, 0, 1, 0, 1, 0 }, upsample = { 1, 1, 1, 1, 1, 1, 1 };
    setenv("LS_CUDA_EMU_CUDNN_REFUSE", "narrow", 1);
    nn_cuda_conv_stats before = nn_cuda_conv_stats_now();
    test_conv2d(e, "no cuDNN algorithm: 3x3 (2, 4, 9, 11) -> 8 + residual", (int64_t[]){ 2, 4, 9, 11 }, 8, 3,
                same, 1);
    test_conv2d(e, "no cuDNN algorithm: 1x1 (2, 4, 8, 8) -> 4, residual is y", (int64_t[]){ 2, 4, 8, 8 }, 4, 1,
                one, 2);
    test_conv2d(e, "no cuDNN algorithm: stride 2 pad (0,1,0,1) -> 3", (int64_t[]){ 1, 16, 17, 15 }, 3, 3,
                down_pad01, 0);
    test_conv2d(e, "no cuDNN algorithm: upsample2x, 5 -> 3, planned before", (int64_t[]){ 1, 5, 6, 7 }, 3, 3,
                upsample, 1);
    test_conv2d(e, "no cuDNN algorithm: (2, 128, 128, 128) -> 4 in two chunks, residual is y",
                (int64_t[]){ 2, 128, 128, 128 }, 4, 3, same, 2);
    nn_cuda_conv_stats after = nn_cuda_conv_stats_now();
    unsetenv("LS_CUDA_EMU_CUDNN_REFUSE");
    printf("cuDNN refusing narrow channel counts: %d geometries computed as im2col + GEMM\n",
           after.gemm - before.gemm);
    CHECK(after.gemm == before.gemm + 5, "every geometry cuDNN refuses runs as a GEMM (%d of 5)",
          after.gemm - before.gemm);
}
#endif

/* What the process's convolutions did with cuDNN's proposals. The emulator
 * proposes a slow algorithm first, after one it refuses to run
 * (tests/cuda_emu/emu_dnn.cpp): every timed geometry must have refused one
 * and, unless it was left without any (test_conv_without_algorithm), found
 * a faster one than the first that ran. */
static void report_conv_choices(void)
{
    nn_cuda_conv_stats st = nn_cuda_conv_stats_now();
    printf("cuDNN: %d convolution geometries, %d timed; the fastest was not cuDNN's first "
           "proposal in %d; %d proposals refused to run; %d geometries without an algorithm\n",
           st.geometries, st.timed, st.reordered, st.refused, st.gemm);
    CHECK(st.timed > 0 && st.timed <= st.geometries && st.reordered <= st.timed,
          "convolution algorithms are timed");
#ifdef LS_CUDA_EMULATOR
    CHECK(st.reordered >= st.timed - st.gemm && st.refused >= st.timed,
          "on the emulator every timed geometry with an algorithm skips the refused proposal and picks "
          "the fastest (%d timed, %d reordered, %d refused, %d without an algorithm)", st.timed, st.reordered,
          st.refused, st.gemm);
#endif
}
#endif

static void test_operators(const nn_backend *gpu)
{
    op_env e = { nn_ctx_new(nn_backend_cpu()), nn_ctx_new(gpu) };
    CHECK(e.cpu && e.gpu, "contexts");
    if (!e.cpu || !e.gpu)
        return;
    test_host_memory(&e);
    test_linear(&e, "linear (2, 1024, 320) + bias + residual", 1, 1, 2, 1024, 320, 320);
    test_linear(&e, "linear, residual is y", 1, 2, 2, 1024, 1280, 320);
    test_linear(&e, "linear (2, 50, 384) no bias", 0, 0, 2, 50, 384, 320);
    nn_conv2d_params same = { 1, 1, 1, 1, 1, 1, 0 }, one = { 1, 1, 0, 0, 0, 0, 0 };
    nn_conv2d_params down = { 2, 2, 1, 1, 1, 1, 0 }, down_pad01 = { 2, 2, 0, 1, 0, 1, 0 };
    nn_conv2d_params upsample = { 1, 1, 1, 1, 1, 1, 1 }, uneven = { 1, 2, 2, 0, 1, 3, 0 };
    test_conv2d(&e, "conv2d 3x3 (2, 320, 32, 32) + residual", (int64_t[]){ 2, 320, 32, 32 }, 320,
                3, same, 1);
    test_conv2d(&e, "conv2d 3x3, residual is y", (int64_t[]){ 2, 64, 16, 16 }, 64, 3, same, 2);
    test_conv2d(&e, "conv2d 1x1 (2, 640, 16, 16) -> 320", (int64_t[]){ 2, 640, 16, 16 }, 320, 1,
                one, 0);
    test_conv2d(&e, "conv2d 3x3 stride 2 pad 1", (int64_t[]){ 2, 320, 32, 32 }, 320, 3, down, 0);
    test_conv2d(&e, "conv2d 3x3 stride 2 pad (0,1,0,1)", (int64_t[]){ 1, 128, 64, 64 }, 128, 3,
                down_pad01, 0);
    test_conv2d(&e, "conv2d upsample2x 3x3 (2, 640, 8, 8)", (int64_t[]){ 2, 640, 8, 8 }, 640, 3,
                upsample, 0);
    test_conv2d(&e, "conv2d uneven pads and strides", (int64_t[]){ 1, 16, 13, 11 }, 8, 3, uneven, 1);
    test_conv2d(&e, "conv2d upsample2x, 5 channels -> 3", (int64_t[]){ 1, 5, 6, 7 }, 3, 3,
                upsample, 1);
    test_conv1d(&e, "conv1d (1, 80, 3000) k3 + gelu", 80, 3000, 384, 1, NN_ACT_GELU);
    test_conv1d(&e, "conv1d (1, 384, 3000) k3 s2 + gelu", 384, 3000, 384, 2, NN_ACT_GELU);
    test_group_norm(&e, "group_norm (2, 320, 32, 32) + silu", (int64_t[]){ 2, 320, 32, 32 }, 32,
                    NN_ACT_SILU, 0, tol.rounded);
    test_group_norm(&e, "group_norm (1, 128, 256, 256) in place", (int64_t[]){ 1, 128, 256, 256 },
                    32, NN_ACT_NONE, 1, tol.rounded);
    test_group_norm(&e, "group_norm (1, 12, 5, 7) g3 + gelu", (int64_t[]){ 1, 12, 5, 7 }, 3,
                    NN_ACT_GELU, 0, tol.rounded);
    test_layer_norm(&e, 1024, 320);
    test_pointwise(&e);
    test_concat_upsample(&e, 2, 640, 320, 16, 16);
    test_concat_upsample(&e, 2, 12, 5, 5, 7);
    test_tokens(&e);
    /* cuBLAS for long key sequences, the fused kernel for short ones */
    test_attention(&e, "attention self (2, 1024, 320) 8 heads", 2, 1024, 1024, 320, 8,
                   tol.gemm);
    test_attention(&e, "attention whisper (1, 1500, 384) 6 heads", 1, 1500, 1500, 384, 6,
                   tol.gemm);
    test_attention(&e, "attention vae (1, 1024, 512) 1 head", 1, 1024, 1024, 512, 1, tol.gemm);
    test_attention(&e, "attention cross (2, 256, 640) 50 keys", 2, 256, 50, 640, 8, tol.rounded);
    test_attention(&e, "attention self (2, 64, 1280) 8 heads", 2, 64, 64, 1280, 8, tol.rounded);
    test_attention(&e, "attention (3, 101, 320) 33 keys", 3, 101, 33, 320, 8, tol.rounded);
#ifdef LS_HAVE_CUDA
    test_conv_planned_while_recording(&e);
#endif
#ifdef LS_CUDA_EMULATOR
    test_conv_without_algorithm(&e);
#endif
    nn_ctx_free(e.cpu);
    nn_ctx_free(e.gpu);
}

/* --- networks on a device against the CPU --------------------------------- */

static nn_tensor load_npy(const char *dir, const char *name)
{
    nn_tensor t = { 0 };
    ls_error err = { 0 };
    CHECK(ls_npy_read(path_in(dir, name), &t, &err) == 0, "%s", err.msg);
    return t;
}

/* out = UNet(latent, audio) on the CPU, then with the weights on `dev`. */
static void test_unet(const nn_backend *dev, const char *label, const char *config,
                      const char *weights, const char *latent_name, const char *audio_name,
                      double rtol)
{
    ls_unet *u = NULL;
    ls_error err = { 0 };
    nn_tensor lat = load_npy(mt_dir, latent_name), aud = load_npy(mt_dir, audio_name);
    if (ls_unet_load(path_in(mt_dir, config), path_in(mt_dir, weights), &u, &err) != 0 ||
        !lat.data || !aud.data) {
        CHECK(0, "%s: %s", label, err.msg);
        free(lat.data), free(aud.data);
        return;
    }
    nn_tensor want = host_rand(SHAPE(lat.shape[0], ls_unet_config_of(u)->out_channels,
                                     lat.shape[2], lat.shape[3]), 0.0f);
    nn_ctx *cpu = nn_ctx_new(nn_backend_cpu());
    ls_unet_forward(u, cpu, &lat, &aud, &want);
    nn_ctx_free(cpu);

    nn_ctx *c = nn_ctx_new(dev);
    CHECK(ls_unet_place(u, dev, &err) == 0 && ls_unet_backend(u) == dev, "%s", err.msg);
    nn_tensor dl = to_ctx(c, &lat, SPATIAL), da = to_ctx(c, &aud, FLAT);
    nn_tensor dout = nn_alloc(c, 4, want.shape);
    ls_unet_forward(u, c, &dl, &da, &dout);
    compare_ctx(label, c, &dout, &want, SPATIAL, 0, rtol);
    nn_ctx_free(c);
    ls_unet_free(u);
    free(lat.data), free(aud.data), free(want.data);
}

/* VAE decode and encode on the CPU, then with the weights on `dev`. */
static void test_vae(const nn_backend *dev, double rtol)
{
    ls_vae *v = NULL;
    ls_error err = { 0 };
    nn_tensor z = load_npy(mt_dir, "vae_z.npy"), x = load_npy(mt_dir, "vae_x.npy");
    if (ls_vae_load(path_in(mt_dir, "sd-vae"), &v, &err) != 0 || !z.data || !x.data) {
        CHECK(0, "vae: %s", err.msg);
        free(z.data), free(x.data);
        return;
    }
    int f = ls_vae_factor(v);
    nn_tensor image = host_rand(SHAPE(z.shape[0], 3, z.shape[2] * f, z.shape[3] * f), 0.0f);
    nn_tensor mean = host_rand(SHAPE(x.shape[0], 4, x.shape[2] / f, x.shape[3] / f), 0.0f);
    nn_ctx *cpu = nn_ctx_new(nn_backend_cpu());
    ls_vae_decode(v, cpu, &z, &image);
    ls_vae_encode_mean(v, cpu, &x, &mean);
    nn_ctx_free(cpu);

    nn_ctx *c = nn_ctx_new(dev);
    CHECK(ls_vae_place(v, dev, &err) == 0 && ls_vae_backend(v) == dev, "%s", err.msg);
    nn_tensor dz = to_ctx(c, &z, SPATIAL), dx = to_ctx(c, &x, SPATIAL);
    nn_tensor dimage = nn_alloc(c, 4, image.shape), dmean = nn_alloc(c, 4, mean.shape);
    ls_vae_decode(v, c, &dz, &dimage);
    ls_vae_encode_mean(v, c, &dx, &dmean);
    compare_ctx("vae decode (2, 4, 8, 8)", c, &dimage, &image, SPATIAL, 0, rtol);
    compare_ctx("vae encode mean (2, 3, 64, 64)", c, &dmean, &mean, SPATIAL, 0, rtol);
    nn_ctx_free(c);
    ls_vae_free(v);
    free(z.data), free(x.data), free(image.data), free(mean.data);
}

/* The renderer (PE on the host, UNet, decode, bytes) from the folder layout. */
static void test_render(const nn_backend *dev, double face_atol)
{
    ls_musetalk *m = NULL;
    ls_error err = { 0 };
    nn_tensor lat = load_npy(mt_dir, "mt_latents.npy"), aud = load_npy(mt_dir, "mt_audio.npy");
    if (ls_musetalk_load_dir(mt_dir, LS_MUSETALK_V1, &m, &err) != 0 || !lat.data || !aud.data) {
        CHECK(0, "musetalk: %s", err.msg);
        free(lat.data), free(aud.data);
        return;
    }
    int64_t side = ls_musetalk_face_size(m, lat.shape[2]), n = lat.shape[0] * side * side * 3;
    uint8_t *want = malloc((size_t)n), *got = malloc((size_t)n);
    nn_ctx *cpu = nn_ctx_new(nn_backend_cpu());
    ls_musetalk_render(m, cpu, &lat, &aud, want);
    nn_ctx_free(cpu);
    nn_ctx *c = nn_ctx_new(dev);
    CHECK(ls_musetalk_place(m, dev, &err) == 0 && ls_musetalk_backend(m) == dev, "%s", err.msg);
    ls_musetalk_render(m, c, &lat, &aud, got);
    float *fw = malloc((size_t)n * sizeof *fw), *fg = malloc((size_t)n * sizeof *fg);
    for (int64_t i = 0; i < n; i++)
        fw[i] = want[i], fg[i] = got[i];
    check_close("musetalk faces (bytes)", fg, fw, n, face_atol, 0);
    nn_ctx_free(c);
    ls_musetalk_free(m);
    free(lat.data), free(aud.data), free(want), free(got), free(fw), free(fg);
}

/* The renderer run RENDERS times on one context with new inputs each time,
 * as the inference worker runs it: the first runs go direct, one is
 * recorded, the rest replay the recording (nn/recording.h); every result
 * must match the CPU's render of the same inputs. */
#define RENDERS 5

static void test_recorded_render(const nn_backend *dev, double face_atol)
{
    ls_musetalk *on_cpu = NULL, *on_dev = NULL;
    ls_error err = { 0 };
    nn_tensor lat = load_npy(mt_dir, "mt_latents.npy"), aud = load_npy(mt_dir, "mt_audio.npy");
    if (ls_musetalk_load_dir(mt_dir, LS_MUSETALK_V1, &on_cpu, &err) != 0 ||
        ls_musetalk_load_dir(mt_dir, LS_MUSETALK_V1, &on_dev, &err) != 0 ||
        ls_musetalk_place(on_dev, dev, &err) != 0 || !lat.data || !aud.data) {
        CHECK(0, "musetalk: %s", err.msg);
        ls_musetalk_free(on_cpu), ls_musetalk_free(on_dev);
        free(lat.data), free(aud.data);
        return;
    }
    int64_t side = ls_musetalk_face_size(on_cpu, lat.shape[2]);
    int64_t n = lat.shape[0] * side * side * 3;
    uint8_t *want = malloc((size_t)n), *got = malloc((size_t)n);
    float *fw = malloc((size_t)n * sizeof *fw), *fg = malloc((size_t)n * sizeof *fg);
    nn_ctx *cpu = nn_ctx_new(nn_backend_cpu()), *c = nn_ctx_new(dev);
    for (int r = 0; r < RENDERS; r++) {
        nn_tensor l = host_rand(lat.ndim, lat.shape, 1.0f), a = host_rand(aud.ndim, aud.shape, 1.0f);
        ls_musetalk_render(on_cpu, cpu, &l, &a, want);
        ls_musetalk_render(on_dev, c, &l, &a, got);
        for (int64_t i = 0; i < n; i++)
            fw[i] = want[i], fg[i] = got[i];
        char what[64];
        snprintf(what, sizeof what, "musetalk faces, render %d of %d", r + 1, RENDERS);
        check_close(what, fg, fw, n, face_atol, 0);
        free(l.data), free(a.data);
    }
    nn_recording_stats st = nn_recording_stats_of(c);
    printf("recorded renders: %lld direct, %lld recorded, %lld replayed, %lld failed\n",
           (long long)st.direct, (long long)st.recorded, (long long)st.replayed,
           (long long)st.failed);
    CHECK(st.recorded == 1 && st.failed == 0 && st.replayed >= 2 &&
              st.direct + st.replayed == RENDERS,
          "renders: %lld direct, %lld recorded, %lld replayed", (long long)st.direct,
          (long long)st.recorded, (long long)st.replayed);
    nn_ctx_free(cpu), nn_ctx_free(c);
    ls_musetalk_free(on_cpu), ls_musetalk_free(on_dev);
    free(lat.data), free(aud.data), free(want), free(got), free(fw), free(fg);
}

/* The whisper encoder on a log-mel window, CPU then `dev`. */
static void test_whisper(const nn_backend *dev, const char *model, const char *mel_name,
                         double rtol)
{
    ls_whisper *w = NULL;
    ls_error err = { 0 };
    nn_tensor mel = load_npy(whisper_dir, mel_name);
    if (ls_whisper_load(path_in(whisper_dir, model), LS_MUSETALK_V1, &w, &err) != 0 || !mel.data) {
        CHECK(0, "whisper %s: %s", model, err.msg);
        free(mel.data);
        return;
    }
    int64_t frames = mel.shape[1] < 2 * w->n_ctx ? mel.shape[1] : 2 * w->n_ctx;
    int64_t steps = (frames + 1) / 2, n = steps * ls_whisper_n_states(w) * w->n_state;
    float *want = malloc((size_t)n * sizeof *want), *got = malloc((size_t)n * sizeof *got);
    /* the first `frames` columns of each mel band, contiguous */
    float *window = malloc((size_t)(w->n_mels * frames) * sizeof *window);
    for (int b = 0; b < w->n_mels; b++)
        memcpy(window + b * frames, mel.data + b * mel.shape[1], (size_t)frames * sizeof *window);
    nn_ctx *cpu = nn_ctx_new(nn_backend_cpu());
    CHECK(ls_whisper_encode(w, cpu, window, frames, steps, 0, want, &err) == 0, "%s", err.msg);
    nn_ctx_free(cpu);
    nn_ctx *c = nn_ctx_new(dev);
    CHECK(ls_whisper_place(w, dev, &err) == 0 && ls_whisper_backend(w) == dev, "%s", err.msg);
    CHECK(ls_whisper_encode(w, c, window, frames, steps, 0, got, &err) == 0, "%s", err.msg);
    char what[96];
    snprintf(what, sizeof what, "whisper %s states (%lld steps)", model, (long long)steps);
    check_close(what, got, want, n, 0, rtol);
    nn_ctx_free(c);
    ls_whisper_free(w);
    free(mel.data), free(want), free(got), free(window);
}

/* The paste-back on `dev` (avatar/paste.h) against the host's: two faces
 * (one enlarged, one shrunk) into two 720p frames, equal bytes required. */
static void test_paste(const nn_backend *dev)
{
    enum { N = 2, H = 1280 * 720 * 3, FACE = 64 };
    static const int box[N][4] = { { 530, 180, 801, 470 }, { 100, 300, 140, 333 } };
    int64_t fs[4] = { N, 3, FACE, FACE };
    nn_tensor face = host_rand(4, fs, 1.1f);
    uint8_t *frame = malloc((size_t)N * H), *want = malloc((size_t)N * H);
    uint8_t *got = malloc((size_t)N * H), *mask = malloc((size_t)N * 400 * 400);
    for (size_t i = 0; i < (size_t)N * H; i++)
        frame[i] = (uint8_t)(uniform() * 127.5f + 127.5f);
    for (size_t i = 0; i < (size_t)N * 400 * 400; i++)
        mask[i] = (uint8_t)(uniform() * 127.5f + 127.5f);
    nn_paste host[N], device[N];
    nn_ctx *c = nn_ctx_new(dev);
    nn_tensor dface = to_ctx(c, &face, SPATIAL);
    uint8_t *dframe = dev->alloc((size_t)N * H), *dout = dev->alloc((size_t)N * H);
    uint8_t *dmask = dev->alloc((size_t)N * 400 * 400);
    dev->upload(c, dframe, frame, (size_t)N * H);
    dev->upload(c, dmask, mask, (size_t)N * 400 * 400);
    for (int i = 0; i < N; i++) {
        host[i] = (nn_paste){ .frame = frame + i * H, .out = want + i * H, .width = 1280,
                              .height = 720, .mask = mask + i * 400 * 400,
                              .crop_x1 = box[i][0] - 20, .crop_y1 = box[i][1] - 10,
                              .crop_width = 400, .crop_height = 400, .face_x1 = box[i][0],
                              .face_y1 = box[i][1], .face_x2 = box[i][2], .face_y2 = box[i][3] };
        device[i] = host[i];
        device[i].frame = dframe + i * H;
        device[i].out = dout + i * H;
        device[i].mask = dmask + i * 400 * 400;
    }
    ls_paste_faces_host(&face, host);
    ls_paste_faces(c, &dface, device);
    dev->download(c, got, dout, (size_t)N * H);
    size_t differ = 0;
    for (size_t i = 0; i < (size_t)N * H; i++)
        differ += got[i] != want[i];
    printf("%-40s %zu of %d bytes differ from the host's\n", "paste-back (2 faces, 720p)", differ,
           N * H);
    CHECK(differ == 0, "paste-back: %zu bytes differ", differ);
    dev->free(dframe), dev->free(dout), dev->free(dmask);
    nn_ctx_free(c);
    free(face.data), free(frame), free(want), free(got), free(mask);
}

/* Three batches of streamed features (live/stream_features.h) from a
 * synthetic voice on `c`: the encoder at shifted positions, windows cut from
 * a stream. */
static void stream_chunks(const ls_whisper *w, nn_ctx *c, ls_stream_window window, float *out)
{
    ls_stream_features *s = NULL;
    ls_error err = { 0 };
    CHECK(ls_stream_features_new(w, 4, window, &s, &err) == 0, "%s", err.msg);
    if (!s)
        return;
    int64_t chunk = (int64_t)ls_stream_features_tokens(s) * ls_stream_features_dim(s);
    float frame[LS_STREAM_FRAME];
    for (int64_t pos = 0, batches = 0; batches < 3; pos += LS_STREAM_FRAME) {
        for (int j = 0; j < LS_STREAM_FRAME; j++)
            frame[j] = 0.3f * sinf((float)(pos + j) * 0.07f) *
                       (1.0f + 0.5f * sinf((float)(pos + j) * 0.0013f));
        if (ls_stream_features_push(s, frame)) {
            CHECK(ls_stream_features_take(s, c, NULL, out + batches * 4 * chunk, NULL, &err) == 0,
                  "%s", err.msg);
            batches++;
        }
    }
    ls_stream_features_free(s);
}

/* The live server's whisper path on `dev` against the CPU, both windows. */
static void test_stream(const nn_backend *dev, double rtol)
{
    ls_whisper *w = NULL;
    ls_error err = { 0 };
    if (ls_whisper_load(path_in(whisper_dir, "tiny.pt"), LS_MUSETALK_V1, &w, &err) != 0) {
        CHECK(0, "whisper: %s", err.msg);
        return;
    }
    int64_t n = 3 * 4 * (int64_t)LS_CHUNK_STEPS * ls_whisper_n_states(w) * w->n_state;
    float *want[2], *got[2];
    nn_ctx *cpu = nn_ctx_new(nn_backend_cpu());
    for (int k = 0; k < 2; k++) {
        want[k] = calloc((size_t)n, sizeof(float));
        got[k] = calloc((size_t)n, sizeof(float));
        stream_chunks(w, cpu, k ? LS_STREAM_WINDOW_FULL : LS_STREAM_WINDOW_SHORT, want[k]);
    }
    nn_ctx_free(cpu);
    nn_ctx *c = nn_ctx_new(dev);
    CHECK(ls_whisper_place(w, dev, &err) == 0, "%s", err.msg);
    for (int k = 0; k < 2; k++) {
        stream_chunks(w, c, k ? LS_STREAM_WINDOW_FULL : LS_STREAM_WINDOW_SHORT, got[k]);
        check_close(k ? "stream features, full window" : "stream features, short window",
                    got[k], want[k], n, 0, rtol);
        free(want[k]), free(got[k]);
    }
    nn_ctx_free(c);
    ls_whisper_free(w);
}

static void test_networks(const nn_backend *dev, double rtol, double face_atol)
{
    test_paste(dev);
    test_stream(dev, rtol);
    test_whisper(dev, "tiny.pt", "mel_7s.npy", rtol);
    test_whisper(dev, "small", "small_mel_257.npy", rtol);
    test_unet(dev, "unet A (2, 8, 16, 16)", "musetalk/musetalk.json", "musetalk/pytorch_model.bin",
              "unet_a_latent.npy", "unet_a_audio.npy", rtol);
    test_unet(dev, "unet B (1, 5, 12, 8)", "unet_b/musetalk.json", "unet_b/unet.pth",
              "unet_b_latent.npy", "unet_b_audio.npy", rtol);
    test_vae(dev, rtol);
    test_render(dev, face_atol);
    test_recorded_render(dev, face_atol);
}

/* --- device names ------------------------------------------------------------ */

/* --precision: what it accepts, and the CPU refusing a GPU's format. */
static void test_precision_names(void)
{
    static const struct {
        const char *device, *precision;
        nn_storage want;
    } good[] = { { "cuda", "fp16", NN_STORAGE_FP16 }, { "cuda:1", "bf16", NN_STORAGE_BF16 },
                 { "auto", "bf16", NN_STORAGE_BF16 }, { "cuda", NULL, NN_STORAGE_FP32 },
                 { "cpu", NULL, NN_STORAGE_FP32 } };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        nn_device d;
        ls_error err = { 0 };
        CHECK(nn_device_parse(good[i].device, &d, &err) == 0 &&
                  nn_precision_parse(good[i].precision, &d, &err) == 0 &&
                  d.precision == good[i].want,
              "%s %s: %s", good[i].device, good[i].precision ? good[i].precision : "NULL",
              err.msg);
    }
    static const struct {
        const char *device, *precision, *says;
    } bad[] = { { "cuda", "fp32", "unknown precision 'fp32' (fp16 or bf16)" },
                { "cuda", "BF16", "unknown precision 'BF16'" },
                { "cuda", "", "unknown precision ''" },
                { "cpu", "bf16", "bf16 is for a GPU; the CPU computes in fp32" },
                { "cpu", "fp16", "fp16 is for a GPU" } };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nn_device d;
        ls_error err = { 0 };
        CHECK(nn_device_parse(bad[i].device, &d, &err) == 0 &&
                  nn_precision_parse(bad[i].precision, &d, &err) != 0 &&
                  strstr(err.msg, bad[i].says),
              "%s %s: '%s'", bad[i].device, bad[i].precision, err.msg);
    }
    ls_error err = { 0 };
    CHECK(nn_set_device("cpu", "bf16", &err) != 0 && strncmp(err.msg, "--precision: ", 13) == 0,
          "'%s'", err.msg);
    printf("cpu with bf16 -> %s\n", err.msg);
    CHECK(nn_set_device("gpu", NULL, &err) != 0 && strncmp(err.msg, "--device: ", 10) == 0,
          "'%s'", err.msg);
}

static void test_device_names(void)
{
    static const struct {
        const char *name;
        nn_device_kind kind;
        int index;
    } good[] = { { "cpu", NN_DEVICE_CPU, 0 }, { "cuda", NN_DEVICE_CUDA, 0 },
                 { "cuda:3", NN_DEVICE_CUDA, 3 }, { "auto", NN_DEVICE_AUTO, 0 },
                 { NULL, NN_DEVICE_AUTO, 0 } };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        nn_device d;
        ls_error err = { 0 };
        CHECK(nn_device_parse(good[i].name, &d, &err) == 0 && d.kind == good[i].kind &&
                  d.index == good[i].index,
              "%s: %s", good[i].name ? good[i].name : "NULL", err.msg);
    }
    static const char *const bad[] = { "gpu", "cuda:", "cuda:x", "cuda:1x", "cuda:-1", "CPU",
                                       "cuda:999" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nn_device d;
        ls_error err = { 0 };
        CHECK(nn_device_parse(bad[i], &d, &err) != 0 && strstr(err.msg, bad[i]) &&
                  strstr(err.msg, "cpu, cuda, cuda:N"),
              "%s: '%s'", bad[i], err.msg);
    }
    /* a GPU that no machine here has: the reason names the device whatever the build */
    nn_device far = { NN_DEVICE_CUDA, 200, NN_STORAGE_FP32 };
    ls_error err = { 0 };
    CHECK(nn_device_backend(&far, &err) == NULL && strstr(err.msg, "cuda:200: "), "'%s'",
          err.msg);
    printf("cuda:200 -> %s\n", err.msg);
    nn_device cpu = { NN_DEVICE_CPU, 0, NN_STORAGE_FP32 };
    nn_device automatic = { NN_DEVICE_AUTO, 0, NN_STORAGE_FP32 };
    CHECK(nn_device_backend(&cpu, NULL) == nn_backend_cpu(), "cpu backend");
    const nn_backend *chosen = nn_device_backend(&automatic, NULL);
    CHECK(chosen != NULL, "auto backend");
    printf("auto -> %s\n", chosen ? chosen->name : "(none)");
    test_precision_names();
}

/* The networks on the fenced backend storing `storage`, then its leaks. */
static void test_fenced(nn_storage storage, double rtol, double face_atol)
{
    const nn_backend *fenced_be = fenced_backend(storage);
    test_networks(fenced_be, rtol, face_atol);
    CHECK(fence_count == 0, "%s backend: %d blocks never freed", fenced_be->name, fence_count);
    CHECK(fence_host_taken > 0 && fence_host_count == 0,
          "%s backend: %d host buffers taken, %d never freed", fenced_be->name, fence_host_taken,
          fence_host_count);
}

int main(int argc, char **argv)
{
    const char *mode = argc == 4 ? argv[1] : "";
    if (strcmp(mode, "gpu") != 0 && strcmp(mode, "gpu-bf16") != 0 && strcmp(mode, "host") != 0) {
        fprintf(stderr, "usage: test_cuda_ops gpu|gpu-bf16|host MUSETALK_SMALL WHISPER_REF\n");
        return 2;
    }
    mt_dir = argv[2];
    whisper_dir = argv[3];
    nn_set_threads(2);
    if (strcmp(mode, "host") == 0) {
        test_device_names();
        /* the same CPU kernels on both sides: any difference is a fault */
        test_fenced(NN_STORAGE_FP32, 0, 0);
        /* fp16 and bf16 storage as on the GPU: their rounding alone */
        set_device_storage(NN_STORAGE_FP16);
        test_fenced(NN_STORAGE_FP16, tol.network, tol.face_levels);
        set_device_storage(NN_STORAGE_BF16);
        test_fenced(NN_STORAGE_BF16, tol.network, tol.face_levels);
        return check_result("test_cuda_ops host");
    }
    nn_device cuda = { NN_DEVICE_CUDA, 0, strcmp(mode, "gpu") == 0 ? NN_STORAGE_FP16
                                                                    : NN_STORAGE_BF16 };
    ls_error err = { 0 };
    const nn_backend *gpu = nn_device_backend(&cuda, &err);
    if (!gpu) {
        printf("SKIP: %s\n", err.msg);
        return 77;
    }
    printf("device under test: %s\n", gpu->name);
    set_device_storage(gpu->storage);
    test_operators(gpu);
    test_networks(gpu, tol.network, tol.face_levels);
#ifdef LS_HAVE_CUDA
    report_conv_choices();
#endif
    return check_result(strcmp(mode, "gpu") == 0 ? "test_cuda_ops gpu" : "test_cuda_ops gpu-bf16");
}
