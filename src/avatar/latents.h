/*
 * latents.h - the UNet's cached image input of each avatar frame.
 *
 * MuseTalk (spec section 3): crop the face box from the frame, resize to
 * 256x256 with Lanczos-4, BGR -> RGB, x/255 -> (x - 0.5)/0.5 in [-1, 1]; a
 * masked copy has its lower half (rows 128..255) zeroed before the
 * normalisation (so -1 after). Both go through the VAE encoder; the
 * posterior mean (not a random sample, as upstream's preparation uses) times
 * the VAE's scaling factor (0.18215) gives two (4, 32, 32) latents, stored
 * as cat(masked, reference) = (8, 32, 32).
 */
#ifndef LS_AVATAR_LATENTS_H
#define LS_AVATAR_LATENTS_H

#include "avatar/avatar.h"
#include "models/vae.h"
#include "nn/nn.h"

#define LS_AVATAR_FACE_INPUT_SIZE (2 * 3 * LS_AVATAR_FACE_SIDE * LS_AVATAR_FACE_SIDE)

/* out (2, 3, 256, 256): [0] the masked copy, [1] the reference. */
int ls_avatar_face_input(const ls_image *frame, ls_box face_box, float *out, ls_error *err);

/* When a->latents is NULL, computes the latents of every frame with a face
 * (a terminal progress bar shows while it runs) and, for lipstream avatars,
 * saves them beside the frames and records them in the manifest. Does
 * nothing when the latents are already there. If only the saving fails, the
 * latents stay in memory and the error is returned. Serialised by a lock, so
 * sessions sharing the avatar may all call it. */
int ls_avatar_ensure_latents(ls_avatar *a, const ls_vae *vae, nn_ctx *ctx, ls_error *err);

#endif
