/*
 * test_ops.c - parity of the CPU backend's operators with PyTorch.
 *
 * Usage: test_ops DIR, where DIR was written by tests/ref/ops_ref.py: a list
 * of cases (DIR/cases.txt, "<kind> <case>" per line) and for each case its
 * inputs, parameters and torch's output as .npy files. Every case runs the
 * operator into a fresh output and compares with check_close(); operators
 * documented to allow aliasing (residual == y, in-place norms and
 * activations, add into an input) are run a second time that way.
 *
 * The last check is the steady-state property of the arena: a second
 * forward pass over the same shapes allocates no new memory blocks and
 * reaches the same peak, and every operator gives back the scratch memory
 * it took; a context that reserves that peak first allocates nothing in
 * the pass, and a reservation beyond the backend's memory is refused.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "io/npy.h"
#include "nn/nn.h"

/*
 * Tolerances, as max |got - want| <= atol + rtol * max |want|.
 * GEMM-based operators (conv, linear, attention) sum up to a few thousand fp32
 * products in a different order from torch (blocked and threaded); rounding
 * of such sums stays near sqrt(K) * 2^-24 of the largest partial sums, about
 * 1e-6 of the output range here, so 1e-5 leaves margin and still catches any
 * misplaced tap, padding or scale (those give errors of order 1e-1).
 * Attention outputs are weighted means of v over Lk keys, often much smaller
 * than v itself (means of 4096 unit normals): their rounding scales with |v|
 * (up to about 5 here), so they get 2e-6 absolute on top.
 * Norms: statistics summed in double and a single fp32 rounding per output
 * step: 1e-5. Elementwise SiLU uses a polynomial exp (2 ulp) and GELU libm's
 * erff; a few ulp of the largest value: 1e-6 relative plus 1e-7 absolute for
 * outputs near zero. Layout operators move bits: exact.
 */
#define TOL_GEMM 0.0, 1e-5
#define TOL_ATTENTION 2e-6, 1e-5
#define TOL_NORM 0.0, 1e-5
#define TOL_ELEMENTWISE 1e-7, 1e-6
#define TOL_EXACT 0.0, 0.0

static const char *ref_dir;
static nn_ctx *ctx;

/* Loads <case>.<name>.npy into t; an absent optional file leaves t->data NULL. */
static int load(const char *name, const char *tensor, nn_tensor *t, int required)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.%s.npy", ref_dir, name, tensor);
    memset(t, 0, sizeof *t);
    if (!required) {
        FILE *f = fopen(path, "rb");
        if (!f)
            return 0;
        fclose(f);
    }
    ls_error err;
    if (ls_npy_read(path, t, &err) != 0) {
        CHECK(0, "%s", err.msg);
        return -1;
    }
    return 0;
}

static void unload(nn_tensor *t)
{
    free(t->data);
    t->data = NULL;
}

static nn_tensor alloc_like(const nn_tensor *t)
{
    return nn_alloc(ctx, t->ndim, t->shape);
}

static nn_tensor copy_of(const nn_tensor *t)
{
    nn_tensor r = alloc_like(t);
    memcpy(r.data, t->data, (size_t)nn_numel(t) * sizeof(float));
    return r;
}

static void compare(const char *name, const char *variant, const nn_tensor *got,
                    const nn_tensor *want, double atol, double rtol)
{
    char label[160];
    snprintf(label, sizeof label, "%s%s", name, variant);
    CHECK(nn_same_shape(got, want), "%s: shape", label);
    check_close(label, got->data, want->data, nn_numel(want), atol, rtol);
}

static const nn_tensor *present(const nn_tensor *t)
{
    return t->data ? t : NULL;
}

/* --- one runner per kind of case ------------------------------------------ */

static void run_conv2d(const char *name)
{
    nn_tensor x, w, b, r, want, prm;
    if (load(name, "x", &x, 1) || load(name, "w", &w, 1) || load(name, "b", &b, 0) ||
        load(name, "residual", &r, 0) || load(name, "y", &want, 1) ||
        load(name, "params", &prm, 1))
        return;
    const float *pv = prm.data;
    nn_conv2d_params p = { (int)pv[0], (int)pv[1], (int)pv[2], (int)pv[3],
                           (int)pv[4], (int)pv[5], (int)pv[6] };
    nn_arena_mark mark = nn_arena_get_mark(ctx->arena);
    nn_tensor y = alloc_like(&want);
    nn_conv2d(ctx, &x, &w, present(&b), &p, present(&r), &y);
    compare(name, "", &y, &want, TOL_GEMM);
    if (r.data) {
        nn_tensor yr = copy_of(&r);
        nn_conv2d(ctx, &x, &w, present(&b), &p, &yr, &yr);
        compare(name, " (residual is y)", &yr, &want, TOL_GEMM);
    }
    nn_arena_release(ctx->arena, mark);
    unload(&x), unload(&w), unload(&b), unload(&r), unload(&want), unload(&prm);
}

static void run_conv1d(const char *name)
{
    nn_tensor x, w, b, want, prm;
    if (load(name, "x", &x, 1) || load(name, "w", &w, 1) || load(name, "b", &b, 1) ||
        load(name, "y", &want, 1) || load(name, "params", &prm, 1))
        return;
    const float *pv = prm.data;
    nn_arena_mark mark = nn_arena_get_mark(ctx->arena);
    nn_tensor y = alloc_like(&want);
    nn_conv1d(ctx, &x, &w, &b, (int)pv[0], (int)pv[1], (int)pv[2], (nn_act)pv[3], &y);
    compare(name, "", &y, &want, TOL_GEMM);
    nn_arena_release(ctx->arena, mark);
    unload(&x), unload(&w), unload(&b), unload(&want), unload(&prm);
}

static void run_linear(const char *name)
{
    nn_tensor x, w, b, r, want;
    if (load(name, "x", &x, 1) || load(name, "w", &w, 1) || load(name, "b", &b, 0) ||
        load(name, "residual", &r, 0) || load(name, "y", &want, 1))
        return;
    nn_arena_mark mark = nn_arena_get_mark(ctx->arena);
    nn_tensor y = alloc_like(&want);
    nn_linear(ctx, &x, &w, present(&b), present(&r), &y);
    compare(name, "", &y, &want, TOL_GEMM);
    if (r.data) {
        nn_tensor yr = copy_of(&r);
        nn_linear(ctx, &x, &w, present(&b), &yr, &yr);
        compare(name, " (residual is y)", &yr, &want, TOL_GEMM);
    }
    nn_arena_release(ctx->arena, mark);
    unload(&x), unload(&w), unload(&b), unload(&r), unload(&want);
}

static void run_group_norm(const char *name)
{
    nn_tensor x, gamma, beta, want, prm;
    if (load(name, "x", &x, 1) || load(name, "gamma", &gamma, 1) ||
        load(name, "beta", &beta, 1) || load(name, "y", &want, 1) ||
        load(name, "params", &prm, 1))
        return;
    const float *pv = prm.data;
    nn_arena_mark mark = nn_arena_get_mark(ctx->arena);
    nn_tensor y = alloc_like(&want);
    nn_group_norm(ctx, &x, &gamma, &beta, (int)pv[0], pv[1], (nn_act)pv[2], &y);
    compare(name, "", &y, &want, TOL_NORM);
    nn_tensor inplace = copy_of(&x);
    nn_group_norm(ctx, &inplace, &gamma, &beta, (int)pv[0], pv[1], (nn_act)pv[2], &inplace);
    compare(name, " (in place)", &inplace, &want, TOL_NORM);
    nn_arena_release(ctx->arena, mark);
    unload(&x), unload(&gamma), unload(&beta), unload(&want), unload(&prm);
}

static void run_layer_norm(const char *name)
{
    nn_tensor x, gamma, beta, want, prm;
    if (load(name, "x", &x, 1) || load(name, "gamma", &gamma, 1) ||
        load(name, "beta", &beta, 1) || load(name, "y", &want, 1) ||
        load(name, "params", &prm, 1))
        return;
    nn_arena_mark mark = nn_arena_get_mark(ctx->arena);
    nn_tensor y = alloc_like(&want);
    nn_layer_norm(ctx, &x, &gamma, &beta, prm.data[0], &y);
    compare(name, "", &y, &want, TOL_NORM);
    nn_tensor inplace = copy_of(&x);
    nn_layer_norm(ctx, &inplace, &gamma, &beta, prm.data[0], &inplace);
    compare(name, " (in place)", &inplace, &want, TOL_NORM);
    nn_arena_release(ctx->arena, mark);
    unload(&x), unload(&gamma), unload(&beta), unload(&want), unload(&prm);
}

static void run_activation(const char *name)
{
    nn_tensor x, want, prm;
    if (load(name, "x", &x, 1) || load(name, "y", &want, 1) || load(name, "params", &prm, 1))
        return;
    nn_act act = (nn_act)prm.data[0];
    nn_arena_mark mark = nn_arena_get_mark(ctx->arena);
    nn_tensor y = alloc_like(&want);
    nn_activation(ctx, &x, act, &y);
    compare(name, "", &y, &want, TOL_ELEMENTWISE);
    nn_tensor inplace = copy_of(&x);
    nn_activation(ctx, &inplace, act, &inplace);
    compare(name, " (in place)", &inplace, &want, TOL_ELEMENTWISE);
    nn_arena_release(ctx->arena, mark);
    unload(&x), unload(&want), unload(&prm);
}

static void run_geglu(const char *name)
{
    nn_tensor x, want;
    if (load(name, "x", &x, 1) || load(name, "y", &want, 1))
        return;
    nn_arena_mark mark = nn_arena_get_mark(ctx->arena);
    nn_tensor y = alloc_like(&want);
    nn_geglu(ctx, &x, &y);
    compare(name, "", &y, &want, TOL_ELEMENTWISE);
    nn_arena_release(ctx->arena, mark);
    unload(&x), unload(&want);
}

static void run_attention(const char *name)
{
    nn_tensor q, k, v, want, prm;
    if (load(name, "q", &q, 1) || load(name, "k", &k, 1) || load(name, "v", &v, 1) ||
        load(name, "y", &want, 1) || load(name, "params", &prm, 1))
        return;
    nn_arena_mark mark = nn_arena_get_mark(ctx->arena);
    nn_tensor y = alloc_like(&want);
    nn_attention(ctx, &q, &k, &v, (int)prm.data[0], &y);
    compare(name, "", &y, &want, TOL_ATTENTION);
    nn_arena_release(ctx->arena, mark);
    unload(&q), unload(&k), unload(&v), unload(&want), unload(&prm);
}

static void run_add(const char *name)
{
    nn_tensor a, b, want;
    if (load(name, "a", &a, 1) || load(name, "b", &b, 1) || load(name, "y", &want, 1))
        return;
    nn_arena_mark mark = nn_arena_get_mark(ctx->arena);
    nn_tensor y = alloc_like(&want);
    nn_add(ctx, &a, &b, &y);
    compare(name, "", &y, &want, TOL_EXACT);
    nn_tensor into_a = copy_of(&a);
    nn_add(ctx, &into_a, &b, &into_a);
    compare(name, " (into a)", &into_a, &want, TOL_EXACT);
    nn_arena_release(ctx->arena, mark);
    unload(&a), unload(&b), unload(&want);
}

static void run_upsample2x(const char *name)
{
    nn_tensor x, want;
    if (load(name, "x", &x, 1) || load(name, "y", &want, 1))
        return;
    nn_arena_mark mark = nn_arena_get_mark(ctx->arena);
    nn_tensor y = alloc_like(&want);
    nn_upsample2x(ctx, &x, &y);
    compare(name, "", &y, &want, TOL_EXACT);
    nn_arena_release(ctx->arena, mark);
    unload(&x), unload(&want);
}

static void run_concat(const char *name)
{
    nn_tensor a, b, want;
    if (load(name, "a", &a, 1) || load(name, "b", &b, 1) || load(name, "y", &want, 1))
        return;
    nn_arena_mark mark = nn_arena_get_mark(ctx->arena);
    nn_tensor y = alloc_like(&want);
    nn_concat_channels(ctx, &a, &b, &y);
    compare(name, "", &y, &want, TOL_EXACT);
    nn_arena_release(ctx->arena, mark);
    unload(&a), unload(&b), unload(&want);
}

static void run_transpose12(const char *name)
{
    nn_tensor x, want;
    if (load(name, "x", &x, 1) || load(name, "y", &want, 1))
        return;
    nn_arena_mark mark = nn_arena_get_mark(ctx->arena);
    nn_tensor y = alloc_like(&want), back = alloc_like(&x);
    nn_spatial_to_tokens(ctx, &x, &y);
    compare(name, " spatial_to_tokens", &y, &want, TOL_EXACT);
    nn_tokens_to_spatial(ctx, &y, &back);
    compare(name, " tokens_to_spatial", &back, &x, TOL_EXACT);
    nn_arena_release(ctx->arena, mark);
    unload(&x), unload(&want);
}

static const struct {
    const char *kind;
    void (*run)(const char *name);
} runners[] = {
    { "conv2d", run_conv2d },         { "conv1d", run_conv1d },
    { "linear", run_linear },         { "group_norm", run_group_norm },
    { "layer_norm", run_layer_norm }, { "activation", run_activation },
    { "geglu", run_geglu },           { "attention", run_attention },
    { "add", run_add },               { "upsample2x", run_upsample2x },
    { "concat", run_concat },         { "transpose12", run_transpose12 },
};
#define NKINDS ((int)(sizeof runners / sizeof runners[0]))

static void run_cases(void)
{
    char path[1024], kind[64], name[128];
    int count[NKINDS] = { 0 };
    snprintf(path, sizeof path, "%s/cases.txt", ref_dir);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL, "cannot open %s", path);
    if (!f)
        return;
    while (fscanf(f, "%63s %127s", kind, name) == 2) {
        int i = 0;
        while (i < NKINDS && strcmp(runners[i].kind, kind) != 0)
            i++;
        CHECK(i < NKINDS, "unknown kind '%s' in %s", kind, path);
        if (i < NKINDS) {
            runners[i].run(name);
            count[i]++;
        }
    }
    fclose(f);
    for (int i = 0; i < NKINDS; i++)
        CHECK(count[i] > 0, "no %s case in %s", runners[i].kind, path);
}

/* --- steady state: no new arena blocks on the second pass ------------------ */

static int block_allocs;
static size_t alloc_limit = SIZE_MAX;   /* larger blocks: "out of memory" */

static void *counting_alloc(size_t bytes)
{
    if (bytes > alloc_limit)
        return NULL;
    block_allocs++;
    return nn_backend_cpu()->alloc(bytes);
}

/* Allocates each output, runs the operator, and checks the operator handed
 * back its scratch memory (the arena holds exactly the outputs afterwards). */
static void steady_pass(nn_ctx *c, const nn_tensor *gn_x, const nn_tensor *gn_gamma,
                        const nn_tensor *gn_beta, const nn_tensor *conv_x,
                        const nn_tensor *conv_w, const nn_tensor *att_q)
{
    size_t before = nn_arena_used(c->arena);
    nn_tensor g1 = nn_alloc(c, gn_x->ndim, gn_x->shape);
    nn_tensor g2 = nn_alloc(c, gn_x->ndim, gn_x->shape);   /* outgrows the first block */
    size_t outputs = nn_arena_used(c->arena);
    nn_group_norm(c, gn_x, gn_gamma, gn_beta, 32, 1e-6f, NN_ACT_SILU, &g1);
    nn_group_norm(c, &g1, gn_gamma, gn_beta, 32, 1e-6f, NN_ACT_NONE, &g2);
    CHECK(nn_arena_used(c->arena) == outputs, "group_norm keeps scratch memory");

    nn_conv2d_params p = { 1, 1, 1, 1, 1, 1, 0 };
    nn_tensor y = nn_alloc4(c, conv_x->shape[0], conv_w->shape[0], conv_x->shape[2],
                            conv_x->shape[3]);
    outputs = nn_arena_used(c->arena);
    nn_conv2d(c, conv_x, conv_w, NULL, &p, NULL, &y);
    CHECK(nn_arena_used(c->arena) == outputs, "conv2d keeps scratch memory");

    nn_tensor a = nn_alloc(c, att_q->ndim, att_q->shape);
    outputs = nn_arena_used(c->arena);
    nn_attention(c, att_q, att_q, att_q, 8, &a);
    CHECK(nn_arena_used(c->arena) == outputs, "attention keeps scratch memory");
    CHECK(nn_arena_used(c->arena) > before, "pass allocated its outputs");
}

/* nn_arena_reserve: a fresh context that reserves the measured peak runs
 * the pass without allocating; a reservation the backend cannot hold fails
 * without aborting, and the arena still works after it. */
static void check_reserve(const nn_backend *counting, size_t peak, const nn_tensor *t[6])
{
    nn_ctx *c = nn_ctx_new(counting);
    CHECK(c != NULL, "context");
    if (!c)
        return;
    CHECK(nn_arena_reserve(c->arena, peak) == 0, "reserving %zu bytes", peak);
    int allocs = block_allocs;
    steady_pass(c, t[0], t[1], t[2], t[3], t[4], t[5]);
    nn_arena_reset(c->arena);
    CHECK(block_allocs == allocs, "a pass within its reservation allocated %d blocks",
          block_allocs - allocs);
    alloc_limit = peak;
    CHECK(nn_arena_reserve(c->arena, 2 * peak) == -1, "a reservation beyond memory succeeded");
    alloc_limit = SIZE_MAX;
    steady_pass(c, t[0], t[1], t[2], t[3], t[4], t[5]);
    nn_arena_reset(c->arena);
    printf("reservation: a pass within %zu bytes allocated nothing; twice that refused\n", peak);
    nn_ctx_free(c);
}

static void check_steady_state(void)
{
    nn_tensor gn_x, gn_gamma, gn_beta, conv_x, conv_w, att_q;
    if (load("group_norm_large", "x", &gn_x, 1) ||
        load("group_norm_large", "gamma", &gn_gamma, 1) ||
        load("group_norm_large", "beta", &gn_beta, 1) ||
        load("conv3x3_row_tiles", "x", &conv_x, 1) || load("conv3x3_row_tiles", "w", &conv_w, 1) ||
        load("attention_self", "q", &att_q, 1))
        return;
    nn_backend counting = *nn_backend_cpu();
    counting.alloc = counting_alloc;
    nn_ctx *c = nn_ctx_new(&counting);
    CHECK(c != NULL, "context");
    if (c) {
        uint64_t fresh = nn_arena_layout(c->arena);
        steady_pass(c, &gn_x, &gn_gamma, &gn_beta, &conv_x, &conv_w, &att_q);
        size_t peak = nn_arena_peak(c->arena);
        nn_arena_reset(c->arena);
        CHECK(nn_arena_layout(c->arena) != fresh, "the first pass grew the arena unseen");
        int allocs = block_allocs;
        uint64_t layout = nn_arena_layout(c->arena);
        size_t held = nn_arena_size(c->arena);
        CHECK(held >= peak, "the arena holds %zu bytes, under its peak %zu", held, peak);
        for (int pass = 0; pass < 2; pass++) {
            steady_pass(c, &gn_x, &gn_gamma, &gn_beta, &conv_x, &conv_w, &att_q);
            nn_arena_reset(c->arena);
        }
        printf("steady state: first pass %d block(s), later passes %d more; peak %zu -> %zu "
               "bytes\n", allocs, block_allocs - allocs, peak, nn_arena_peak(c->arena));
        CHECK(block_allocs == allocs, "later passes allocated %d arena blocks",
              block_allocs - allocs);
        CHECK(nn_arena_peak(c->arena) == peak, "peak grew from %zu to %zu", peak,
              nn_arena_peak(c->arena));
        CHECK(nn_arena_layout(c->arena) == layout && nn_arena_size(c->arena) == held,
              "the blocks changed without an allocation");
        nn_ctx_free(c);
        const nn_tensor *tensors[6] = { &gn_x, &gn_gamma, &gn_beta, &conv_x, &conv_w, &att_q };
        check_reserve(&counting, peak, tensors);
    }
    unload(&gn_x), unload(&gn_gamma), unload(&gn_beta);
    unload(&conv_x), unload(&conv_w), unload(&att_q);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_ops REF_DIR\n");
        return 2;
    }
    ref_dir = argv[1];
    nn_set_threads(2);   /* exercise the threaded tile paths whatever the machine */
    ctx = nn_ctx_new(nn_backend_cpu());
    if (!ctx)
        return 1;
    run_cases();
    check_steady_state();
    nn_ctx_free(ctx);
    return check_result("test_ops");
}
