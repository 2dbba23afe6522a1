/*
 * run_musetalk.c - `lipstream run unet | vae-decode | vae-encode`: the
 * MuseTalk networks on .npy inputs, for parity tests and debugging.
 *
 * unet: the audio is used as given (no positional encoding is added), so the
 * output compares with a reference UNet called on the same arrays.
 * vae-decode: the decoder output itself (no scaling, no clamp).
 * vae-encode: the posterior mean (not multiplied by the scaling factor).
 * --device runs the network on a GPU: the weights are placed there, the
 * inputs uploaded and the output downloaded (the time printed covers the
 * forward pass and the download).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cli/args.h"
#include "cli/run_networks.h"
#include "io/npy.h"
#include "models/unet.h"
#include "models/vae.h"
#include "nn/device.h"

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}


/* A context on the device named by --device (NULL: auto) with --precision. */
static nn_ctx *device_context(const char *device, const char *precision, ls_error *err)
{
    if (nn_set_device(device, precision, err) != 0)
        return NULL;
    const nn_backend *be = nn_default_backend();
    nn_ctx *ctx = nn_ctx_new(be);
    if (!ctx)
        ls_error_set(err, "cannot make a %s context (out of memory)", be->name);
    return ctx;
}

/* A copy of host tensor t in the context's memory; `spatial` for the
 * (N, C, H, W) tensors of the convolutions (nn.h's nn_upload_spatial). */
static nn_tensor to_context(nn_ctx *c, const nn_tensor *t, int spatial)
{
    nn_tensor d = nn_alloc(c, t->ndim, t->shape);
    if (spatial)
        nn_upload_spatial(c, &d, t->data);
    else
        nn_upload(c, d.data, t->data, nn_numel(t));
    return d;
}

/* --- unet ---------------------------------------------------------------- */

#define UNET_USAGE                                                                            \
    "lipstream run unet --config musetalk.json --weights PATH --latent L.npy --audio A.npy " \
    "--out O.npy [--threads N] [--device D] [--precision P]"

int ls_run_unet(int argc, char **argv)
{
    const char *config = NULL, *weights = NULL, *latent_path = NULL, *audio_path = NULL;
    const char *out_path = NULL, *device = NULL, *precision = NULL;
    int threads = 0;
    const ls_arg spec[] = {
        { "config", LS_ARG_STRING, &config, "musetalk.json (diffusers UNet config)" },
        { "weights", LS_ARG_STRING, &weights, "UNet checkpoint, or the folder holding it" },
        { "latent", LS_ARG_STRING, &latent_path, "latents (N, in_channels, h, w) .npy" },
        { "audio", LS_ARG_STRING, &audio_path, "audio (N, tokens, cross_dim) .npy, used as given" },
        { "out", LS_ARG_STRING, &out_path, "output (N, out_channels, h, w) .npy" },
        { "threads", LS_ARG_INT, &threads, "CPU threads (default: all cores)" },
        { "device", LS_ARG_STRING, &device, NN_DEVICE_HELP },
        { "precision", LS_ARG_STRING, &precision, NN_PRECISION_HELP },
    };
    int nspec = (int)(sizeof spec / sizeof spec[0]);
    if (ls_args_wants_help(argc, argv)) {
        ls_args_usage(stdout, UNET_USAGE, spec, nspec);
        return 0;
    }
    ls_error err = { 0 };
    if (ls_args_parse(argc, argv, spec, nspec, NULL, &err) != 0) {
        fprintf(stderr, "lipstream run unet: %s\n", err.msg);
        return 2;
    }
    if (!config || !weights || !latent_path || !audio_path || !out_path) {
        ls_args_usage(stderr, UNET_USAGE, spec, nspec);
        return 2;
    }

    nn_tensor latent = { 0 }, audio = { 0 }, out = { 0 };
    ls_unet *unet = NULL;
    nn_ctx *ctx = NULL;
    int status = 1;
    nn_set_threads(threads);
    if (ls_npy_read(latent_path, &latent, &err) != 0 ||
        ls_npy_read(audio_path, &audio, &err) != 0 ||
        ls_unet_load(config, weights, &unet, &err) != 0 ||
        ls_unet_check_inputs(unet, &latent, &audio, &err) != 0 ||
        !(ctx = device_context(device, precision, &err)) || ls_unet_place(unet, ctx->be, &err) != 0)
        goto done;
    out = nn_view4(NULL, latent.shape[0], ls_unet_config_of(unet)->out_channels, latent.shape[2],
                   latent.shape[3]);
    out.data = malloc(nn_numel(&out) * sizeof *out.data);
    if (!out.data) {
        ls_error_set(&err, "out of memory");
        goto done;
    }
    nn_tensor latent_in = to_context(ctx, &latent, 1), audio_in = to_context(ctx, &audio, 0);
    nn_tensor result = nn_alloc(ctx, 4, out.shape);
    double start = seconds_now();
    ls_unet_forward(unet, ctx, &latent_in, &audio_in, &result);
    nn_download_spatial(ctx, out.data, &result);
    double elapsed = seconds_now() - start;
    if (ls_npy_write(out_path, &out, &err) != 0)
        goto done;
    fprintf(stderr, "unet: %lld frames in %.3f s\n", (long long)latent.shape[0], elapsed);
    status = 0;
done:
    if (status != 0)
        fprintf(stderr, "lipstream run unet: %s\n", err.msg);
    nn_ctx_free(ctx);
    ls_unet_free(unet);
    free(latent.data);
    free(audio.data);
    free(out.data);
    return status;
}

/* --- vae-decode, vae-encode ---------------------------------------------- */

/* Output shape for input x: the image of a latent, or the latent of an image. */
static nn_tensor output_shape(const ls_vae *vae, const nn_tensor *x, int encode)
{
    const ls_vae_config *cfg = ls_vae_config_of(vae);
    int f = ls_vae_factor(vae);
    if (encode)
        return nn_view4(NULL, x->shape[0], cfg->latent_channels, x->shape[2] / f, x->shape[3] / f);
    return nn_view4(NULL, x->shape[0], cfg->out_channels, x->shape[2] * f, x->shape[3] * f);
}

static int run_vae(int argc, char **argv, int encode)
{
    const char *name = encode ? "vae-encode" : "vae-decode";
    const char *usage = encode ? "lipstream run vae-encode --weights PATH --in X.npy --out Z.npy "
                                 "[--threads N] [--device D] [--precision P]"
                               : "lipstream run vae-decode --weights PATH --in Z.npy --out X.npy "
                                 "[--threads N] [--device D] [--precision P]";
    const char *weights = NULL, *in_path = NULL, *out_path = NULL, *device = NULL;
    const char *precision = NULL;
    int threads = 0;
    const ls_arg spec[] = {
        { "weights", LS_ARG_STRING, &weights,
          "VAE checkpoint, or its folder (config.json beside it is used when present)" },
        { "in", LS_ARG_STRING, &in_path,
          encode ? "images (N, 3, H, W) in [-1, 1] .npy" : "latents (N, 4, h, w) .npy" },
        { "out", LS_ARG_STRING, &out_path,
          encode ? "posterior means (N, 4, H/8, W/8) .npy" : "images (N, 3, 8h, 8w) .npy" },
        { "threads", LS_ARG_INT, &threads, "CPU threads (default: all cores)" },
        { "device", LS_ARG_STRING, &device, NN_DEVICE_HELP },
        { "precision", LS_ARG_STRING, &precision, NN_PRECISION_HELP },
    };
    int nspec = (int)(sizeof spec / sizeof spec[0]);
    if (ls_args_wants_help(argc, argv)) {
        ls_args_usage(stdout, usage, spec, nspec);
        return 0;
    }
    ls_error err = { 0 };
    if (ls_args_parse(argc, argv, spec, nspec, NULL, &err) != 0) {
        fprintf(stderr, "lipstream run %s: %s\n", name, err.msg);
        return 2;
    }
    if (!weights || !in_path || !out_path) {
        ls_args_usage(stderr, usage, spec, nspec);
        return 2;
    }

    nn_tensor in = { 0 }, out = { 0 };
    ls_vae *vae = NULL;
    nn_ctx *ctx = NULL;
    int status = 1;
    nn_set_threads(threads);
    if (ls_npy_read(in_path, &in, &err) != 0 || ls_vae_load(weights, &vae, &err) != 0)
        goto done;
    if ((encode ? ls_vae_check_image(vae, &in, &err) : ls_vae_check_latent(vae, &in, &err)) != 0) {
        ls_error_prefix(&err, "%s", in_path);
        goto done;
    }
    if (!(ctx = device_context(device, precision, &err)) || ls_vae_place(vae, ctx->be, &err) != 0)
        goto done;
    out = output_shape(vae, &in, encode);
    out.data = malloc(nn_numel(&out) * sizeof *out.data);
    if (!out.data) {
        ls_error_set(&err, "out of memory");
        goto done;
    }
    nn_tensor input = to_context(ctx, &in, 1), result = nn_alloc(ctx, 4, out.shape);
    double start = seconds_now();
    if (encode)
        ls_vae_encode_mean(vae, ctx, &input, &result);
    else
        ls_vae_decode(vae, ctx, &input, &result);
    nn_download_spatial(ctx, out.data, &result);
    double elapsed = seconds_now() - start;
    if (ls_npy_write(out_path, &out, &err) != 0)
        goto done;
    fprintf(stderr, "%s: %lld images in %.3f s\n", name, (long long)in.shape[0], elapsed);
    status = 0;
done:
    if (status != 0)
        fprintf(stderr, "lipstream run %s: %s\n", name, err.msg);
    nn_ctx_free(ctx);
    ls_vae_free(vae);
    free(in.data);
    free(out.data);
    return status;
}

int ls_run_vae_decode(int argc, char **argv)
{
    return run_vae(argc, argv, 0);
}

int ls_run_vae_encode(int argc, char **argv)
{
    return run_vae(argc, argv, 1);
}
