/*
 * gpu_musetalk.c - the lipstream side of bench/gpu.sh: frames per second of
 * the MuseTalk UNet and the VAE decoder on a device, at several batch sizes.
 *
 * usage: gpu_musetalk DIR [--device D] [--precision fp16|bf16] [--reps R]
 *                         [--batches 1,4,16,32]
 *   DIR holds musetalk/ and sd-vae/ (as written by bench/musetalk_ref.py weights).
 * The weights are placed on the device once; inputs are random and already
 * in device memory, as in the PyTorch reference. Each case runs twice to warm
 * up (the arena and the convolution plans reach their final state), then R
 * times, each timed up to the device's synchronisation. Output lines:
 *   lipstream <unet|vae_decode|unet+vae_decode> batch=<b> median_s=<s> fps=<frames/s>
 * where unet+vae_decode is one UNet pass followed by the decode of its output
 * (scaled by 1/0.18215, as the renderer does), timed together, and
 * unet+vae_decode_graph the same as the renderer queues it: one recorded
 * pass (nn/recording.h; a CUDA graph). On a GPU, a last line on stderr
 * says how the convolutions chose their cuDNN algorithms (timed or not).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_clock.h"
#include "cli/args.h"
#include "models/unet.h"
#include "models/vae.h"
#include "nn/device.h"
#include "nn/recording.h"
#ifdef LS_HAVE_CUDA
#include "nn/cuda/cuda_backend.h"
#endif

#define MAX_BATCHES 16
#define MAX_REPS 100

typedef struct bench {
    ls_unet *unet;
    ls_vae *vae;
    nn_ctx *ctx;
    nn_tensor latent, audio, pred, image;   /* device memory */
} bench;

/* A device tensor of uniform values in [-1, 1). */
static nn_tensor random_tensor(nn_ctx *c, int ndim, const int64_t *shape)
{
    nn_tensor t = nn_alloc(c, ndim, shape);
    size_t n = (size_t)nn_numel(&t);
    float *host = nn_host_buffer(c, n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        host[i] = (float)rand() / (float)RAND_MAX * 2.0f - 1.0f;
    nn_upload(c, t.data, host, (int64_t)n);
    return t;
}

static void run_unet(bench *b)
{
    ls_unet_forward(b->unet, b->ctx, &b->latent, &b->audio, &b->pred);
}

static void run_vae(bench *b)
{
    ls_vae_decode_scaled(b->vae, b->ctx, &b->pred, &b->image);
}

static void run_both(bench *b)
{
    run_unet(b);
    run_vae(b);
}

static void run_both_pass(nn_ctx *c, void *arg)
{
    (void)c;
    run_both(arg);
}

/* Both as the renderer runs them: one recorded pass (a CUDA graph). */
static void run_both_recorded(bench *b)
{
    const int64_t key[] = { (int64_t)(intptr_t)b->latent.data, (int64_t)(intptr_t)b->image.data,
                            b->latent.shape[0] };
    nn_run_recorded(b->ctx, key, 3, run_both_pass, b);
}

/* Median seconds of `reps` synchronised calls after two warm-up calls (the
 * second records a recorded pass). */
static double median_time(bench *b, void (*fn)(bench *), int reps)
{
    double times[MAX_REPS];
    fn(b);
    fn(b);
    b->ctx->be->synchronize(b->ctx);
    for (int r = 0; r < reps; r++) {
        double start = bench_seconds();
        fn(b);
        b->ctx->be->synchronize(b->ctx);
        times[r] = bench_seconds() - start;
    }
    bench_sort_times(times, (size_t)reps);
    return times[reps / 2];
}

static void report(const char *net, int batch, double seconds)
{
    printf("lipstream %s batch=%d median_s=%.5f fps=%.1f\n", net, batch, seconds,
           batch / seconds);
    fflush(stdout);
}

static int parse_batches(const char *list, int *batches)
{
    int n = 0;
    for (const char *p = list; *p && n < MAX_BATCHES;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > 1024)
            return -1;
        batches[n++] = (int)v;
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return -1;
    }
    return n;
}

int main(int argc, char **argv)
{
    const char *device = "cuda", *precision = NULL, *batch_list = "1,4,16,32";
    int reps = 10;
    const ls_arg spec[] = {
        { "device", LS_ARG_STRING, &device, "cpu, cuda or cuda:N (cuda)" },
        { "precision", LS_ARG_STRING, &precision, "a GPU's fp16 or bf16 (fp16)" },
        { "reps", LS_ARG_INT, &reps, "timed runs per case (10)" },
        { "batches", LS_ARG_STRING, &batch_list, "batch sizes (1,4,16,32)" },
    };
    int nspec = (int)(sizeof spec / sizeof spec[0]);
    ls_positional pos = { 0 };
    ls_error err = { 0 };
    int batches[MAX_BATCHES], n_batches;
    if (ls_args_parse(argc - 1, argv + 1, spec, nspec, &pos, &err) != 0 || pos.n != 1 ||
        reps < 1 || reps > MAX_REPS || (n_batches = parse_batches(batch_list, batches)) < 1) {
        if (err.msg[0])
            fprintf(stderr, "gpu_musetalk: %s\n", err.msg);
        ls_args_usage(stderr, "gpu_musetalk DIR [options]", spec, nspec);
        return 2;
    }
    char config[1024], unet_dir[1024], vae_dir[1024];
    snprintf(config, sizeof config, "%s/musetalk/musetalk.json", pos.items[0]);
    snprintf(unet_dir, sizeof unet_dir, "%s/musetalk", pos.items[0]);
    snprintf(vae_dir, sizeof vae_dir, "%s/sd-vae", pos.items[0]);

    bench b = { 0 };
    int status = 1;
    double start = bench_seconds();
    if (nn_set_device(device, precision, &err) != 0 || ls_unet_load(config, unet_dir, &b.unet, &err) != 0 ||
        ls_vae_load(vae_dir, &b.vae, &err) != 0 ||
        ls_unet_place(b.unet, nn_default_backend(), &err) != 0 ||
        ls_vae_place(b.vae, nn_default_backend(), &err) != 0)
        goto done;
    if (!(b.ctx = nn_ctx_new(nn_default_backend()))) {
        ls_error_set(&err, "cannot make a %s context", nn_default_backend()->name);
        goto done;
    }
    fprintf(stderr, "gpu_musetalk: models on %s in %.1f s\n", b.ctx->be->name,
            bench_seconds() - start);
    int f = ls_vae_factor(b.vae);
    const ls_unet_config *cfg = ls_unet_config_of(b.unet);
    for (int i = 0; i < n_batches; i++) {
        int64_t n = batches[i];   /* MuseTalk's sizes: a 32x32 latent, 50 audio tokens */
        nn_arena_mark mark = nn_arena_get_mark(b.ctx->arena);
        b.latent = random_tensor(b.ctx, 4, (int64_t[]){ n, cfg->in_channels, 32, 32 });
        b.audio = random_tensor(b.ctx, 3, (int64_t[]){ n, 50, cfg->cross_attention_dim });
        b.pred = nn_alloc4(b.ctx, n, cfg->out_channels, 32, 32);
        b.image = nn_alloc4(b.ctx, n, 3, 32 * f, 32 * f);
        report("unet", batches[i], median_time(&b, run_unet, reps));
        report("vae_decode", batches[i], median_time(&b, run_vae, reps));
        report("unet+vae_decode", batches[i], median_time(&b, run_both, reps));
        report("unet+vae_decode_graph", batches[i], median_time(&b, run_both_recorded, reps));
        nn_arena_release(b.ctx->arena, mark);
    }
#ifdef LS_HAVE_CUDA
    nn_cuda_conv_stats conv = nn_cuda_conv_stats_now();
    if (conv.geometries > 0)
        fprintf(stderr,
                "gpu_musetalk: cuDNN: %d convolution geometries, %d timed; the fastest was not "
                "cuDNN's first proposal in %d; %d proposals refused to run; %d geometries without "
                "an algorithm (im2col + GEMM)\n",
                conv.geometries, conv.timed, conv.reordered, conv.refused, conv.gemm);
#endif
    status = 0;
done:
    if (status != 0)
        fprintf(stderr, "gpu_musetalk: %s\n", err.msg);
    nn_ctx_free(b.ctx);
    ls_unet_free(b.unet);
    ls_vae_free(b.vae);
    return status;
}
