/*
 * vae.c - AutoencoderKL encoder and decoder on the nn engine (see vae.h).
 *
 * Structure, in diffusers' module names (GroupNorm eps 1e-6 everywhere):
 *   encoder: conv_in; down_blocks[i]: layers_per_block resnets [-> downsampler: pad (0,1,0,1),
 *            3x3 stride-2 conv]; mid_block; conv_norm_out -> SiLU -> conv_out (2 x latent);
 *            quant_conv
 *   decoder: post_quant_conv; conv_in; mid_block; up_blocks[i] (channels reversed):
 *            layers_per_block + 1 resnets [-> upsampler: nearest x2, 3x3 conv];
 *            conv_norm_out -> SiLU -> conv_out
 *   mid_block: resnet -> attention (GroupNorm, one head over the HW tokens, + input) -> resnet
 * Only the posterior mean is needed from quant_conv, so only its first
 * latent_channels output rows are applied. A batch is run one image at a
 * time on the CPU, at once on a GPU; each chain of blocks alternates between
 * two buffers (ls_pingpong) and blocks release their temporaries.
 */
#include "models/vae.h"

#include <stdio.h>
#include <stdlib.h>

#include "io/weights.h"
#include "models/diffusers_config.h"
#include "models/layers.h"
#include "models/model_files.h"

#define VAE_NORM_EPS 1e-6f

typedef struct {                  /* mid-block self-attention, one head, C channels */
    ls_affine norm;                   /* (C), (C): group_norm */
    ls_affine q, k, v;                /* (C, C), (C): query/key/value or to_q/to_k/to_v */
    ls_affine out;                    /* (C, C), (C): proj_attn or to_out.0 */
} vae_attention;

typedef struct {                  /* UNetMidBlock2D: resnet, attention, resnet (C -> C) */
    ls_resnet first;
    vae_attention attention;
    ls_resnet second;
} vae_mid;

typedef struct {                  /* DownEncoderBlock2D / UpDecoderBlock2D, output channels C */
    int channels;
    int n_layers;
    ls_resnet resnets[LS_VAE_MAX_LAYERS];
    ls_affine sampler;                /* (C, C, 3, 3), (C): down/upsampler; w.data NULL if none */
} vae_block;

struct ls_vae {
    ls_vae_config cfg;
    ls_weights *weights;
    ls_placement placed;              /* the weights' copy on a GPU, when placed */
    /* encoder; C0 = block_out_channels[0], Cn = the last, lat = latent_channels */
    ls_affine enc_conv_in;            /* (C0, in, 3, 3), (C0) */
    vae_block enc_blocks[LS_VAE_MAX_BLOCKS];
    vae_mid enc_mid;                  /* Cn */
    ls_affine enc_norm_out;           /* (Cn), (Cn) */
    ls_affine enc_conv_out;           /* (2 lat, Cn, 3, 3), (2 lat) */
    ls_affine quant_mean;             /* (lat, 2 lat, 1, 1), (lat): quant_conv's mean rows */
    /* decoder */
    ls_affine post_quant;             /* (lat, lat, 1, 1), (lat) */
    ls_affine post_quant_scaled;      /* the same, weight / scaling_factor */
    float *post_quant_scaled_w;       /* owned data of post_quant_scaled.w */
    ls_affine dec_conv_in;            /* (Cn, lat, 3, 3), (Cn) */
    vae_mid dec_mid;                  /* Cn */
    vae_block dec_blocks[LS_VAE_MAX_BLOCKS];
    ls_affine dec_norm_out;           /* (C0), (C0) */
    ls_affine dec_conv_out;           /* (out, C0, 3, 3), (out) */
};

/* --- config -------------------------------------------------------------- */

static const ls_vae_config SD_VAE_FT_MSE = {
    .in_channels = 3, .out_channels = 3, .latent_channels = 4, .n_blocks = 4,
    .block_out_channels = { 128, 256, 512, 512 }, .layers_per_block = 2, .norm_num_groups = 32,
    .scaling_factor = 0.18215f,
};

static const ls_cfg_rule VAE_RULES[] = {
    { "_class_name", LS_CFG_STRING, "AutoencoderKL", 0 },
    { "act_fn", LS_CFG_STRING, "silu", 0 },
    { "mid_block_add_attention", LS_CFG_TRUE, NULL, 0 },
    { "use_quant_conv", LS_CFG_TRUE, NULL, 0 },
    { "use_post_quant_conv", LS_CFG_TRUE, NULL, 0 },
};

/* Missing fields take diffusers' AutoencoderKL defaults. */
static int parse_config(const ls_json *root, ls_vae_config *cfg, ls_error *err)
{
    static const char *const DOWN_TYPES[] = { "DownEncoderBlock2D", NULL };
    static const char *const UP_TYPES[] = { "UpDecoderBlock2D", NULL };
    static const int default_channels[] = { 64 }, default_types[] = { 0 };
    int types[LS_VAE_MAX_BLOCKS], n_down, n_up;
    if (!root || root->kind != LS_JSON_OBJECT)
        return ls_error_set(err, "not a JSON object");
    if (ls_cfg_check_rules(root, VAE_RULES, sizeof VAE_RULES / sizeof VAE_RULES[0], "VAE", err) ||
        ls_cfg_int(root, "in_channels", 3, 1, 65536, &cfg->in_channels, err) ||
        ls_cfg_int(root, "out_channels", 3, 1, 65536, &cfg->out_channels, err) ||
        ls_cfg_int(root, "latent_channels", 4, 1, 65536, &cfg->latent_channels, err) ||
        ls_cfg_int_list(root, "block_out_channels", default_channels, 1, 1, 65536,
                        LS_VAE_MAX_BLOCKS, cfg->block_out_channels, &cfg->n_blocks, err) ||
        ls_cfg_choice_list(root, "down_block_types", default_types, 1, DOWN_TYPES,
                           LS_VAE_MAX_BLOCKS, types, &n_down, err) ||
        ls_cfg_choice_list(root, "up_block_types", default_types, 1, UP_TYPES, LS_VAE_MAX_BLOCKS,
                           types, &n_up, err) ||
        ls_cfg_int(root, "layers_per_block", 1, 1, LS_VAE_MAX_LAYERS - 1, &cfg->layers_per_block,
                   err) ||
        ls_cfg_int(root, "norm_num_groups", 32, 1, 65536, &cfg->norm_num_groups, err) ||
        ls_cfg_float(root, "scaling_factor", 0.18215, &cfg->scaling_factor, err))
        return -1;
    if (n_down != cfg->n_blocks || n_up != cfg->n_blocks)
        return ls_error_set(err, "block_out_channels has %d entries but down_block_types %d and "
                            "up_block_types %d", cfg->n_blocks, n_down, n_up);
    if (!(cfg->scaling_factor > 0))
        return ls_error_set(err, "scaling_factor must be positive");
    for (int i = 0; i < cfg->n_blocks; i++)
        if (cfg->block_out_channels[i] % cfg->norm_num_groups)
            return ls_error_set(err, "norm_num_groups %d does not divide "
                                "block_out_channels[%d] = %d",
                                cfg->norm_num_groups, i, cfg->block_out_channels[i]);
    return 0;
}

/* config.json beside the weights file, else sd-vae-ft-mse's values. */
static int read_config(const char *weights_file, ls_vae_config *cfg, ls_error *err)
{
    char dir[LS_PATH_MAX], path[LS_PATH_MAX];
    ls_path_dir(dir, sizeof dir, weights_file);
    if (ls_path_join(path, sizeof path, dir, "config.json", err) != 0)
        return -1;
    if (!ls_is_file(path)) {
        *cfg = SD_VAE_FT_MSE;
        return 0;
    }
    ls_json *root;
    if (ls_json_read_file(path, &root, err) != 0)
        return -1;
    int rc = parse_config(root, cfg, err);
    ls_json_free(root);
    return rc ? ls_error_prefix(err, "%s", path) : 0;
}

/* --- loading ------------------------------------------------------------- */

static const char *const VAE_FILES[] = { "diffusion_pytorch_model.safetensors",
                                         "diffusion_pytorch_model.bin", NULL };

static int load_attention(ls_weights *w, const char *prefix, int ch, vae_attention *a,
                          ls_error *err)
{
    static const char *const OLD_NAMES[] = { "query", "key", "value", "proj_attn" };
    static const char *const NEW_NAMES[] = { "to_q", "to_k", "to_v", "to_out.0" };
    char name[LS_NAME_MAX], probe[LS_NAME_MAX];
    const char *const *names =
        ls_weights_has(w, ls_join_name(probe, prefix, "query.weight")) ? OLD_NAMES : NEW_NAMES;
    ls_affine *dst[] = { &a->q, &a->k, &a->v, &a->out };
    if (ls_load_norm(w, ls_join_name(name, prefix, "group_norm"), ch, &a->norm, err) != 0)
        return -1;
    for (int i = 0; i < 4; i++)
        if (ls_load_linear(w, ls_join_name(name, prefix, names[i]), ch, ch, 1, dst[i], err) != 0)
            return -1;
    return 0;
}

static int load_resnet(const ls_vae *v, const char *prefix, int cin, int cout, ls_resnet *r,
                       ls_error *err)
{
    return ls_resnet_load(v->weights, prefix, cin, cout, v->cfg.norm_num_groups, VAE_NORM_EPS, NULL,
                          0, r, err);
}

static int load_mid(const ls_vae *v, const char *half, int ch, vae_mid *m, ls_error *err)
{
    char name[LS_NAME_MAX];
    snprintf(name, sizeof name, "%s.mid_block.resnets.0", half);
    if (load_resnet(v, name, ch, ch, &m->first, err) != 0)
        return -1;
    snprintf(name, sizeof name, "%s.mid_block.attentions.0", half);
    if (load_attention(v->weights, name, ch, &m->attention, err) != 0)
        return -1;
    snprintf(name, sizeof name, "%s.mid_block.resnets.1", half);
    return load_resnet(v, name, ch, ch, &m->second, err);
}

static int load_encoder(ls_vae *v, ls_error *err)
{
    const ls_vae_config *cfg = &v->cfg;
    ls_weights *w = v->weights;
    int n = cfg->n_blocks, lat = cfg->latent_channels, ch = cfg->block_out_channels[0];
    char name[LS_NAME_MAX];
    if (ls_load_conv(w, "encoder.conv_in", ch, cfg->in_channels, 3, &v->enc_conv_in, err) != 0)
        return -1;
    for (int i = 0; i < n; i++) {
        vae_block *b = &v->enc_blocks[i];
        b->channels = cfg->block_out_channels[i];
        b->n_layers = cfg->layers_per_block;
        for (int j = 0; j < b->n_layers; j++) {
            snprintf(name, sizeof name, "encoder.down_blocks.%d.resnets.%d", i, j);
            if (load_resnet(v, name, ch, b->channels, &b->resnets[j], err) != 0)
                return -1;
            ch = b->channels;
        }
        snprintf(name, sizeof name, "encoder.down_blocks.%d.downsamplers.0.conv", i);
        if (i < n - 1 && ls_load_conv(w, name, ch, ch, 3, &b->sampler, err) != 0)
            return -1;
    }
    ls_affine quant;
    if (load_mid(v, "encoder", ch, &v->enc_mid, err) != 0 ||
        ls_load_norm(w, "encoder.conv_norm_out", ch, &v->enc_norm_out, err) != 0 ||
        ls_load_conv(w, "encoder.conv_out", 2 * lat, ch, 3, &v->enc_conv_out, err) != 0 ||
        ls_load_conv(w, "quant_conv", 2 * lat, 2 * lat, 1, &quant, err) != 0)
        return -1;
    v->quant_mean.w = nn_view4(quant.w.data, lat, 2 * lat, 1, 1);
    v->quant_mean.b = nn_view1(quant.b.data, lat);
    return 0;
}

static int load_decoder(ls_vae *v, ls_error *err)
{
    const ls_vae_config *cfg = &v->cfg;
    ls_weights *w = v->weights;
    int n = cfg->n_blocks, lat = cfg->latent_channels, ch = cfg->block_out_channels[n - 1];
    char name[LS_NAME_MAX];
    if (ls_load_conv(w, "post_quant_conv", lat, lat, 1, &v->post_quant, err) != 0 ||
        ls_load_conv(w, "decoder.conv_in", ch, lat, 3, &v->dec_conv_in, err) != 0 ||
        load_mid(v, "decoder", ch, &v->dec_mid, err) != 0)
        return -1;
    for (int i = 0; i < n; i++) {
        vae_block *b = &v->dec_blocks[i];
        b->channels = cfg->block_out_channels[n - 1 - i];
        b->n_layers = cfg->layers_per_block + 1;
        for (int j = 0; j < b->n_layers; j++) {
            snprintf(name, sizeof name, "decoder.up_blocks.%d.resnets.%d", i, j);
            if (load_resnet(v, name, ch, b->channels, &b->resnets[j], err) != 0)
                return -1;
            ch = b->channels;
        }
        snprintf(name, sizeof name, "decoder.up_blocks.%d.upsamplers.0.conv", i);
        if (i < n - 1 && ls_load_conv(w, name, ch, ch, 3, &b->sampler, err) != 0)
            return -1;
    }
    if (ls_load_norm(w, "decoder.conv_norm_out", ch, &v->dec_norm_out, err) != 0 ||
        ls_load_conv(w, "decoder.conv_out", cfg->out_channels, ch, 3, &v->dec_conv_out, err) != 0)
        return -1;

    /* post_quant_conv(z / s) = (W / s) z + b: a scaled copy of the (lat, lat) weight. */
    int64_t count = nn_numel(&v->post_quant.w);
    v->post_quant_scaled_w = malloc(count * sizeof *v->post_quant_scaled_w);
    if (!v->post_quant_scaled_w)
        return ls_error_set(err, "out of memory");
    for (int64_t i = 0; i < count; i++)
        v->post_quant_scaled_w[i] = v->post_quant.w.data[i] / cfg->scaling_factor;
    v->post_quant_scaled = v->post_quant;
    v->post_quant_scaled.w.data = v->post_quant_scaled_w;
    return 0;
}

int ls_vae_weights_file(const char *path, char *out, size_t size, ls_error *err)
{
    return ls_model_file(path, VAE_FILES, out, size, err);
}

int ls_vae_load(const char *path, ls_vae **out, ls_error *err)
{
    *out = NULL;
    ls_vae *v = calloc(1, sizeof *v);
    if (!v)
        return ls_error_set(err, "out of memory");
    char file[LS_PATH_MAX];
    if (ls_vae_weights_file(path, file, sizeof file, err) != 0 ||
        read_config(file, &v->cfg, err) != 0 || ls_weights_open(file, &v->weights, err) != 0 ||
        load_encoder(v, err) != 0 || load_decoder(v, err) != 0 ||
        ls_weights_check_unused(v->weights, err) != 0) {
        ls_vae_free(v);
        return -1;
    }
    *out = v;
    return 0;
}

/* --- placement ------------------------------------------------------------ */

static void place_mid(ls_placement *p, vae_mid *m)
{
    ls_place_resnet(p, &m->first);
    ls_place_affine(p, &m->attention.norm);
    ls_place_affine(p, &m->attention.q);
    ls_place_affine(p, &m->attention.k);
    ls_place_affine(p, &m->attention.v);
    ls_place_affine(p, &m->attention.out);
    ls_place_resnet(p, &m->second);
}

static void place_block(ls_placement *p, vae_block *b)
{
    for (int j = 0; j < b->n_layers; j++)
        ls_place_resnet(p, &b->resnets[j]);
    ls_place_affine(p, &b->sampler);
}

static void walk_vae(void *model, ls_placement *p)
{
    ls_vae *v = model;
    ls_place_affine(p, &v->enc_conv_in);
    for (int i = 0; i < v->cfg.n_blocks; i++) {
        place_block(p, &v->enc_blocks[i]);
        place_block(p, &v->dec_blocks[i]);
    }
    place_mid(p, &v->enc_mid);
    ls_place_affine(p, &v->enc_norm_out);
    ls_place_affine(p, &v->enc_conv_out);
    ls_place_affine(p, &v->quant_mean);
    ls_place_affine(p, &v->post_quant);
    ls_place_affine(p, &v->post_quant_scaled);
    ls_place_affine(p, &v->dec_conv_in);
    place_mid(p, &v->dec_mid);
    ls_place_affine(p, &v->dec_norm_out);
    ls_place_affine(p, &v->dec_conv_out);
}

int ls_vae_place(ls_vae *v, const nn_backend *be, ls_error *err)
{
    return ls_placement_run(&v->placed, be, walk_vae, v, err);
}

const nn_backend *ls_vae_backend(const ls_vae *v)
{
    return ls_placement_backend(&v->placed);
}

void ls_vae_free(ls_vae *v)
{
    if (!v)
        return;
    ls_placement_free(&v->placed);
    free(v->post_quant_scaled_w);
    if (v->weights)
        ls_weights_close(v->weights);
    free(v);
}

const ls_vae_config *ls_vae_config_of(const ls_vae *v)
{
    return &v->cfg;
}

int ls_vae_factor(const ls_vae *v)
{
    return 1 << (v->cfg.n_blocks - 1);
}

int ls_vae_check_image(const ls_vae *v, const nn_tensor *x, ls_error *err)
{
    int f = ls_vae_factor(v);
    char got[64];
    if (x->ndim != 4 || x->shape[0] < 1 || x->shape[1] != v->cfg.in_channels || x->shape[2] < f ||
        x->shape[3] < f || x->shape[2] % f || x->shape[3] % f)
        return ls_error_set(err, "image has shape %s, expected (N, %d, H, W) with H and W "
                            "multiples of %d", nn_shape_str(x, got, sizeof got),
                            v->cfg.in_channels, f);
    return 0;
}

int ls_vae_check_latent(const ls_vae *v, const nn_tensor *z, ls_error *err)
{
    char got[64];
    if (z->ndim != 4 || z->shape[0] < 1 || z->shape[1] != v->cfg.latent_channels ||
        z->shape[2] < 1 || z->shape[3] < 1)
        return ls_error_set(err, "latent has shape %s, expected (N, %d, h, w)",
                            nn_shape_str(z, got, sizeof got), v->cfg.latent_channels);
    return 0;
}

/* --- forward ------------------------------------------------------------- */

/* y = proj(attention(q(t), k(t), v(t))) + x, t = tokens of group_norm(x), one head. */
static void attention_forward(const vae_attention *a, int groups, nn_ctx *c, const nn_tensor *x,
                              nn_tensor *y)
{
    int64_t batch = x->shape[0], ch = x->shape[1], hw = x->shape[2] * x->shape[3];
    nn_arena_mark mark = nn_arena_get_mark(c->arena);
    nn_tensor normed = nn_alloc3(c, batch, ch, hw);
    nn_tensor tokens = nn_alloc3(c, batch, hw, ch);
    nn_tensor q = nn_alloc3(c, batch, hw, ch);
    nn_tensor k = nn_alloc3(c, batch, hw, ch);
    nn_tensor v = nn_alloc3(c, batch, hw, ch);
    nn_tensor x3 = nn_view3(x->data, batch, ch, hw);
    nn_group_norm(c, &x3, &a->norm.w, &a->norm.b, groups, VAE_NORM_EPS, NN_ACT_NONE, &normed);
    nn_spatial_to_tokens(c, &normed, &tokens);
    nn_linear(c, &tokens, &a->q.w, ls_bias(&a->q), NULL, &q);
    nn_linear(c, &tokens, &a->k.w, ls_bias(&a->k), NULL, &k);
    nn_linear(c, &tokens, &a->v.w, ls_bias(&a->v), NULL, &v);
    nn_attention(c, &q, &k, &v, 1, &tokens);
    nn_linear(c, &tokens, &a->out.w, ls_bias(&a->out), NULL, &q);
    nn_tensor y3 = nn_view3(y->data, batch, ch, hw);
    nn_tokens_to_spatial(c, &q, &y3);
    nn_add(c, y, x, y);
    nn_arena_release(c->arena, mark);
}

/* h = mid_block(h), through the chain's buffers. */
static void mid_forward(const vae_mid *m, int groups, nn_ctx *c, ls_pingpong *chain, nn_tensor *h)
{
    int64_t batch = h->shape[0], ch = h->shape[1], hgt = h->shape[2], wid = h->shape[3];
    nn_tensor y = ls_pingpong_take(chain, batch, ch, hgt, wid);
    ls_resnet_forward(&m->first, c, h, &y);
    *h = y;
    y = ls_pingpong_take(chain, batch, ch, hgt, wid);
    attention_forward(&m->attention, groups, c, h, &y);
    *h = y;
    y = ls_pingpong_take(chain, batch, ch, hgt, wid);
    ls_resnet_forward(&m->second, c, h, &y);
    *h = y;
}

/* Floats per sample each encoder chain buffer needs for an H x W image. */
static int64_t encoder_capacity(const ls_vae *v, int64_t h, int64_t w)
{
    int64_t cap = (int64_t)v->cfg.block_out_channels[0] * h * w;
    for (int i = 0; i < v->cfg.n_blocks; i++) {
        const vae_block *b = &v->enc_blocks[i];
        if (b->channels * h * w > cap)
            cap = b->channels * h * w;
        if (b->sampler.w.data) {
            h = ls_downsampled(h, 0);
            w = ls_downsampled(w, 0);
        }
    }
    return cap;
}

static void encode_mean(const ls_vae *v, nn_ctx *c, const nn_tensor *x, nn_tensor *z)
{
    int64_t batch = x->shape[0], groups = v->cfg.norm_num_groups;
    nn_arena_mark start = nn_arena_get_mark(c->arena);
    ls_pingpong chain;
    ls_pingpong_init(&chain, c, batch * encoder_capacity(v, x->shape[2], x->shape[3]));

    /* h = conv_in(x) */
    nn_tensor h = ls_pingpong_take(&chain, batch, v->cfg.block_out_channels[0], x->shape[2],
                                   x->shape[3]);
    ls_conv_same(c, x, &v->enc_conv_in, NULL, &h);
    /* --- down blocks */
    for (int i = 0; i < v->cfg.n_blocks; i++) {
        const vae_block *b = &v->enc_blocks[i];
        for (int j = 0; j < b->n_layers; j++) {
            nn_tensor y = ls_pingpong_take(&chain, batch, b->channels, h.shape[2], h.shape[3]);
            ls_resnet_forward(&b->resnets[j], c, &h, &y);
            h = y;
        }
        if (b->sampler.w.data) {
            nn_tensor y = ls_pingpong_take(&chain, batch, b->channels,
                                           ls_downsampled(h.shape[2], 0),
                                           ls_downsampled(h.shape[3], 0));
            ls_downsample(c, &h, &b->sampler, 0, &y);
            h = y;
        }
    }
    /* --- mid */
    mid_forward(&v->enc_mid, (int)groups, c, &chain, &h);
    /* --- z = quant_conv(conv_out(silu(conv_norm_out(h))))[:, :lat], normalising h in place */
    nn_group_norm(c, &h, &v->enc_norm_out.w, &v->enc_norm_out.b, (int)groups, VAE_NORM_EPS,
                  NN_ACT_SILU, &h);
    nn_tensor moments = nn_alloc4(c, batch, 2 * v->cfg.latent_channels, h.shape[2], h.shape[3]);
    ls_conv_same(c, &h, &v->enc_conv_out, NULL, &moments);
    ls_conv_same(c, &moments, &v->quant_mean, NULL, z);
    nn_arena_release(c->arena, start);
}

/* Floats per sample each decoder chain buffer needs for an h x w latent. */
static int64_t decoder_capacity(const ls_vae *v, int64_t h, int64_t w)
{
    int64_t cap = (int64_t)v->cfg.block_out_channels[v->cfg.n_blocks - 1] * h * w;
    for (int i = 0; i < v->cfg.n_blocks; i++) {
        const vae_block *b = &v->dec_blocks[i];
        if (b->sampler.w.data) {
            h *= 2;
            w *= 2;
        }
        if (b->channels * h * w > cap)
            cap = b->channels * h * w;
    }
    return cap;
}

static void decode(const ls_vae *v, nn_ctx *c, const nn_tensor *z, const ls_affine *post_quant,
                   nn_tensor *x)
{
    int64_t batch = z->shape[0];
    int groups = v->cfg.norm_num_groups;
    nn_arena_mark start = nn_arena_get_mark(c->arena);
    ls_pingpong chain;
    ls_pingpong_init(&chain, c, batch * decoder_capacity(v, z->shape[2], z->shape[3]));

    /* h = conv_in(post_quant_conv(z)) */
    nn_tensor q = nn_alloc(c, 4, z->shape);
    ls_conv_same(c, z, post_quant, NULL, &q);
    nn_tensor h = ls_pingpong_take(&chain, batch, v->dec_conv_in.w.shape[0], z->shape[2],
                                   z->shape[3]);
    ls_conv_same(c, &q, &v->dec_conv_in, NULL, &h);
    /* --- mid */
    mid_forward(&v->dec_mid, groups, c, &chain, &h);
    /* --- up blocks */
    for (int i = 0; i < v->cfg.n_blocks; i++) {
        const vae_block *b = &v->dec_blocks[i];
        for (int j = 0; j < b->n_layers; j++) {
            nn_tensor y = ls_pingpong_take(&chain, batch, b->channels, h.shape[2], h.shape[3]);
            ls_resnet_forward(&b->resnets[j], c, &h, &y);
            h = y;
        }
        if (b->sampler.w.data) {
            nn_tensor y = ls_pingpong_take(&chain, batch, b->channels, 2 * h.shape[2],
                                           2 * h.shape[3]);
            ls_upsample(c, &h, &b->sampler, &y);
            h = y;
        }
    }
    /* --- x = conv_out(silu(conv_norm_out(h))), normalising h in place */
    nn_group_norm(c, &h, &v->dec_norm_out.w, &v->dec_norm_out.b, groups, VAE_NORM_EPS,
                  NN_ACT_SILU, &h);
    ls_conv_same(c, &h, &v->dec_conv_out, NULL, x);
    nn_arena_release(c->arena, start);
}

/* --- one image at a time, or the batch ---------------------------------- */

/* At image size every convolution reuses each weight over thousands of
 * positions within one image, so on the CPU batching gains nothing there;
 * running the images one by one keeps the activations of a single image in
 * memory (about 370 MiB for a 256x256 decode instead of 1.3 GiB at batch 4).
 * A GPU (backend.h's prefers_batches) runs the batch at once: its layers at
 * the latent's resolution are too small to fill it image by image. */

/* The number of images the backend of c runs at once, of n. */
static int64_t images_at_once(const nn_ctx *c, int64_t n)
{
    return c->be->prefers_batches ? n : 1;
}

static void check_backend(const ls_vae *v, const nn_ctx *c)
{
    NN_CHECK(!v->placed.be || v->placed.be == c->be, "vae: context and weights on other backends");
}

void ls_vae_encode_mean(const ls_vae *v, nn_ctx *c, const nn_tensor *x, nn_tensor *z)
{
    check_backend(v, c);
    int64_t step = images_at_once(c, x->shape[0]);
    for (int64_t i = 0; i < x->shape[0]; i += step) {
        nn_tensor xi = nn_slice0(c, *x, i, step), zi = nn_slice0(c, *z, i, step);
        encode_mean(v, c, &xi, &zi);
    }
}

static void decode_each(const ls_vae *v, nn_ctx *c, const nn_tensor *z,
                        const ls_affine *post_quant, nn_tensor *x)
{
    check_backend(v, c);
    int64_t step = images_at_once(c, z->shape[0]);
    for (int64_t i = 0; i < z->shape[0]; i += step) {
        nn_tensor zi = nn_slice0(c, *z, i, step), xi = nn_slice0(c, *x, i, step);
        decode(v, c, &zi, post_quant, &xi);
    }
}

void ls_vae_decode(const ls_vae *v, nn_ctx *c, const nn_tensor *z, nn_tensor *x)
{
    decode_each(v, c, z, &v->post_quant, x);
}

void ls_vae_decode_scaled(const ls_vae *v, nn_ctx *c, const nn_tensor *z, nn_tensor *x)
{
    decode_each(v, c, z, &v->post_quant_scaled, x);
}
