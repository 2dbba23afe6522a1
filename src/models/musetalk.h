/*
 * musetalk.h - the per-frame MuseTalk renderer of the live pipeline.
 *
 * For each of N frames, given the avatar frame's cached latent (8, 32, 32)
 * (masked half then reference half) and the frame's audio chunk (50, 384):
 *
 *   pred = UNet(latent, t = 0, audio + PositionalEncoding)        (4, 32, 32)
 *   x    = VAE.decode(pred / 0.18215)                            (3, 256, 256) in [-1, 1]
 *   face = round(clamp(x / 2 + 0.5, 0, 1) * 255) as uint8, RGB -> BGR, HWC   (256, 256, 3)
 *
 * Sizes follow the models: faces are (h * f, w * f) for a latent (h, w) and
 * the VAE factor f. The 1/0.18215 (the VAE's scaling_factor) is folded into
 * post_quant_conv's weight at load. The object is read-only after loading:
 * threads may share it, each with its own nn_ctx on the model's backend.
 * The renderer's inputs and faces are host memory whatever the backend: it
 * uploads the latents and the audio (with the PE added on the host), and
 * converts the downloaded images to bytes.
 */
#ifndef LS_MODELS_MUSETALK_H
#define LS_MODELS_MUSETALK_H

#include <stdint.h>

#include "models/unet.h"
#include "models/vae.h"
#include "models/whisper.h"

/* Longest audio chunk accepted (MuseTalk's are 50 tokens). */
#define LS_MUSETALK_MAX_TOKENS 128

typedef struct ls_musetalk ls_musetalk;

/* unet_config: musetalk.json; unet_weights and vae_path: a file or its folder
 * (see ls_unet_load, ls_vae_load). Checks the UNet and VAE fit together. */
int ls_musetalk_load(const char *unet_config, const char *unet_weights, const char *vae_path,
                     ls_musetalk **out, ls_error *err);

/* From a weights folder laid out as upstream's: musetalk/ (v1.0: musetalk.json +
 * pytorch_model.bin) or musetalkV15/ (v1.5: musetalk.json + unet.pth), and
 * sd-vae/ or sd-vae-ft-mse/ (config.json + diffusion_pytorch_model.safetensors
 * or .bin). LS_MUSETALK_AUTO takes musetalkV15/ when present. The error lists
 * every missing file and where it comes from. */
int ls_musetalk_load_dir(const char *weights_dir, ls_musetalk_version version, ls_musetalk **out,
                         ls_error *err);
void ls_musetalk_free(ls_musetalk *m);

/* Moves the UNet and the VAE onto backend `be` once (see ls_placement_run
 * in models/layers.h); contexts rendering must then be on `be`. */
int ls_musetalk_place(ls_musetalk *m, const nn_backend *be, ls_error *err);
const nn_backend *ls_musetalk_backend(const ls_musetalk *m);

/* The model's VAE (its encoder makes avatar latents). */
const ls_vae *ls_musetalk_vae(const ls_musetalk *m);

/* Face size for a latent of size `latent_size` (x8 with sd-vae-ft-mse). */
int64_t ls_musetalk_face_size(const ls_musetalk *m, int64_t latent_size);

/* latents (N, in, h, w), audio (N, tokens, cross_dim) with tokens <= LS_MUSETALK_MAX_TOKENS. */
int ls_musetalk_check_inputs(const ls_musetalk *m, const nn_tensor *latents,
                             const nn_tensor *audio, ls_error *err);

/* faces: N x face_size(h) x face_size(w) x 3 bytes, BGR. Inputs must pass
 * ls_musetalk_check_inputs; audio is raw (the PE is added here). latents,
 * audio and faces are host memory. */
void ls_musetalk_render(const ls_musetalk *m, nn_ctx *ctx, const nn_tensor *latents,
                        const nn_tensor *audio, uint8_t *faces);

/* The same up to the VAE's output: returns x (N, 3, face h, face w) in the
 * context's arena (backend memory), for a caller that keeps it on the device
 * (avatar/paste.h); the caller releases the arena. */
nn_tensor ls_musetalk_generate(const ls_musetalk *m, nn_ctx *ctx, const nn_tensor *latents,
                               const nn_tensor *audio);

/* The face bytes of x (N, 3, H, W) in host memory, as ls_musetalk_render
 * writes them. */
void ls_musetalk_faces_to_bgr(const nn_tensor *x, uint8_t *faces);

#endif
