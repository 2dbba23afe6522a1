/*
 * unet.c - UNet2DConditionModel on the nn engine (see unet.h).
 *
 * Structure, in diffusers' module names:
 *   conv_in
 *   down_blocks[i]: layers_per_block x (resnet [-> attention]) [-> downsampler]
 *   mid_block:      resnet -> attention -> resnet
 *   up_blocks[i]:   (layers_per_block + 1) x (cat(h, skip) -> resnet [-> attention]) [-> upsampler]
 *   conv_norm_out -> SiLU -> conv_out
 * attention = Transformer2DModel:
 *   GroupNorm(eps 1e-6) -> proj_in -> (N, HW, C) tokens -> BasicTransformerBlock -> proj_out
 *   -> + input
 * BasicTransformerBlock (LayerNorm eps 1e-5):
 *   x += attn1(norm1(x)); x += attn2(norm2(x), audio); x += ff(norm3(x)), ff = GEGLU MLP
 *
 * Memory: the skips (conv_in output, every down layer and downsampler
 * output) are the only long-lived activations; they stay in the arena until
 * the pass ends. The mid and up chains alternate between two buffers
 * (ls_pingpong) and every block releases its temporaries before returning.
 */
#include "models/unet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "io/weights.h"
#include "models/layers.h"
#include "models/model_files.h"

#define MAX_SKIPS (1 + LS_UNET_MAX_BLOCKS * LS_UNET_MAX_LAYERS)
#define TRANSFORMER_NORM_EPS 1e-6f   /* Transformer2DModel's GroupNorm */
#define LAYER_NORM_EPS 1e-5f         /* BasicTransformerBlock's LayerNorms */

typedef struct {                  /* diffusers Attention; C channels, K = key/value input width */
    ls_affine q;                  /* (C, C), no bias */
    ls_affine k, v;               /* (C, K), no bias */
    ls_affine out;                /* (C, C), (C): to_out.0 */
} attention_weights;

typedef struct {                  /* BasicTransformerBlock, C channels */
    ls_affine norm1, norm2, norm3;    /* (C), (C) */
    attention_weights attn1;          /* self-attention, K = C */
    attention_weights attn2;          /* cross-attention over the audio, K = cross_attention_dim */
    ls_affine ff_in;                  /* (8C, C), (8C): ff.net.0.proj, GEGLU value half first */
    ls_affine ff_out;                 /* (C, 4C), (C): ff.net.2 */
} transformer_block;

typedef struct {                  /* Transformer2DModel with one transformer block */
    int heads, groups, linear_projection;
    ls_affine norm;                   /* (C), (C) */
    ls_affine proj_in;                /* (C, C, 1, 1) conv or (C, C) linear, (C) */
    transformer_block block;
    ls_affine proj_out;               /* (C, C, 1, 1) conv or (C, C) linear, (C) */
} transformer;

typedef struct {                  /* one down or up block */
    int channels;                     /* output channels C */
    int n_layers;
    int has_attention;
    ls_resnet resnets[LS_UNET_MAX_LAYERS];
    transformer attentions[LS_UNET_MAX_LAYERS];
    ls_affine sampler;                /* (C, C, 3, 3), (C): down/upsampler; w.data NULL if none */
} unet_block;

struct ls_unet {
    ls_unet_config cfg;
    ls_weights *weights;
    ls_placement placed;              /* the weights' copy on a GPU, when placed */
    ls_affine conv_in;                /* (C0, in, 3, 3), (C0) */
    unet_block down[LS_UNET_MAX_BLOCKS];
    ls_resnet mid_resnets[2];         /* (Cn -> Cn) */
    transformer mid_attention;
    unet_block up[LS_UNET_MAX_BLOCKS];
    ls_affine norm_out;               /* (C0), (C0) */
    ls_affine conv_out;               /* (out, C0, 3, 3), (out) */
};

/* --- loading ------------------------------------------------------------- */

static const char *const UNET_FILES[] = { "diffusion_pytorch_model.safetensors",
                                          "diffusion_pytorch_model.bin", "pytorch_model.bin",
                                          "unet.pth", NULL };

static void host_silu(float *x, int n)
{
    for (int i = 0; i < n; i++)
        x[i] = x[i] / (1.0f + expf(-x[i]));
}

/* SiLU(temb), temb = linear_2(SiLU(linear_1(sinusoid(t = 0)))): 4*C0 values, malloc'd. */
static float *constant_time_embedding(ls_weights *w, const ls_unet_config *cfg, ls_error *err)
{
    int c0 = cfg->block_out_channels[0], dim = 4 * c0, half = c0 / 2;
    ls_affine linear_1, linear_2;
    if (ls_load_linear(w, "time_embedding.linear_1", dim, c0, 1, &linear_1, err) != 0 ||
        ls_load_linear(w, "time_embedding.linear_2", dim, dim, 1, &linear_2, err) != 0)
        return NULL;
    float *sinusoid = calloc(c0, sizeof *sinusoid);
    float *hidden = malloc(dim * sizeof *hidden);
    float *temb = malloc(dim * sizeof *temb);
    if (!sinusoid || !hidden || !temb) {
        free(sinusoid);
        free(hidden);
        free(temb);
        ls_error_set(err, "out of memory");
        return NULL;
    }
    /* At t = 0 every sin is 0 and every cos is 1: [cos | sin] with flip_sin_to_cos, else
     * [sin | cos]; an odd width ends in a zero pad. */
    for (int i = 0; i < half; i++)
        sinusoid[cfg->flip_sin_to_cos ? i : half + i] = 1.0f;
    ls_host_linear(&linear_1, sinusoid, hidden);
    host_silu(hidden, dim);
    ls_host_linear(&linear_2, hidden, temb);
    host_silu(temb, dim);
    free(sinusoid);
    free(hidden);
    return temb;
}

static int load_attention_weights(ls_weights *w, const char *prefix, int ch, int kv_dim,
                                  attention_weights *a, ls_error *err)
{
    char name[LS_NAME_MAX];
    return ls_load_linear(w, ls_join_name(name, prefix, "to_q"), ch, ch, 0, &a->q, err) ||
           ls_load_linear(w, ls_join_name(name, prefix, "to_k"), ch, kv_dim, 0, &a->k, err) ||
           ls_load_linear(w, ls_join_name(name, prefix, "to_v"), ch, kv_dim, 0, &a->v, err) ||
           ls_load_linear(w, ls_join_name(name, prefix, "to_out.0"), ch, ch, 1, &a->out, err)
               ? -1 : 0;
}

static int load_transformer_block(ls_weights *w, const char *prefix, int ch, int cross_dim,
                                  transformer_block *b, ls_error *err)
{
    char name[LS_NAME_MAX];
    return ls_load_norm(w, ls_join_name(name, prefix, "norm1"), ch, &b->norm1, err) ||
           load_attention_weights(w, ls_join_name(name, prefix, "attn1"), ch, ch, &b->attn1, err) ||
           ls_load_norm(w, ls_join_name(name, prefix, "norm2"), ch, &b->norm2, err) ||
           load_attention_weights(w, ls_join_name(name, prefix, "attn2"), ch, cross_dim, &b->attn2,
                                  err) ||
           ls_load_norm(w, ls_join_name(name, prefix, "norm3"), ch, &b->norm3, err) ||
           ls_load_linear(w, ls_join_name(name, prefix, "ff.net.0.proj"), 8 * ch, ch, 1, &b->ff_in,
                          err) ||
           ls_load_linear(w, ls_join_name(name, prefix, "ff.net.2"), ch, 4 * ch, 1, &b->ff_out, err)
               ? -1 : 0;
}

/* proj_in / proj_out: a 1x1 conv, or a linear with use_linear_projection. */
static int load_projection(ls_weights *w, const char *name, int ch, int linear, ls_affine *p,
                           ls_error *err)
{
    return linear ? ls_load_linear(w, name, ch, ch, 1, p, err)
                  : ls_load_conv(w, name, ch, ch, 1, p, err);
}

static int load_transformer(ls_weights *w, const char *prefix, const ls_unet_config *cfg, int ch,
                            int heads, transformer *t, ls_error *err)
{
    char name[LS_NAME_MAX];
    t->heads = heads;
    t->groups = cfg->norm_num_groups;
    t->linear_projection = cfg->use_linear_projection;
    return ls_load_norm(w, ls_join_name(name, prefix, "norm"), ch, &t->norm, err) ||
           load_projection(w, ls_join_name(name, prefix, "proj_in"), ch, t->linear_projection,
                           &t->proj_in, err) ||
           load_transformer_block(w, ls_join_name(name, prefix, "transformer_blocks.0"), ch,
                                  cfg->cross_attention_dim, &t->block, err) ||
           load_projection(w, ls_join_name(name, prefix, "proj_out"), ch, t->linear_projection,
                           &t->proj_out, err)
               ? -1 : 0;
}

/* Resnet and, in an attention block, transformer j of block `kind`_blocks.i. */
static int load_layer(ls_unet *u, const char *kind, int i, int j, int cin, int heads,
                      const float *silu_temb, unet_block *b, ls_error *err)
{
    const ls_unet_config *cfg = &u->cfg;
    char prefix[LS_NAME_MAX];
    snprintf(prefix, sizeof prefix, "%s_blocks.%d.resnets.%d", kind, i, j);
    if (ls_resnet_load(u->weights, prefix, cin, b->channels, cfg->norm_num_groups, cfg->norm_eps,
                       silu_temb, 4 * cfg->block_out_channels[0], &b->resnets[j], err) != 0)
        return -1;
    if (!b->has_attention)
        return 0;
    snprintf(prefix, sizeof prefix, "%s_blocks.%d.attentions.%d", kind, i, j);
    return load_transformer(u->weights, prefix, cfg, b->channels, heads, &b->attentions[j], err);
}

/* Walks the network in forward order, tracking the channels of the skip
 * stack so each up resnet gets its input width cat(h, skip). */
static int load_blocks(ls_unet *u, const float *silu_temb, ls_error *err)
{
    const ls_unet_config *cfg = &u->cfg;
    ls_weights *w = u->weights;
    int n = cfg->n_blocks, c0 = cfg->block_out_channels[0];
    int skip_channels[MAX_SKIPS], n_skips = 0;
    char name[LS_NAME_MAX];

    if (ls_load_conv(w, "conv_in", c0, cfg->in_channels, 3, &u->conv_in, err) != 0)
        return -1;
    skip_channels[n_skips++] = c0;
    int ch = c0;
    for (int i = 0; i < n; i++) {
        unet_block *b = &u->down[i];
        b->channels = cfg->block_out_channels[i];
        b->n_layers = cfg->layers_per_block;
        b->has_attention = cfg->down_cross_attn[i];
        for (int j = 0; j < b->n_layers; j++) {
            if (load_layer(u, "down", i, j, ch, cfg->heads[i], silu_temb, b, err) != 0)
                return -1;
            ch = b->channels;
            skip_channels[n_skips++] = ch;
        }
        if (i < n - 1) {
            snprintf(name, sizeof name, "down_blocks.%d.downsamplers.0.conv", i);
            if (ls_load_conv(w, name, ch, ch, 3, &b->sampler, err) != 0)
                return -1;
            skip_channels[n_skips++] = ch;
        }
    }

    for (int j = 0; j < 2; j++) {
        snprintf(name, sizeof name, "mid_block.resnets.%d", j);
        if (ls_resnet_load(w, name, ch, ch, cfg->norm_num_groups, cfg->norm_eps, silu_temb, 4 * c0,
                           &u->mid_resnets[j], err) != 0)
            return -1;
    }
    if (load_transformer(w, "mid_block.attentions.0", cfg, ch, cfg->heads[n - 1],
                         &u->mid_attention, err) != 0)
        return -1;

    for (int i = 0; i < n; i++) {
        unet_block *b = &u->up[i];
        b->channels = cfg->block_out_channels[n - 1 - i];
        b->n_layers = cfg->layers_per_block + 1;
        b->has_attention = cfg->up_cross_attn[i];
        for (int j = 0; j < b->n_layers; j++) {
            int cin = ch + skip_channels[--n_skips];
            if (load_layer(u, "up", i, j, cin, cfg->heads[n - 1 - i], silu_temb, b, err) != 0)
                return -1;
            ch = b->channels;
        }
        if (i < n - 1) {
            snprintf(name, sizeof name, "up_blocks.%d.upsamplers.0.conv", i);
            if (ls_load_conv(w, name, ch, ch, 3, &b->sampler, err) != 0)
                return -1;
        }
    }

    if (ls_load_norm(w, "conv_norm_out", c0, &u->norm_out, err) != 0 ||
        ls_load_conv(w, "conv_out", cfg->out_channels, c0, 3, &u->conv_out, err) != 0)
        return -1;
    return 0;
}

int ls_unet_load(const char *config_path, const char *weights_path, ls_unet **out, ls_error *err)
{
    *out = NULL;
    ls_unet *u = calloc(1, sizeof *u);
    if (!u)
        return ls_error_set(err, "out of memory");
    char path[LS_PATH_MAX];
    float *silu_temb = NULL;
    int rc = -1;
    if (ls_unet_config_read(config_path, &u->cfg, err) == 0 &&
        ls_model_file(weights_path, UNET_FILES, path, sizeof path, err) == 0 &&
        ls_weights_open(path, &u->weights, err) == 0 &&
        (silu_temb = constant_time_embedding(u->weights, &u->cfg, err)) != NULL &&
        load_blocks(u, silu_temb, err) == 0 && ls_weights_check_unused(u->weights, err) == 0)
        rc = 0;
    free(silu_temb);
    if (rc != 0) {
        ls_unet_free(u);
        return -1;
    }
    *out = u;
    return 0;
}

/* --- placement ------------------------------------------------------------ */

static void place_transformer(ls_placement *p, transformer *t)
{
    transformer_block *b = &t->block;
    attention_weights *attn[] = { &b->attn1, &b->attn2 };
    ls_place_affine(p, &t->norm);
    ls_place_affine(p, &t->proj_in);
    ls_place_affine(p, &b->norm1);
    ls_place_affine(p, &b->norm2);
    ls_place_affine(p, &b->norm3);
    for (int i = 0; i < 2; i++) {
        ls_place_affine(p, &attn[i]->q);
        ls_place_affine(p, &attn[i]->k);
        ls_place_affine(p, &attn[i]->v);
        ls_place_affine(p, &attn[i]->out);
    }
    ls_place_affine(p, &b->ff_in);
    ls_place_affine(p, &b->ff_out);
    ls_place_affine(p, &t->proj_out);
}

static void place_block(ls_placement *p, unet_block *b)
{
    for (int j = 0; j < b->n_layers; j++) {
        ls_place_resnet(p, &b->resnets[j]);
        if (b->has_attention)
            place_transformer(p, &b->attentions[j]);
    }
    ls_place_affine(p, &b->sampler);
}

static void walk_unet(void *model, ls_placement *p)
{
    ls_unet *u = model;
    ls_place_affine(p, &u->conv_in);
    for (int i = 0; i < u->cfg.n_blocks; i++) {
        place_block(p, &u->down[i]);
        place_block(p, &u->up[i]);
    }
    ls_place_resnet(p, &u->mid_resnets[0]);
    place_transformer(p, &u->mid_attention);
    ls_place_resnet(p, &u->mid_resnets[1]);
    ls_place_affine(p, &u->norm_out);
    ls_place_affine(p, &u->conv_out);
}

int ls_unet_place(ls_unet *u, const nn_backend *be, ls_error *err)
{
    return ls_placement_run(&u->placed, be, walk_unet, u, err);
}

const nn_backend *ls_unet_backend(const ls_unet *u)
{
    return ls_placement_backend(&u->placed);
}

void ls_unet_free(ls_unet *u)
{
    if (!u)
        return;
    ls_placement_free(&u->placed);
    for (int i = 0; i < LS_UNET_MAX_BLOCKS; i++)
        for (int j = 0; j < LS_UNET_MAX_LAYERS; j++) {
            ls_resnet_free(&u->down[i].resnets[j]);
            ls_resnet_free(&u->up[i].resnets[j]);
        }
    ls_resnet_free(&u->mid_resnets[0]);
    ls_resnet_free(&u->mid_resnets[1]);
    if (u->weights)
        ls_weights_close(u->weights);
    free(u);
}

const ls_unet_config *ls_unet_config_of(const ls_unet *u)
{
    return &u->cfg;
}

int ls_unet_check_inputs(const ls_unet *u, const nn_tensor *latent, const nn_tensor *audio,
                         ls_error *err)
{
    const ls_unet_config *cfg = &u->cfg;
    int64_t mult = (int64_t)1 << (cfg->n_blocks - 1);
    char got[64], want[64];
    nn_shape_str(latent, got, sizeof got);
    if (latent->ndim != 4 || latent->shape[0] < 1 || latent->shape[1] != cfg->in_channels ||
        latent->shape[2] < 1 || latent->shape[3] < 1 || latent->shape[2] % mult ||
        latent->shape[3] % mult)
        return ls_error_set(err, "latent has shape %s, expected (N, %d, h, w) with h and w "
                            "multiples of %lld", got, cfg->in_channels, (long long)mult);
    nn_shape_str(audio, got, sizeof got);
    nn_shape_str(latent, want, sizeof want);
    if (audio->ndim != 3 || audio->shape[0] != latent->shape[0] || audio->shape[1] < 1 ||
        audio->shape[2] != cfg->cross_attention_dim)
        return ls_error_set(err, "audio has shape %s, expected (%lld, tokens, %d) for latent %s",
                            got, (long long)latent->shape[0], cfg->cross_attention_dim, want);
    return 0;
}

/* --- forward ------------------------------------------------------------- */

/* x (N, L, C) += to_out(attention(to_q(n), to_k(kv), to_v(kv))) */
static void attention_residual(nn_ctx *c, const attention_weights *a, int heads, const nn_tensor *n,
                               const nn_tensor *kv, nn_tensor *x)
{
    int64_t batch = n->shape[0], len = n->shape[1], ch = n->shape[2], kv_len = kv->shape[1];
    nn_arena_mark mark = nn_arena_get_mark(c->arena);
    nn_tensor q = nn_alloc3(c, batch, len, ch);
    nn_tensor k = nn_alloc3(c, batch, kv_len, ch);
    nn_tensor v = nn_alloc3(c, batch, kv_len, ch);
    nn_tensor o = nn_alloc3(c, batch, len, ch);
    nn_linear(c, n, &a->q.w, NULL, NULL, &q);
    nn_linear(c, kv, &a->k.w, NULL, NULL, &k);
    nn_linear(c, kv, &a->v.w, NULL, NULL, &v);
    nn_attention(c, &q, &k, &v, heads, &o);
    nn_linear(c, &o, &a->out.w, ls_bias(&a->out), x, x);
    nn_arena_release(c->arena, mark);
}

/* BasicTransformerBlock over tokens x (N, L, C), in place. */
static void transformer_block_forward(const transformer_block *b, int heads, nn_ctx *c,
                                      const nn_tensor *audio, nn_tensor *x)
{
    int64_t batch = x->shape[0], len = x->shape[1], ch = x->shape[2];
    nn_arena_mark mark = nn_arena_get_mark(c->arena);
    nn_tensor n = nn_alloc3(c, batch, len, ch);
    /* x = attn1(norm1(x)) + x */
    nn_layer_norm(c, x, &b->norm1.w, &b->norm1.b, LAYER_NORM_EPS, &n);
    attention_residual(c, &b->attn1, heads, &n, &n, x);
    /* x = attn2(norm2(x), audio) + x */
    nn_layer_norm(c, x, &b->norm2.w, &b->norm2.b, LAYER_NORM_EPS, &n);
    attention_residual(c, &b->attn2, heads, &n, audio, x);
    /* x = ff.net.2(geglu(ff.net.0.proj(norm3(x)))) + x */
    nn_layer_norm(c, x, &b->norm3.w, &b->norm3.b, LAYER_NORM_EPS, &n);
    nn_tensor g = nn_alloc3(c, batch, len, 8 * ch);
    nn_tensor f = nn_alloc3(c, batch, len, 4 * ch);
    nn_linear(c, &n, &b->ff_in.w, ls_bias(&b->ff_in), NULL, &g);
    nn_geglu(c, &g, &f);
    nn_linear(c, &f, &b->ff_out.w, ls_bias(&b->ff_out), x, x);
    nn_arena_release(c->arena, mark);
}

/* y (N, C, H, W) = Transformer2DModel(x (N, C, H, W), audio) */
static void transformer_forward(const transformer *t, nn_ctx *c, const nn_tensor *x,
                                const nn_tensor *audio, nn_tensor *y)
{
    int64_t batch = x->shape[0], ch = x->shape[1], hw = x->shape[2] * x->shape[3];
    nn_arena_mark mark = nn_arena_get_mark(c->arena);
    nn_tensor normed = nn_alloc4(c, batch, ch, x->shape[2], x->shape[3]);
    nn_tensor tmp = nn_alloc3(c, batch, hw, ch);
    nn_tensor tokens = nn_alloc3(c, batch, hw, ch);
    nn_tensor normed3 = nn_view3(normed.data, batch, ch, hw);
    nn_group_norm(c, x, &t->norm.w, &t->norm.b, t->groups, TRANSFORMER_NORM_EPS, NN_ACT_NONE,
                  &normed);
    if (t->linear_projection) {
        /* tokens = proj_in(normed viewed as (N, HW, C)) */
        nn_spatial_to_tokens(c, &normed3, &tmp);
        nn_linear(c, &tmp, &t->proj_in.w, ls_bias(&t->proj_in), NULL, &tokens);
    } else {
        /* tokens = proj_in(normed) (1x1 conv), viewed as (N, HW, C) */
        nn_tensor projected = nn_view4(tmp.data, batch, ch, x->shape[2], x->shape[3]);
        ls_conv_same(c, &normed, &t->proj_in, NULL, &projected);
        nn_tensor projected3 = nn_view3(tmp.data, batch, ch, hw);
        nn_spatial_to_tokens(c, &projected3, &tokens);
    }

    transformer_block_forward(&t->block, t->heads, c, audio, &tokens);

    nn_tensor y3 = nn_view3(y->data, batch, ch, hw);
    if (t->linear_projection) {
        /* y = proj_out(tokens) back in (N, C, H, W) + x */
        nn_linear(c, &tokens, &t->proj_out.w, ls_bias(&t->proj_out), NULL, &tmp);
        nn_tokens_to_spatial(c, &tmp, &y3);
        nn_add(c, y, x, y);
    } else {
        /* y = proj_out(tokens back in (N, C, H, W)) + x */
        nn_tokens_to_spatial(c, &tokens, &normed3);
        ls_conv_same(c, &normed, &t->proj_out, x, y);
    }
    nn_arena_release(c->arena, mark);
}

/* y = layer j of block b: its resnet, then its transformer when it has one. */
static void block_layer(const unet_block *b, int j, nn_ctx *c, const nn_tensor *x,
                        const nn_tensor *audio, nn_tensor *y)
{
    if (!b->has_attention) {
        ls_resnet_forward(&b->resnets[j], c, x, y);
        return;
    }
    nn_arena_mark mark = nn_arena_get_mark(c->arena);
    nn_tensor r = nn_alloc(c, 4, y->shape);
    ls_resnet_forward(&b->resnets[j], c, x, &r);
    transformer_forward(&b->attentions[j], c, &r, audio, y);
    nn_arena_release(c->arena, mark);
}

/* Floats per sample the mid and up chain needs in each of its two buffers;
 * (h, w) is the size at the bottom of the UNet. */
static int64_t chain_capacity(const ls_unet *u, int64_t h, int64_t w)
{
    int64_t cap = (int64_t)u->cfg.block_out_channels[u->cfg.n_blocks - 1] * h * w;
    for (int i = 0; i < u->cfg.n_blocks; i++) {
        const unet_block *b = &u->up[i];
        if (b->sampler.w.data) {
            h *= 2;
            w *= 2;
        }
        if (b->channels * h * w > cap)
            cap = b->channels * h * w;
    }
    return cap;
}

void ls_unet_forward(const ls_unet *u, nn_ctx *c, const nn_tensor *latent, const nn_tensor *audio,
                     nn_tensor *out)
{
    const ls_unet_config *cfg = &u->cfg;
    int64_t batch = latent->shape[0];
    NN_CHECK(!u->placed.be || u->placed.be == c->be, "unet: context and weights on other backends");
    nn_arena_mark start = nn_arena_get_mark(c->arena);
    nn_tensor skips[MAX_SKIPS];
    int n_skips = 0;

    /* --- down: h = conv_in(latent); every layer and downsampler output is a skip */
    nn_tensor h = nn_alloc4(c, batch, cfg->block_out_channels[0], latent->shape[2],
                            latent->shape[3]);
    ls_conv_same(c, latent, &u->conv_in, NULL, &h);
    skips[n_skips++] = h;
    for (int i = 0; i < cfg->n_blocks; i++) {
        const unet_block *b = &u->down[i];
        for (int j = 0; j < b->n_layers; j++) {
            nn_tensor y = nn_alloc4(c, batch, b->channels, h.shape[2], h.shape[3]);
            block_layer(b, j, c, &h, audio, &y);
            skips[n_skips++] = h = y;
        }
        if (b->sampler.w.data) {
            int pad = cfg->downsample_padding;
            nn_tensor y = nn_alloc4(c, batch, b->channels, ls_downsampled(h.shape[2], pad),
                                    ls_downsampled(h.shape[3], pad));
            ls_downsample(c, &h, &b->sampler, pad, &y);
            skips[n_skips++] = h = y;
        }
    }

    /* --- mid: resnet, transformer, resnet */
    ls_pingpong chain;
    ls_pingpong_init(&chain, c, batch * chain_capacity(u, h.shape[2], h.shape[3]));
    nn_tensor y = ls_pingpong_take(&chain, batch, h.shape[1], h.shape[2], h.shape[3]);
    ls_resnet_forward(&u->mid_resnets[0], c, &h, &y);
    h = y;
    y = ls_pingpong_take(&chain, batch, h.shape[1], h.shape[2], h.shape[3]);
    transformer_forward(&u->mid_attention, c, &h, audio, &y);
    h = y;
    y = ls_pingpong_take(&chain, batch, h.shape[1], h.shape[2], h.shape[3]);
    ls_resnet_forward(&u->mid_resnets[1], c, &h, &y);
    h = y;

    /* --- up: layer j reads cat([h, skip]) with the most recent skip */
    for (int i = 0; i < cfg->n_blocks; i++) {
        const unet_block *b = &u->up[i];
        for (int j = 0; j < b->n_layers; j++) {
            const nn_tensor *skip = &skips[--n_skips];
            y = ls_pingpong_take(&chain, batch, b->channels, h.shape[2], h.shape[3]);
            nn_arena_mark mark = nn_arena_get_mark(c->arena);
            nn_tensor cat = nn_alloc4(c, batch, h.shape[1] + skip->shape[1], h.shape[2],
                                      h.shape[3]);
            nn_concat_channels(c, &h, skip, &cat);
            block_layer(b, j, c, &cat, audio, &y);
            nn_arena_release(c->arena, mark);
            h = y;
        }
        if (b->sampler.w.data) {
            y = ls_pingpong_take(&chain, batch, b->channels, 2 * h.shape[2], 2 * h.shape[3]);
            ls_upsample(c, &h, &b->sampler, &y);
            h = y;
        }
    }

    /* --- out = conv_out(silu(conv_norm_out(h))), normalising h in place */
    nn_group_norm(c, &h, &u->norm_out.w, &u->norm_out.b, cfg->norm_num_groups, cfg->norm_eps,
                  NN_ACT_SILU, &h);
    ls_conv_same(c, &h, &u->conv_out, NULL, out);
    nn_arena_release(c->arena, start);
}
