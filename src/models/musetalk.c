/*
 * musetalk.c - UNet + VAE decode + uint8 faces (see musetalk.h), and the
 * upstream weights-folder layout.
 *
 * Activations live in the context's backend memory: the latents are
 * uploaded as they are, the audio after the positional encoding is added to
 * a copy in the context's host buffer, and the decoded image is either left
 * on the device (generate) or downloaded into that buffer and converted to
 * bytes there (render). The UNet and the VAE run as one recorded pass
 * (nn/recording.h): on a GPU, one graph launch per batch.
 */
#include "models/musetalk.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/features.h"
#include "models/model_files.h"
#include "nn/recording.h"

struct ls_musetalk {
    ls_unet *unet;
    ls_vae *vae;
    float *pe;        /* (LS_MUSETALK_MAX_TOKENS, cross_attention_dim) positional encoding */
};

int ls_musetalk_load(const char *unet_config, const char *unet_weights, const char *vae_path,
                     ls_musetalk **out, ls_error *err)
{
    *out = NULL;
    ls_musetalk *m = calloc(1, sizeof *m);
    if (!m)
        return ls_error_set(err, "out of memory");
    if (ls_unet_load(unet_config, unet_weights, &m->unet, err) != 0 ||
        ls_vae_load(vae_path, &m->vae, err) != 0) {
        ls_musetalk_free(m);
        return -1;
    }
    const ls_unet_config *u = ls_unet_config_of(m->unet);
    const ls_vae_config *v = ls_vae_config_of(m->vae);
    if (u->out_channels != v->latent_channels || v->out_channels != 3) {
        ls_musetalk_free(m);
        return ls_error_set(err, "%s and %s do not fit together: the UNet makes %d latent "
                            "channels, the VAE takes %d and makes %d image channels (want 3)",
                            unet_config, vae_path, u->out_channels, v->latent_channels,
                            v->out_channels);
    }
    m->pe = malloc((size_t)LS_MUSETALK_MAX_TOKENS * u->cross_attention_dim * sizeof *m->pe);
    if (!m->pe) {
        ls_musetalk_free(m);
        return ls_error_set(err, "out of memory");
    }
    ls_positional_encoding(LS_MUSETALK_MAX_TOKENS, u->cross_attention_dim, m->pe);
    *out = m;
    return 0;
}

void ls_musetalk_free(ls_musetalk *m)
{
    if (!m)
        return;
    ls_unet_free(m->unet);
    ls_vae_free(m->vae);
    free(m->pe);
    free(m);
}

int ls_musetalk_place(ls_musetalk *m, const nn_backend *be, ls_error *err)
{
    return ls_unet_place(m->unet, be, err) != 0 || ls_vae_place(m->vae, be, err) != 0 ? -1 : 0;
}

const nn_backend *ls_musetalk_backend(const ls_musetalk *m)
{
    return ls_unet_backend(m->unet);
}

/* --- the upstream folder layout ------------------------------------------ */

typedef struct {
    const char *folder, *weights, *what;
} unet_layout;

static const unet_layout UNET_LAYOUTS[] = {
    [LS_MUSETALK_V1] = { "musetalk", "pytorch_model.bin", "MuseTalk v1.0 UNet" },
    [LS_MUSETALK_V15] = { "musetalkV15", "unet.pth", "MuseTalk v1.5 UNet" },
};

static const char *const VAE_FOLDERS[] = { "sd-vae", "sd-vae-ft-mse", NULL };

/* Appends "; " + text to a message buffer. */
static void note(char *buf, size_t size, const char *text)
{
    size_t used = strlen(buf);
    snprintf(buf + used, size - used, "%s%s", used ? "; " : "", text);
}

int ls_musetalk_load_dir(const char *dir, ls_musetalk_version version, ls_musetalk **out,
                         ls_error *err)
{
    *out = NULL;
    char unet_dir[LS_PATH_MAX], config[LS_PATH_MAX], weights[LS_PATH_MAX], vae_dir[LS_PATH_MAX];
    char missing[1024] = "", line[512];
    if (!ls_is_dir(dir))
        return ls_error_set(err, "%s: weights folder not found", dir);
    if (version == LS_MUSETALK_AUTO) {
        ls_path_join(unet_dir, sizeof unet_dir, dir, UNET_LAYOUTS[LS_MUSETALK_V15].folder, NULL);
        version = ls_is_dir(unet_dir) ? LS_MUSETALK_V15 : LS_MUSETALK_V1;
    }
    if (version != LS_MUSETALK_V1 && version != LS_MUSETALK_V15)
        return ls_error_set(err, "unknown MuseTalk version %d", (int)version);
    const unet_layout *layout = &UNET_LAYOUTS[version];
    if (ls_path_join(unet_dir, sizeof unet_dir, dir, layout->folder, err) != 0 ||
        ls_path_join(config, sizeof config, unet_dir, "musetalk.json", err) != 0 ||
        ls_path_join(weights, sizeof weights, unet_dir, layout->weights, err) != 0)
        return -1;
    if (!ls_is_file(config) || !ls_is_file(weights)) {
        snprintf(line, sizeof line, "%s/musetalk.json and %s/%s (the %s, from "
                 "huggingface.co/TMElyralab/MuseTalk, folder %s/)", layout->folder,
                 layout->folder, layout->weights, layout->what, layout->folder);
        note(missing, sizeof missing, line);
    }
    int found_vae = 0;
    for (int i = 0; VAE_FOLDERS[i] && !found_vae; i++) {
        char file[LS_PATH_MAX];
        if (ls_path_join(vae_dir, sizeof vae_dir, dir, VAE_FOLDERS[i], err) != 0)
            return -1;
        found_vae = ls_is_dir(vae_dir) && ls_vae_weights_file(vae_dir, file, sizeof file, NULL) == 0;
    }
    if (!found_vae)
        note(missing, sizeof missing, "sd-vae/config.json and sd-vae/diffusion_pytorch_model."
             "safetensors or .bin (the VAE, from huggingface.co/stabilityai/sd-vae-ft-mse)");
    if (missing[0])
        return ls_error_set(err, "%s: missing %s", dir, missing);
    return ls_musetalk_load(config, weights, vae_dir, out, err);
}

/* --- rendering ----------------------------------------------------------- */

const ls_vae *ls_musetalk_vae(const ls_musetalk *m)
{
    return m->vae;
}

int64_t ls_musetalk_face_size(const ls_musetalk *m, int64_t latent_size)
{
    return latent_size * ls_vae_factor(m->vae);
}

int ls_musetalk_check_inputs(const ls_musetalk *m, const nn_tensor *latents,
                             const nn_tensor *audio, ls_error *err)
{
    if (ls_unet_check_inputs(m->unet, latents, audio, err) != 0)
        return -1;
    if (audio->shape[1] > LS_MUSETALK_MAX_TOKENS)
        return ls_error_set(err, "audio chunks have %lld tokens, at most %d are supported",
                            (long long)audio->shape[1], LS_MUSETALK_MAX_TOKENS);
    return 0;
}

/* faces (N, H, W, 3) BGR = round(clamp(x / 2 + 0.5, 0, 1) * 255) of x (N, 3, H, W) RGB. */
void ls_musetalk_faces_to_bgr(const nn_tensor *x, uint8_t *faces)
{
    int64_t n = x->shape[0], hw = x->shape[2] * x->shape[3];
    for (int64_t i = 0; i < n; i++)
        for (int ch = 0; ch < 3; ch++) {
            const float *src = x->data + (i * 3 + ch) * hw;
            uint8_t *dst = faces + i * hw * 3 + (2 - ch);
            for (int64_t p = 0; p < hw; p++) {
                float v = src[p] / 2.0f + 0.5f;
                v = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
                dst[p * 3] = (uint8_t)rintf(v * 255.0f);   /* half to even, as numpy's round */
            }
        }
}

/* The device part of generate: x = decode(UNet(latents, 0, cond) / scaling). */
typedef struct generate_pass {
    const ls_musetalk *m;
    const nn_tensor *latents, *cond;
    nn_tensor *x;
} generate_pass;

static void run_generate(nn_ctx *c, void *arg)
{
    const generate_pass *g = arg;
    const nn_tensor *lat = g->latents;
    nn_arena_mark mark = nn_arena_get_mark(c->arena);
    nn_tensor pred = nn_alloc4(c, lat->shape[0], ls_unet_config_of(g->m->unet)->out_channels,
                               lat->shape[2], lat->shape[3]);
    ls_unet_forward(g->m->unet, c, lat, g->cond, &pred);
    ls_vae_decode_scaled(g->m->vae, c, &pred, g->x);
    nn_arena_release(c->arena, mark);
}

nn_tensor ls_musetalk_generate(const ls_musetalk *m, nn_ctx *c, const nn_tensor *latents,
                               const nn_tensor *audio)
{
    int64_t batch = latents->shape[0], h = latents->shape[2], w = latents->shape[3];
    int64_t tokens = audio->shape[1], dim = audio->shape[2];
    nn_tensor x = nn_alloc4(c, batch, 3, ls_musetalk_face_size(m, h), ls_musetalk_face_size(m, w));
    nn_arena_mark mark = nn_arena_get_mark(c->arena);
    size_t audio_bytes = (size_t)nn_numel(audio) * sizeof(float);
    /* cond = audio + pe[:tokens], made on the host */
    float *host = nn_host_buffer(c, audio_bytes);
    nn_tensor cond = nn_alloc3(c, batch, tokens, dim);
    memcpy(host, audio->data, audio_bytes);
    ls_add_positional_encoding(host, batch, tokens, (int)dim, m->pe);
    nn_upload(c, cond.data, host, nn_numel(audio));
    nn_tensor lat = nn_alloc(c, 4, latents->shape);
    nn_upload_spatial(c, &lat, latents->data);
    /* one recording per batch shape and place in the arena (nn/recording.h) */
    generate_pass pass = { m, &lat, &cond, &x };
    const int64_t key[] = { (int64_t)(intptr_t)m, batch, h, w, tokens, dim,
                            (int64_t)(intptr_t)lat.data, (int64_t)(intptr_t)cond.data,
                            (int64_t)(intptr_t)x.data };
    nn_run_recorded(c, key, (int)(sizeof key / sizeof *key), run_generate, &pass);
    nn_arena_release(c->arena, mark);   /* x stays: it was taken before the mark */
    return x;
}

void ls_musetalk_render(const ls_musetalk *m, nn_ctx *c, const nn_tensor *latents,
                        const nn_tensor *audio, uint8_t *faces)
{
    nn_arena_mark mark = nn_arena_get_mark(c->arena);
    nn_tensor x = ls_musetalk_generate(m, c, latents, audio);
    float *host = nn_host_buffer(c, (size_t)nn_numel(&x) * sizeof(float));
    nn_download_spatial(c, host, &x);
    nn_tensor image = nn_view4(host, x.shape[0], 3, x.shape[2], x.shape[3]);
    ls_musetalk_faces_to_bgr(&image, faces);
    nn_arena_release(c->arena, mark);
}
