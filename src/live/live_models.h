/*
 * live_models.h - the models a lip-syncing process shares: MuseTalk (UNet +
 * VAE), the whisper encoder of the same version, and the inference worker.
 *
 * Loaded once from a weights folder in LiveTalking's layout (musetalk/ or
 * musetalkV15/, sd-vae/ or sd-vae-ft-mse/, whisper/), shared read-only by
 * every session (`lipstream serve`) or by the offline renderer. When files
 * are missing, one error lists all of them and where each comes from.
 */
#ifndef LS_LIVE_LIVE_MODELS_H
#define LS_LIVE_LIVE_MODELS_H

#include "avatar/avatar.h"
#include "live/infer_worker.h"
#include "models/musetalk.h"
#include "models/whisper.h"

typedef struct ls_live_models {
    ls_musetalk *musetalk;
    ls_whisper *whisper;
    ls_infer_worker *worker;   /* batches of up to batch_size frames */
} ls_live_models;

/* version LS_MUSETALK_AUTO takes v1.5 when weights_dir has musetalkV15/.
 * serving: the worker is readied for a first session's latency on a GPU
 * (ls_infer_config.warm_up); the offline renderer passes 0. */
int ls_live_models_load(const char *weights_dir, ls_musetalk_version version, int batch_size,
                        int serving, ls_live_models *out, ls_error *err);
void ls_live_models_free(ls_live_models *m);

/* Computes (and saves) the avatar's latents with the model's VAE when it has
 * none yet, and uploads its frames when the worker pastes on a GPU; each
 * once per avatar. */
int ls_live_models_prepare_avatar(const ls_live_models *m, ls_avatar *avatar, ls_error *err);

#endif
