/*
 * vae.h - the Stable Diffusion VAE (diffusers AutoencoderKL, sd-vae-ft-mse).
 *
 *   encode: x (N, 3, H, W) -> conv_in -> down blocks -> mid -> norm, SiLU, conv_out -> quant_conv
 *           -> posterior mean (the first latent_channels channels)          (N, lat, H/f, W/f)
 *   decode: z -> post_quant_conv -> conv_in -> mid -> up blocks -> norm, SiLU, conv_out
 *           -> image (N, 3, h*f, w*f)
 *   f = 2^(n_blocks - 1) (8 for sd-vae-ft-mse); mid = resnet, single-head attention, resnet.
 *
 * The encoder is used with the posterior mean (deterministic), not a sample.
 * Both halves are loaded strictly from one file: every tensor fetched with
 * its exact shape, none left over. The mid attention accepts both the old
 * (query/key/value/proj_attn) and new (to_q/to_k/to_v/to_out.0) key names.
 * Forward passes take and give tensors in the context's backend memory; the
 * context must be on the model's backend (ls_vae_backend).
 */
#ifndef LS_MODELS_VAE_H
#define LS_MODELS_VAE_H

#include <stddef.h>

#include "nn/nn.h"
#include "util/error.h"

#define LS_VAE_MAX_BLOCKS 6
#define LS_VAE_MAX_LAYERS 8

typedef struct ls_vae_config {
    int in_channels, out_channels;             /* image channels (3) */
    int latent_channels;                       /* 4 */
    int n_blocks;
    int block_out_channels[LS_VAE_MAX_BLOCKS]; /* 128, 256, 512, 512 */
    int layers_per_block;                      /* resnets per encoder block (decoder: one more) */
    int norm_num_groups;                       /* 32 */
    float scaling_factor;                      /* latent scale of the diffusion model (0.18215) */
} ls_vae_config;

typedef struct ls_vae ls_vae;

/* path: the weights file, or a folder holding diffusion_pytorch_model.safetensors
 * (preferred) or diffusion_pytorch_model.bin. The config is config.json in
 * the same folder when present, else sd-vae-ft-mse's. */
int ls_vae_load(const char *path, ls_vae **out, ls_error *err);

/* The weights file ls_vae_load would use for `path`; the error lists the
 * names looked for. */
int ls_vae_weights_file(const char *path, char *out, size_t size, ls_error *err);
void ls_vae_free(ls_vae *v);

const ls_vae_config *ls_vae_config_of(const ls_vae *v);

/* Moves the weights onto backend `be` once (see ls_placement_run in
 * models/layers.h); contexts running the model must then be on `be`. */
int ls_vae_place(ls_vae *v, const nn_backend *be, ls_error *err);
const nn_backend *ls_vae_backend(const ls_vae *v);
/* Size reduction between image and latent (8 for sd-vae-ft-mse). */
int ls_vae_factor(const ls_vae *v);

/* Shape checks for the inputs below; errors name the input and its shape. */
int ls_vae_check_image(const ls_vae *v, const nn_tensor *x, ls_error *err);
int ls_vae_check_latent(const ls_vae *v, const nn_tensor *z, ls_error *err);

/* z (N, lat, H/f, W/f) = posterior mean of x (N, in, H, W); no scaling. */
void ls_vae_encode_mean(const ls_vae *v, nn_ctx *ctx, const nn_tensor *x, nn_tensor *z);

/* x (N, out, h*f, w*f) = decoder(z (N, lat, h, w)); no scaling, no clamp. */
void ls_vae_decode(const ls_vae *v, nn_ctx *ctx, const nn_tensor *z, nn_tensor *x);

/* The same for a latent in the diffusion model's scale: decodes
 * z / scaling_factor (the factor is folded into post_quant_conv's weight). */
void ls_vae_decode_scaled(const ls_vae *v, nn_ctx *ctx, const nn_tensor *z, nn_tensor *x);

#endif
