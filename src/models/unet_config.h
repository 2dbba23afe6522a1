/*
 * unet_config.h - the UNet2DConditionModel config (MuseTalk's musetalk.json).
 *
 * Reads the diffusers config JSON into a plain struct. Missing fields take
 * diffusers' defaults. Supported: down blocks CrossAttnDownBlock2D /
 * DownBlock2D, up blocks UpBlock2D / CrossAttnUpBlock2D, the
 * UNetMidBlock2DCrossAttn mid block, SiLU, positional time embedding, one
 * transformer layer per attention, 1x1-conv or linear attention projections.
 * Anything else diffusers can express (class embeddings, dual or
 * cross-only attention, other block types, ...) is an "unsupported" error
 * naming the field.
 */
#ifndef LS_MODELS_UNET_CONFIG_H
#define LS_MODELS_UNET_CONFIG_H

#include "util/error.h"
#include "util/json.h"

#define LS_UNET_MAX_BLOCKS 6
#define LS_UNET_MAX_LAYERS 8   /* resnets per up block (layers_per_block + 1) */

typedef struct ls_unet_config {
    int in_channels;                              /* latent channels in (8 for MuseTalk) */
    int out_channels;                             /* 4 */
    int n_blocks;                                 /* len(block_out_channels) */
    int block_out_channels[LS_UNET_MAX_BLOCKS];   /* 320, 640, 1280, 1280 */
    int down_cross_attn[LS_UNET_MAX_BLOCKS];      /* 1: CrossAttnDownBlock2D, 0: DownBlock2D */
    int up_cross_attn[LS_UNET_MAX_BLOCKS];        /* 1: CrossAttnUpBlock2D, 0: UpBlock2D */
    int layers_per_block;                         /* resnets per down block (up: one more) */
    int heads[LS_UNET_MAX_BLOCKS];                /* attention heads of down block i (diffusers'
                                                     attention_head_dim); up block i uses
                                                     heads[n_blocks-1-i], the mid block the last */
    int cross_attention_dim;                      /* audio feature width (384) */
    int norm_num_groups;                          /* GroupNorm groups (32) */
    float norm_eps;                               /* resnet and output GroupNorm eps (1e-5) */
    int flip_sin_to_cos;                          /* time embedding: cos half first */
    float freq_shift;                             /* time embedding shift (no effect at t = 0) */
    int downsample_padding;                       /* 1: conv pad 1; 0: pad (0,1,0,1) then conv */
    int use_linear_projection;                    /* attention proj_in/out: 1 linear, 0 1x1 conv */
} ls_unet_config;

/* Parses a config object (errors name the field at fault). */
int ls_unet_config_parse(const ls_json *root, ls_unet_config *cfg, ls_error *err);

/* Reads and parses a musetalk.json-style file; errors start with the path. */
int ls_unet_config_read(const char *path, ls_unet_config *cfg, ls_error *err);

#endif
