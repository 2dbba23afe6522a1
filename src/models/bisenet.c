/*
 * bisenet.c - BiSeNet face parsing: loading with batch norms folded, and
 * the forward pass (see bisenet.h for the network).
 *
 * Folding: BN(conv(x)) = conv'(x) + b' with, per output channel o,
 *   s = gamma[o] / sqrt(running_var[o] + eps), W'[o] = W[o] * s,
 *   b'[o] = beta[o] - running_mean[o] * s.
 * The folded weights are owned copies; the three bias-free 1x1 convolutions
 * without a batch norm point into the (kept open) checkpoint.
 */
#include "models/bisenet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/weights.h"
#include "models/layers.h"

#define BN_EPS 1e-5f
#define RESNET_STAGES 4
#define BLOCKS_PER_STAGE 2

/* A convolution with the batch norm after it folded in. */
typedef struct folded_conv {
    nn_tensor w;   /* (cout, cin, k, k), owned */
    nn_tensor b;   /* (cout), owned */
    int stride, pad;
} folded_conv;

typedef struct basic_block {
    folded_conv conv1;   /* (cout, cin, 3, 3), stride 1 or 2 */
    folded_conv conv2;   /* (cout, cout, 3, 3) */
    folded_conv down;    /* (cout, cin, 1, 1), same stride; w.data NULL when the block keeps its shape */
} basic_block;

/* AttentionRefinementModule. */
typedef struct refine {
    folded_conv conv;    /* (128, cin, 3, 3) + ReLU */
    folded_conv atten;   /* (128, 128, 1, 1), bn_atten folded; then sigmoid */
} refine;

struct ls_bisenet {
    ls_weights *weights;
    folded_conv stem;                                   /* (64, 3, 7, 7) stride 2 */
    basic_block blocks[RESNET_STAGES][BLOCKS_PER_STAGE]; /* 64, 128, 256, 512 channels */
    refine arm16;                                       /* cin 256 */
    refine arm32;                                       /* cin 512 */
    folded_conv conv_avg;                               /* (128, 512, 1, 1) */
    folded_conv conv_head32;                            /* (128, 128, 3, 3) */
    folded_conv conv_head16;                            /* (128, 128, 3, 3) */
    folded_conv ffm_block;                              /* (256, 256, 1, 1) */
    nn_tensor ffm_squeeze;                              /* (64, 256, 1, 1), no bias */
    nn_tensor ffm_expand;                               /* (256, 64, 1, 1), no bias */
    folded_conv head;                                   /* (256, 256, 3, 3) */
    nn_tensor classifier;                               /* (19, 256, 1, 1), no bias */
};

static const int stage_channels[RESNET_STAGES] = { 64, 128, 256, 512 };

/* --- loading ------------------------------------------------------------- */

static int get_tensor(ls_weights *w, const char *prefix, const char *field, int ndim,
                      const int64_t *shape, nn_tensor *out, ls_error *err)
{
    char name[LS_NAME_MAX];
    int64_t dims[NN_MAX_DIMS];
    memcpy(dims, shape, sizeof *dims * (size_t)ndim);
    return ls_weights_get(w, ls_join_name(name, prefix, field), ndim, dims, out, err);
}

/* CONV.weight (cout, cin, k, k) folded with BN.{weight,bias,running_mean,running_var}. */
static int load_folded(ls_weights *w, const char *conv, const char *bn, int cout, int cin, int k,
                       int stride, folded_conv *out, ls_error *err)
{
    nn_tensor weight, gamma, beta, mean, var;
    const int64_t c[1] = { cout };
    if (get_tensor(w, conv, "weight", 4, (int64_t[]){ cout, cin, k, k }, &weight, err) ||
        get_tensor(w, bn, "weight", 1, c, &gamma, err) || get_tensor(w, bn, "bias", 1, c, &beta, err) ||
        get_tensor(w, bn, "running_mean", 1, c, &mean, err) ||
        get_tensor(w, bn, "running_var", 1, c, &var, err))
        return -1;
    size_t per_out = (size_t)cin * k * k;
    float *wf = malloc(sizeof *wf * per_out * cout), *bf = malloc(sizeof *bf * (size_t)cout);
    if (!wf || !bf) {
        free(wf);
        free(bf);
        return ls_error_set(err, "out of memory");
    }
    for (int o = 0; o < cout; o++) {
        float s = gamma.data[o] / sqrtf(var.data[o] + BN_EPS);
        for (size_t i = 0; i < per_out; i++)
            wf[o * per_out + i] = weight.data[o * per_out + i] * s;
        bf[o] = beta.data[o] - mean.data[o] * s;
    }
    out->w = nn_view4(wf, cout, cin, k, k);
    out->b = nn_view1(bf, cout);
    out->stride = stride;
    out->pad = k / 2;
    return 0;
}

/* A ConvBNReLU module: PREFIX.conv and PREFIX.bn. */
static int load_cbr(ls_weights *w, const char *prefix, int cout, int cin, int k, folded_conv *out,
                    ls_error *err)
{
    char conv[LS_NAME_MAX], bn[LS_NAME_MAX];
    return load_folded(w, ls_join_name(conv, prefix, "conv"), ls_join_name(bn, prefix, "bn"), cout,
                       cin, k, 1, out, err);
}

static int load_plain(ls_weights *w, const char *name, int cout, int cin, nn_tensor *out,
                      ls_error *err)
{
    int64_t shape[4] = { cout, cin, 1, 1 };
    return ls_weights_get(w, name, 4, shape, out, err);
}

static int load_block(ls_weights *w, int stage, int index, basic_block *b, ls_error *err)
{
    char prefix[LS_NAME_MAX], conv[LS_NAME_MAX], bn[LS_NAME_MAX];
    snprintf(prefix, sizeof prefix, "cp.resnet.layer%d.%d", stage + 1, index);
    int cout = stage_channels[stage];
    int cin = index == 0 && stage > 0 ? stage_channels[stage - 1] : cout;
    int stride = index == 0 && stage > 0 ? 2 : 1;
    if (load_folded(w, ls_join_name(conv, prefix, "conv1"), ls_join_name(bn, prefix, "bn1"), cout,
                    cin, 3, stride, &b->conv1, err) ||
        load_folded(w, ls_join_name(conv, prefix, "conv2"), ls_join_name(bn, prefix, "bn2"), cout,
                    cout, 3, 1, &b->conv2, err))
        return -1;
    if (cin == cout && stride == 1)
        return 0;
    return load_folded(w, ls_join_name(conv, prefix, "downsample.0"),
                       ls_join_name(bn, prefix, "downsample.1"), cout, cin, 1, stride, &b->down, err);
}

static int load_refine(ls_weights *w, const char *prefix, int cin, refine *r, ls_error *err)
{
    char name[LS_NAME_MAX], bn[LS_NAME_MAX];
    return load_cbr(w, ls_join_name(name, prefix, "conv"), 128, cin, 3, &r->conv, err) ||
                   load_folded(w, ls_join_name(name, prefix, "conv_atten"),
                               ls_join_name(bn, prefix, "bn_atten"), 128, 128, 1, 1, &r->atten, err)
               ? -1
               : 0;
}

/* The training-only heads conv_out16 / conv_out32: shapes checked, not kept. */
static int check_aux_head(ls_weights *w, const char *prefix, ls_error *err)
{
    char name[LS_NAME_MAX];
    folded_conv cbr;
    nn_tensor out;
    if (load_cbr(w, ls_join_name(name, prefix, "conv"), 64, 128, 3, &cbr, err))
        return -1;
    free(cbr.w.data);
    free(cbr.b.data);
    return load_plain(w, ls_join_name(name, prefix, "conv_out.weight"), LS_BISENET_CLASSES, 64, &out,
                      err);
}

static int load_all(ls_bisenet *m, ls_error *err)
{
    ls_weights *w = m->weights;
    if (load_folded(w, "cp.resnet.conv1", "cp.resnet.bn1", 64, 3, 7, 2, &m->stem, err))
        return -1;
    for (int s = 0; s < RESNET_STAGES; s++)
        for (int i = 0; i < BLOCKS_PER_STAGE; i++)
            if (load_block(w, s, i, &m->blocks[s][i], err))
                return -1;
    if (load_refine(w, "cp.arm16", 256, &m->arm16, err) ||
        load_refine(w, "cp.arm32", 512, &m->arm32, err) ||
        load_cbr(w, "cp.conv_avg", 128, 512, 1, &m->conv_avg, err) ||
        load_cbr(w, "cp.conv_head32", 128, 128, 3, &m->conv_head32, err) ||
        load_cbr(w, "cp.conv_head16", 128, 128, 3, &m->conv_head16, err) ||
        load_cbr(w, "ffm.convblk", 256, 256, 1, &m->ffm_block, err) ||
        load_plain(w, "ffm.conv1.weight", 64, 256, &m->ffm_squeeze, err) ||
        load_plain(w, "ffm.conv2.weight", 256, 64, &m->ffm_expand, err) ||
        load_cbr(w, "conv_out.conv", 256, 256, 3, &m->head, err) ||
        load_plain(w, "conv_out.conv_out.weight", LS_BISENET_CLASSES, 256, &m->classifier, err) ||
        check_aux_head(w, "conv_out16", err) || check_aux_head(w, "conv_out32", err))
        return -1;
    return ls_weights_check_unused(w, err);
}

static void free_folded(folded_conv *f)
{
    free(f->w.data);
    free(f->b.data);
}

void ls_bisenet_free(ls_bisenet *m)
{
    if (!m)
        return;
    folded_conv *all[] = { &m->stem, &m->arm16.conv, &m->arm16.atten, &m->arm32.conv,
                           &m->arm32.atten, &m->conv_avg, &m->conv_head32, &m->conv_head16,
                           &m->ffm_block, &m->head };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free_folded(all[i]);
    for (int s = 0; s < RESNET_STAGES; s++)
        for (int i = 0; i < BLOCKS_PER_STAGE; i++) {
            free_folded(&m->blocks[s][i].conv1);
            free_folded(&m->blocks[s][i].conv2);
            free_folded(&m->blocks[s][i].down);
        }
    ls_weights_close(m->weights);
    free(m);
}

int ls_bisenet_load(const char *path, ls_bisenet **out, ls_error *err)
{
    *out = NULL;
    ls_bisenet *m = calloc(1, sizeof *m);
    if (!m)
        return ls_error_set(err, "out of memory");
    if (ls_weights_open(path, &m->weights, err) || load_all(m, err)) {
        ls_error_prefix(err, "face parsing");
        ls_bisenet_free(m);
        return -1;
    }
    *out = m;
    return 0;
}

/* --- host operators ------------------------------------------------------ */

static int64_t plane(const nn_tensor *t)
{
    return t->shape[2] * t->shape[3];
}

static void relu(nn_tensor *t)
{
    int64_t n = nn_numel(t);
    for (int64_t i = 0; i < n; i++)
        t->data[i] = t->data[i] > 0 ? t->data[i] : 0;
}

static void sigmoid(nn_tensor *t)
{
    int64_t n = nn_numel(t);
    for (int64_t i = 0; i < n; i++)
        t->data[i] = 1.0f / (1.0f + expf(-t->data[i]));
}

/* y (N, C, 1, 1) = mean of x over H and W (F.avg_pool2d over the whole map). */
static void global_avg(const nn_tensor *x, nn_tensor *y)
{
    int64_t planes = x->shape[0] * x->shape[1], hw = plane(x);
    for (int64_t p = 0; p < planes; p++) {
        double sum = 0;
        for (int64_t i = 0; i < hw; i++)
            sum += x->data[p * hw + i];
        y->data[p] = (float)(sum / hw);
    }
}

/* x[n, c] = x[n, c] * gate[n, c] (+ x[n, c] when keep) for gate (N, C, 1, 1). */
static void gate_channels(nn_tensor *x, const nn_tensor *gate, int keep)
{
    int64_t planes = x->shape[0] * x->shape[1], hw = plane(x);
    for (int64_t p = 0; p < planes; p++) {
        float g = gate->data[p] + (keep ? 1.0f : 0.0f);
        for (int64_t i = 0; i < hw; i++)
            x->data[p * hw + i] *= g;
    }
}

/* x[n, c] += v[n, c] for v (N, C, 1, 1): nearest upsampling of a 1x1 map, then add. */
static void add_channels(nn_tensor *x, const nn_tensor *v)
{
    int64_t planes = x->shape[0] * x->shape[1], hw = plane(x);
    for (int64_t p = 0; p < planes; p++)
        for (int64_t i = 0; i < hw; i++)
            x->data[p * hw + i] += v->data[p];
}

/* y = F.max_pool2d(x, 3, stride 2, padding 1): padding never wins the max. */
static void max_pool_3x3s2(const nn_tensor *x, nn_tensor *y)
{
    int64_t planes = x->shape[0] * x->shape[1], h = x->shape[2], w = x->shape[3];
    int64_t ho = y->shape[2], wo = y->shape[3];
    for (int64_t p = 0; p < planes; p++) {
        const float *in = x->data + p * h * w;
        float *out = y->data + p * ho * wo;
        for (int64_t oy = 0; oy < ho; oy++)
            for (int64_t ox = 0; ox < wo; ox++) {
                float best = -INFINITY;
                for (int64_t iy = 2 * oy - 1; iy <= 2 * oy + 1; iy++)
                    for (int64_t ix = 2 * ox - 1; ix <= 2 * ox + 1; ix++)
                        if (iy >= 0 && iy < h && ix >= 0 && ix < w && in[iy * w + ix] > best)
                            best = in[iy * w + ix];
                out[oy * wo + ox] = best;
            }
    }
}

/* y = F.interpolate(x, size, mode='nearest'): source index floor(dst * in / out). */
static void resize_nearest(const nn_tensor *x, nn_tensor *y)
{
    int64_t planes = x->shape[0] * x->shape[1], h = x->shape[2], w = x->shape[3];
    int64_t ho = y->shape[2], wo = y->shape[3];
    float sy = (float)h / ho, sx = (float)w / wo;
    for (int64_t p = 0; p < planes; p++)
        for (int64_t oy = 0; oy < ho; oy++) {
            int64_t iy = (int64_t)floorf(oy * sy);
            iy = iy < h - 1 ? iy : h - 1;
            for (int64_t ox = 0; ox < wo; ox++) {
                int64_t ix = (int64_t)floorf(ox * sx);
                ix = ix < w - 1 ? ix : w - 1;
                y->data[(p * ho + oy) * wo + ox] = x->data[(p * h + iy) * w + ix];
            }
        }
}

/* y = F.interpolate(x, size, mode='bilinear', align_corners=True). */
static void resize_bilinear_corners(const nn_tensor *x, nn_tensor *y)
{
    int64_t planes = x->shape[0] * x->shape[1], h = x->shape[2], w = x->shape[3];
    int64_t ho = y->shape[2], wo = y->shape[3];
    float sy = ho > 1 ? (float)(h - 1) / (ho - 1) : 0, sx = wo > 1 ? (float)(w - 1) / (wo - 1) : 0;
#pragma omp parallel for
    for (int64_t p = 0; p < planes; p++) {
        const float *in = x->data + p * h * w;
        for (int64_t oy = 0; oy < ho; oy++) {
            float fy = oy * sy;
            int64_t y0 = (int64_t)fy, y1 = y0 + 1 < h ? y0 + 1 : y0;
            float ly = fy - y0;
            float *out = y->data + (p * ho + oy) * wo;
            for (int64_t ox = 0; ox < wo; ox++) {
                float fx = ox * sx;
                int64_t x0 = (int64_t)fx, x1 = x0 + 1 < w ? x0 + 1 : x0;
                float lx = fx - x0;
                float top = (1 - lx) * in[y0 * w + x0] + lx * in[y0 * w + x1];
                float bottom = (1 - lx) * in[y1 * w + x0] + lx * in[y1 * w + x1];
                out[ox] = (1 - ly) * top + ly * bottom;
            }
        }
    }
}

/* --- forward ------------------------------------------------------------- */

static nn_tensor conv_out_like(nn_ctx *c, const nn_tensor *x, const nn_tensor *w, int stride, int pad)
{
    int k = (int)w->shape[2];
    return nn_alloc4(c, x->shape[0], w->shape[0], nn_conv_out(x->shape[2], k, stride, pad, pad),
                     nn_conv_out(x->shape[3], k, stride, pad, pad));
}

/* y = conv'(x) [+ residual] [then ReLU], a new arena tensor. */
static nn_tensor run_folded(nn_ctx *c, const folded_conv *f, const nn_tensor *x,
                            const nn_tensor *residual, int with_relu)
{
    nn_tensor y = conv_out_like(c, x, &f->w, f->stride, f->pad);
    nn_conv2d_params p = { f->stride, f->stride, f->pad, f->pad, f->pad, f->pad, 0 };
    nn_conv2d(c, x, &f->w, &f->b, &p, residual, &y);
    if (with_relu)
        relu(&y);
    return y;
}

/* y = conv(x), 1x1, no bias. */
static nn_tensor run_plain(nn_ctx *c, const nn_tensor *w, const nn_tensor *x)
{
    nn_tensor y = conv_out_like(c, x, w, 1, 0);
    nn_conv2d_params p = { 1, 1, 0, 0, 0, 0, 0 };
    nn_conv2d(c, x, w, NULL, &p, NULL, &y);
    return y;
}

static nn_tensor pooled(nn_ctx *c, const nn_tensor *x)
{
    nn_tensor y = nn_alloc4(c, x->shape[0], x->shape[1], 1, 1);
    global_avg(x, &y);
    return y;
}

/* out = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)) */
static nn_tensor basic_block_forward(nn_ctx *c, const basic_block *b, const nn_tensor *x)
{
    nn_tensor h = run_folded(c, &b->conv1, x, NULL, 1);
    nn_tensor shortcut = b->down.w.data ? run_folded(c, &b->down, x, NULL, 0) : *x;
    return run_folded(c, &b->conv2, &h, &shortcut, 1);
}

/* feat = CBR(x); feat * sigmoid(bn_atten(conv_atten(avg_pool(feat)))) */
static nn_tensor refine_forward(nn_ctx *c, const refine *r, const nn_tensor *x)
{
    nn_tensor feat = run_folded(c, &r->conv, x, NULL, 1);
    nn_tensor avg = pooled(c, &feat);
    nn_tensor atten = run_folded(c, &r->atten, &avg, NULL, 0);
    sigmoid(&atten);
    gate_channels(&feat, &atten, 0);
    return feat;
}

static nn_tensor resized_nearest(nn_ctx *c, const nn_tensor *x, const nn_tensor *like)
{
    nn_tensor y = nn_alloc4(c, x->shape[0], x->shape[1], like->shape[2], like->shape[3]);
    resize_nearest(x, &y);
    return y;
}

void ls_bisenet_forward(const ls_bisenet *m, nn_ctx *c, const nn_tensor *x, nn_tensor *logits)
{
    NN_CHECK(c->be == nn_backend_cpu(), "bisenet: host operators need the CPU backend");
    NN_CHECK(x->ndim == 4 && x->shape[1] == 3 && x->shape[2] >= 32 && x->shape[3] >= 32,
             "bisenet: input (N, 3, H >= 32, W >= 32)");
    NN_CHECK(logits->ndim == 4 && logits->shape[0] == x->shape[0] &&
                 logits->shape[1] == LS_BISENET_CLASSES && logits->shape[2] == x->shape[2] &&
                 logits->shape[3] == x->shape[3],
             "bisenet: logits (N, 19, H, W)");
    nn_arena_mark mark = nn_arena_get_mark(c->arena);

    // --- context path: ResNet-18
    // x = F.relu(self.bn1(self.conv1(x))); x = self.maxpool(x)
    nn_tensor stem = run_folded(c, &m->stem, x, NULL, 1);
    nn_tensor feat = nn_alloc4(c, stem.shape[0], stem.shape[1], nn_conv_out(stem.shape[2], 3, 2, 1, 1),
                               nn_conv_out(stem.shape[3], 3, 2, 1, 1));
    max_pool_3x3s2(&stem, &feat);
    nn_tensor stage_out[RESNET_STAGES];
    for (int s = 0; s < RESNET_STAGES; s++) {
        for (int i = 0; i < BLOCKS_PER_STAGE; i++)
            feat = basic_block_forward(c, &m->blocks[s][i], &feat);
        stage_out[s] = feat;
    }
    const nn_tensor *feat8 = &stage_out[1], *feat16 = &stage_out[2], *feat32 = &stage_out[3];

    // avg = self.conv_avg(F.avg_pool2d(feat32, feat32.size()[2:]))
    nn_tensor avg32 = pooled(c, feat32);
    nn_tensor avg = run_folded(c, &m->conv_avg, &avg32, NULL, 1);
    // feat32_up = self.conv_head32(F.interpolate(self.arm32(feat32) + avg_up, (H16, W16)))
    nn_tensor sum32 = refine_forward(c, &m->arm32, feat32);
    add_channels(&sum32, &avg);
    nn_tensor up32 = resized_nearest(c, &sum32, feat16);
    nn_tensor head32 = run_folded(c, &m->conv_head32, &up32, NULL, 1);
    // feat16_up = self.conv_head16(F.interpolate(self.arm16(feat16) + feat32_up, (H8, W8)))
    nn_tensor sum16 = refine_forward(c, &m->arm16, feat16);
    nn_add(c, &sum16, &head32, &sum16);
    nn_tensor up16 = resized_nearest(c, &sum16, feat8);
    nn_tensor cp8 = run_folded(c, &m->conv_head16, &up16, NULL, 1);

    // --- feature fusion
    // feat = self.convblk(torch.cat([feat_res8, feat_cp8], dim=1))
    nn_tensor cat = nn_alloc4(c, feat8->shape[0], 256, feat8->shape[2], feat8->shape[3]);
    nn_concat_channels(c, feat8, &cp8, &cat);
    nn_tensor fused = run_folded(c, &m->ffm_block, &cat, NULL, 1);
    // atten = sigmoid(conv2(relu(conv1(avg_pool(feat))))); feat * atten + feat
    nn_tensor fused_avg = pooled(c, &fused);
    nn_tensor squeeze = run_plain(c, &m->ffm_squeeze, &fused_avg);
    relu(&squeeze);
    nn_tensor atten = run_plain(c, &m->ffm_expand, &squeeze);
    sigmoid(&atten);
    gate_channels(&fused, &atten, 1);

    // --- head
    // out = F.interpolate(self.conv_out(feat_fuse), (H, W), mode='bilinear', align_corners=True)
    nn_tensor head = run_folded(c, &m->head, &fused, NULL, 1);
    nn_tensor classes = run_plain(c, &m->classifier, &head);
    resize_bilinear_corners(&classes, logits);
    nn_arena_release(c->arena, mark);
}
