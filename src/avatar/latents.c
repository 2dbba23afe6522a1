/*
 * latents.c - building the VAE input of a face and encoding every frame.
 *
 * One frame at a time: the (2, 3, 256, 256) input is built on the host,
 * uploaded into the context's arena, encoded to (2, 4, 32, 32) means,
 * downloaded and scaled; that memory layout is already cat(masked,
 * reference) = (8, 32, 32). The arena is rewound after each frame.
 */
#include "avatar/latents.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "avatar/avatar_store.h"
#include "avatar/progress.h"
#include "image/resize.h"

#define SIDE LS_AVATAR_FACE_SIDE

static pthread_mutex_t latents_lock = PTHREAD_MUTEX_INITIALIZER;

int ls_avatar_face_input(const ls_image *frame, ls_box face_box, float *out, ls_error *err)
{
    ls_image crop, face;
    if (ls_image_crop(frame, face_box, &crop, err))
        return -1;
    int rc = ls_image_alloc(&face, SIDE, SIDE, 3, err);
    if (rc == 0)
        rc = ls_resize(&crop, &face, LS_INTERP_LANCZOS4, err);
    ls_image_free(&crop);
    if (rc) {
        ls_image_free(&face);
        return -1;
    }
    float *masked = out, *reference = out + 3 * SIDE * SIDE;
    for (int c = 0; c < 3; c++) {
        for (int y = 0; y < SIDE; y++) {
            const uint8_t *row = ls_image_row(&face, y);
            for (int x = 0; x < SIDE; x++) {
                /* channel c of RGB is byte 2 - c of BGR */
                float v = row[3 * x + 2 - c] / 255.0f;
                size_t at = ((size_t)c * SIDE + y) * SIDE + x;
                reference[at] = (v - 0.5f) / 0.5f;
                masked[at] = y >= SIDE / 2 ? -1.0f : reference[at];
            }
        }
    }
    ls_image_free(&face);
    return 0;
}

static int check_vae_shapes(const ls_vae *vae, ls_error *err)
{
    const ls_vae_config *cfg = ls_vae_config_of(vae);
    if (cfg->in_channels != 3 || cfg->latent_channels * 2 != LS_AVATAR_LATENT_CHANNELS ||
        SIDE / ls_vae_factor(vae) != LS_AVATAR_LATENT_SIDE)
        return ls_error_set(err, "the VAE makes (%d, %d, %d) latents from 256x256 faces; MuseTalk "
                            "avatars need (4, 32, 32)", cfg->latent_channels,
                            SIDE / ls_vae_factor(vae), SIDE / ls_vae_factor(vae));
    return 0;
}

static int compute_latents(ls_avatar *a, const ls_vae *vae, nn_ctx *ctx, float *latents,
                           ls_error *err)
{
    float scale = ls_vae_config_of(vae)->scaling_factor;
    float *input = malloc(sizeof(float) * LS_AVATAR_FACE_INPUT_SIZE);
    if (!input)
        return ls_error_set(err, "%s: out of memory", a->dir);
    ls_progress bar;
    ls_progress_start(&bar, "latents", a->nframes);
    int rc = 0;
    for (int i = 0; i < a->nframes && rc == 0; i++) {
        const ls_avatar_frame *f = &a->frames[i];
        if (ls_avatar_has_face(f)) {
            rc = ls_avatar_face_input(&f->image, f->face, input, err);
            if (rc) {
                ls_error_prefix(err, "%s: frame %d", a->dir, i);
                break;
            }
            nn_arena_mark mark = nn_arena_get_mark(ctx->arena);
            nn_tensor x = nn_alloc4(ctx, 2, 3, SIDE, SIDE);
            nn_tensor z = nn_alloc4(ctx, 2, LS_AVATAR_LATENT_CHANNELS / 2, LS_AVATAR_LATENT_SIDE,
                                    LS_AVATAR_LATENT_SIDE);
            nn_upload_spatial(ctx, &x, input);
            ls_vae_encode_mean(vae, ctx, &x, &z);
            float *dst = latents + (size_t)i * LS_AVATAR_LATENT_SIZE;
            nn_download_spatial(ctx, dst, &z);
            nn_arena_release(ctx->arena, mark);
            for (int k = 0; k < LS_AVATAR_LATENT_SIZE; k++)
                dst[k] *= scale;
        }
        ls_progress_step(&bar);
    }
    ls_progress_end(&bar);
    free(input);
    return rc;
}

int ls_avatar_ensure_latents(ls_avatar *a, const ls_vae *vae, nn_ctx *ctx, ls_error *err)
{
    pthread_mutex_lock(&latents_lock);
    int rc = 0;
    if (!a->latents) {
        float *latents = calloc((size_t)a->nframes, sizeof(float) * LS_AVATAR_LATENT_SIZE);
        if (!latents)
            rc = ls_error_set(err, "%s: out of memory for latents", a->dir);
        else if ((rc = check_vae_shapes(vae, err)) == 0)
            rc = compute_latents(a, vae, ctx, latents, err);
        if (rc == 0) {
            a->latents = latents;
            if (a->format == LS_AVATAR_LIPSTREAM)
                rc = ls_avatar_save_latents(a, err);
        } else {
            free(latents);
        }
    }
    pthread_mutex_unlock(&latents_lock);
    return rc;
}
