/*
 * live_models.c - loading the shared lip-sync models (see live_models.h).
 *
 * Both networks go onto the process's device (nn/device.h): on a GPU their
 * weights are placed there once and shared. The inference worker and the
 * avatar latents run MuseTalk there; each session runs the whisper encoder
 * there on its own context (stream features), so on a GPU no network runs
 * on the host. On a GPU the worker also pastes the faces into the avatar
 * frames there, so prepared avatars are uploaded to it.
 */
#include "live/live_models.h"

#include <stdio.h>
#include <string.h>

#include "audio/features.h"
#include "avatar/avatar_device.h"
#include "avatar/latents.h"
#include "models/model_files.h"
#include "nn/device.h"
#include "nn/nn.h"

/* The whisper checkpoint of `version` under dir, or a note of what is
 * missing in `missing` (which stays "" when it is there). */
static int whisper_path(const char *dir, ls_musetalk_version version, char *path, size_t size,
                        char *missing, size_t missing_size, ls_error *err)
{
    static const char *const weights[] = { "model.safetensors", "pytorch_model.bin", NULL };
    char config[LS_PATH_MAX], file[LS_PATH_MAX];
    if (version == LS_MUSETALK_V1) {
        if (ls_path_join(path, size, dir, "whisper/tiny.pt", err) != 0)
            return -1;
        if (!ls_is_file(path))
            snprintf(missing, missing_size, "whisper/tiny.pt (openai whisper-tiny, the URL is "
                     "in scripts/download_models.sh)");
        return 0;
    }
    if (ls_path_join(path, size, dir, "whisper", err) != 0 ||
        ls_path_join(config, sizeof config, path, "config.json", err) != 0)
        return -1;
    if (!ls_is_file(config) || ls_model_file(path, weights, file, sizeof file, NULL) != 0)
        snprintf(missing, missing_size, "whisper/config.json and whisper/model.safetensors "
                 "(whisper-tiny, from huggingface.co/openai/whisper-tiny)");
    return 0;
}

static int load_networks(const char *dir, ls_musetalk_version version, ls_live_models *m,
                         ls_error *err)
{
    if (version == LS_MUSETALK_AUTO) {
        char v15[LS_PATH_MAX];
        snprintf(v15, sizeof v15, "%s/musetalkV15", dir);
        version = ls_is_dir(v15) ? LS_MUSETALK_V15 : LS_MUSETALK_V1;
    }
    char path[LS_PATH_MAX], missing[512] = "";
    if (whisper_path(dir, version, path, sizeof path, missing, sizeof missing, err) != 0)
        return -1;
    ls_error unet_err = { 0 };
    int rc = ls_musetalk_load_dir(dir, version, &m->musetalk, &unet_err);
    if (rc != 0 && missing[0])
        return ls_error_set(err, "%s; and %s", unet_err.msg, missing);
    if (rc != 0) {
        *err = unet_err;
        return -1;
    }
    if (missing[0])
        return ls_error_set(err, "%s: missing %s", dir, missing);
    return ls_whisper_load(path, version, &m->whisper, err);
}

int ls_live_models_load(const char *weights_dir, ls_musetalk_version version, int batch_size,
                        int serving, ls_live_models *out, ls_error *err)
{
    memset(out, 0, sizeof *out);
    const nn_backend *be = nn_default_backend();
    int gpu = be != nn_backend_cpu();
    if (load_networks(weights_dir, version, out, err) != 0 ||
        ls_musetalk_place(out->musetalk, be, err) != 0 ||
        ls_whisper_place(out->whisper, be, err) != 0)
        goto fail;
    ls_infer_config wc = { .backend = be,
                           .batch_size = batch_size,
                           .latent_channels = LS_AVATAR_LATENT_CHANNELS,
                           .latent_height = LS_AVATAR_LATENT_SIDE,
                           .latent_width = LS_AVATAR_LATENT_SIDE,
                           .tokens = LS_CHUNK_STEPS * ls_whisper_n_states(out->whisper),
                           .dim = out->whisper->n_state,
                           .paste = gpu,
                           .warm_up = gpu && serving };
    if (ls_infer_worker_new(out->musetalk, &wc, &out->worker, err) != 0)
        goto fail;
    return 0;
fail:
    ls_live_models_free(out);
    return -1;
}

void ls_live_models_free(ls_live_models *m)
{
    ls_infer_worker_free(m->worker);
    ls_whisper_free(m->whisper);
    ls_musetalk_free(m->musetalk);
    memset(m, 0, sizeof *m);
}

int ls_live_models_prepare_avatar(const ls_live_models *m, ls_avatar *avatar, ls_error *err)
{
    const nn_backend *be = ls_musetalk_backend(m->musetalk);
    if (ls_infer_worker_config(m->worker)->paste && ls_avatar_upload(avatar, be, err) != 0)
        return -1;
    if (avatar->latents)
        return 0;
    nn_ctx *ctx = nn_ctx_new(be);
    if (!ctx)
        return ls_error_exhausted(err, "cannot make a %s context (out of memory)", be->name);
    int rc = ls_avatar_ensure_latents(avatar, ls_musetalk_vae(m->musetalk), ctx, err);
    nn_ctx_free(ctx);
    return rc;
}
