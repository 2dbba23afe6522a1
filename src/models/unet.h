/*
 * unet.h - MuseTalk's UNet: diffusers UNet2DConditionModel at timestep 0.
 *
 *   latent (N, in, h, w) -> conv_in -> down blocks -> mid block -> up blocks -> norm, SiLU, conv_out
 *                                     (push skips)                (pop skips, concatenate)
 *   audio (N, tokens, cross_dim) feeds every cross-attention.
 *
 * The network is generic over its config (unet_config.h). MuseTalk always
 * runs at t = 0, so the time embedding is a constant: it is computed once at
 * load and folded into each resnet's conv1 bias. Weights are read strictly:
 * every tensor is fetched with its exact shape, and a tensor the model does
 * not use is an error. The loaded model is read-only and may be shared by
 * threads that each bring their own nn_ctx, on the model's backend.
 */
#ifndef LS_MODELS_UNET_H
#define LS_MODELS_UNET_H

#include "models/unet_config.h"
#include "nn/nn.h"
#include "util/error.h"

typedef struct ls_unet ls_unet;

/* config_path: musetalk.json; weights_path: a checkpoint file (.bin/.pth or
 * .safetensors) or the folder holding one (diffusion_pytorch_model.safetensors,
 * diffusion_pytorch_model.bin, pytorch_model.bin, unet.pth). */
int ls_unet_load(const char *config_path, const char *weights_path, ls_unet **out, ls_error *err);
void ls_unet_free(ls_unet *u);

const ls_unet_config *ls_unet_config_of(const ls_unet *u);

/* Moves the weights onto backend `be` once (see ls_placement_run in
 * models/layers.h); contexts running the model must then be on `be`. */
int ls_unet_place(ls_unet *u, const nn_backend *be, ls_error *err);
const nn_backend *ls_unet_backend(const ls_unet *u);

/* Checks latent (N, in, h, w) with h and w multiples of 2^(n_blocks-1), and
 * audio (N, tokens, cross_dim); the error names the input and the shapes. */
int ls_unet_check_inputs(const ls_unet *u, const nn_tensor *latent, const nn_tensor *audio,
                         ls_error *err);

/* out (N, out, h, w) = UNet(latent, t = 0, audio). Inputs must pass
 * ls_unet_check_inputs; the tensors are in ctx's backend memory.
 * Activations come from ctx's arena and are released. */
void ls_unet_forward(const ls_unet *u, nn_ctx *ctx, const nn_tensor *latent, const nn_tensor *audio,
                     nn_tensor *out);

#endif
