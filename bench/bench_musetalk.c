/*
 * bench_musetalk.c - the lipstream side of bench/musetalk.sh: per-frame time
 * of the MuseTalk UNet and the VAE decoder at batch 1 and 4.
 *
 * usage: bench_musetalk DIR [--threads N] [--reps R] [--profile [--batch B]]
 *   DIR holds musetalk/ and sd-vae/ (as written by bench/musetalk_ref.py weights).
 * Each case runs once to warm up (the arena reaches its size), then R times;
 * output lines match the PyTorch side's:
 *   lipstream <unet|vae_decode> batch=<b> median_s=<s> per_frame_s=<s> min_per_frame_s=<s>
 *             arena_peak_mib=<m> major_faults_so_far=<n> (page faults that read the disk)
 *   lipstream peak_rss_mib=<whole process> inference_peak_rss_mib=<after loading>
 * --profile instead runs one batch-B pass (default 1) of each network through a backend
 * that times every operator call, and prints where the time goes, by
 * operator and shape.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench_clock.h"
#include "cli/args.h"
#include "models/unet.h"
#include "models/vae.h"

/* --- memory -------------------------------------------------------------- */

static double vm_hwm_mib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kib = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %lf", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib / 1024;
}

static void reset_peak_rss(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

/* --- the operator profiler ----------------------------------------------- */

#define MAX_STATS 512

typedef struct {
    char key[192];
    double seconds;
    int calls;
} op_stat;

static const nn_backend *cpu;
static op_stat stats[MAX_STATS];
static int n_stats;
static size_t model_arena_peak;   /* most arena bytes in use when an operator starts */

static void record(const char *op, const nn_tensor *x, const nn_tensor *w, const char *extra,
                   double seconds)
{
    char key[192], xs[64], ws[64] = "";
    nn_shape_str(x, xs, sizeof xs);
    if (w)
        nn_shape_str(w, ws, sizeof ws);
    snprintf(key, sizeof key, "%-10s x%s %s%s%s", op, xs, w ? "w" : "", ws, extra);
    int i = 0;
    while (i < n_stats && strcmp(stats[i].key, key) != 0)
        i++;
    if (i == n_stats) {
        if (n_stats == MAX_STATS)
            return;
        stats[n_stats] = (op_stat){ .seconds = 0 };
        snprintf(stats[n_stats++].key, sizeof stats[0].key, "%s", key);
    }
    stats[i].seconds += seconds;
    stats[i].calls++;
}

#define TIMED(op, x, w, extra, call)                                                          \
    do {                                                                                      \
        if (nn_arena_used(c->arena) > model_arena_peak)                                       \
            model_arena_peak = nn_arena_used(c->arena);                                       \
        double t0 = bench_seconds();                                                            \
        call;                                                                                 \
        record(op, x, w, extra, bench_seconds() - t0);                                          \
    } while (0)

static void p_linear(nn_ctx *c, const nn_tensor *x, const nn_tensor *w, const nn_tensor *b,
                     const nn_tensor *r, nn_tensor *y)
{
    TIMED("linear", x, w, "", cpu->linear(c, x, w, b, r, y));
}

static void p_conv2d(nn_ctx *c, const nn_tensor *x, const nn_tensor *w, const nn_tensor *b,
                     const nn_conv2d_params *p, const nn_tensor *r, nn_tensor *y)
{
    const char *extra = p->upsample2x ? " up2x" : p->stride_h == 2 ? " stride2" : "";
    TIMED("conv2d", x, w, extra, cpu->conv2d(c, x, w, b, p, r, y));
}

static void p_group_norm(nn_ctx *c, const nn_tensor *x, const nn_tensor *g, const nn_tensor *b,
                         int groups, float eps, nn_act act, nn_tensor *y)
{
    TIMED("groupnorm", x, NULL, act ? " silu" : "",
          cpu->group_norm(c, x, g, b, groups, eps, act, y));
}

static void p_layer_norm(nn_ctx *c, const nn_tensor *x, const nn_tensor *g, const nn_tensor *b,
                         float eps, nn_tensor *y)
{
    TIMED("layernorm", x, NULL, "", cpu->layer_norm(c, x, g, b, eps, y));
}

static void p_activation(nn_ctx *c, const nn_tensor *x, nn_act act, nn_tensor *y)
{
    TIMED("activation", x, NULL, "", cpu->activation(c, x, act, y));
}

static void p_geglu(nn_ctx *c, const nn_tensor *x, nn_tensor *y)
{
    TIMED("geglu", x, NULL, "", cpu->geglu(c, x, y));
}

static void p_attention(nn_ctx *c, const nn_tensor *q, const nn_tensor *k, const nn_tensor *v,
                        int heads, nn_tensor *out)
{
    char extra[32];
    snprintf(extra, sizeof extra, " heads %d", heads);
    TIMED("attention", q, k, extra, cpu->attention(c, q, k, v, heads, out));
}

static void p_add(nn_ctx *c, const nn_tensor *a, const nn_tensor *b, nn_tensor *y)
{
    TIMED("add", a, NULL, "", cpu->add(c, a, b, y));
}

static void p_upsample2x(nn_ctx *c, const nn_tensor *x, nn_tensor *y)
{
    TIMED("upsample2x", x, NULL, "", cpu->upsample2x(c, x, y));
}

static void p_concat(nn_ctx *c, const nn_tensor *a, const nn_tensor *b, nn_tensor *y)
{
    TIMED("concat", a, b, "", cpu->concat_channels(c, a, b, y));
}

static void p_transpose12(nn_ctx *c, const nn_tensor *x, nn_tensor *y)
{
    TIMED("transpose", x, NULL, "", cpu->transpose12(c, x, y));
}

static nn_backend profiling_backend(void)
{
    nn_backend be = *cpu;
    be.name = "cpu-profiled";
    be.linear = p_linear;
    be.conv2d = p_conv2d;
    be.group_norm = p_group_norm;
    be.layer_norm = p_layer_norm;
    be.activation = p_activation;
    be.geglu = p_geglu;
    be.attention = p_attention;
    be.add = p_add;
    be.upsample2x = p_upsample2x;
    be.concat_channels = p_concat;
    be.transpose12 = p_transpose12;
    return be;
}

static int by_time(const void *a, const void *b)
{
    double d = ((const op_stat *)b)->seconds - ((const op_stat *)a)->seconds;
    return (d > 0) - (d < 0);
}

static void print_profile(const char *title, double wall, const nn_ctx *c)
{
    qsort(stats, n_stats, sizeof stats[0], by_time);
    double total = 0;
    for (int i = 0; i < n_stats; i++)
        total += stats[i].seconds;
    printf("\n%s: %.3f s wall, %.3f s in operators; arena peak %.0f MiB, of which the model's "
           "activations %.0f MiB and operator temporaries the rest; top operator shapes:\n",
           title, wall, total, nn_arena_peak(c->arena) / 1048576.0, model_arena_peak / 1048576.0);
    for (int i = 0; i < n_stats && i < 25; i++)
        printf("  %6.3f s %5.1f%% %4d calls  %s\n", stats[i].seconds,
               100 * stats[i].seconds / total, stats[i].calls, stats[i].key);
    n_stats = 0;
}

/* --- the benchmark ------------------------------------------------------- */

typedef struct {
    const ls_unet *unet;
    const ls_vae *vae;
    nn_tensor latent, audio, z, pred, image;   /* inputs and outputs for the batch */
} bench_case;

static void run_unet(nn_ctx *c, bench_case *b)
{
    ls_unet_forward(b->unet, c, &b->latent, &b->audio, &b->pred);
}

static void run_vae(nn_ctx *c, bench_case *b)
{
    ls_vae_decode(b->vae, c, &b->z, &b->image);
}

static float *random_floats(int64_t n)
{
    float *p = malloc(n * sizeof *p);
    for (int64_t i = 0; p && i < n; i++)
        p[i] = (float)((double)rand() / RAND_MAX * 2 - 1);
    return p;
}

static void make_case(bench_case *b, int batch)
{
    b->latent = nn_view4(NULL, batch, 8, 32, 32);
    b->audio = nn_view3(NULL, batch, 50, 384);
    b->z = nn_view4(NULL, batch, 4, 32, 32);
    b->pred = nn_view4(NULL, batch, 4, 32, 32);
    b->image = nn_view4(NULL, batch, 3, 256, 256);
    nn_tensor *all[] = { &b->latent, &b->audio, &b->z, &b->pred, &b->image };
    for (int i = 0; i < 5; i++)
        all[i]->data = random_floats(nn_numel(all[i]));
}

static void free_case(bench_case *b)
{
    nn_tensor *all[] = { &b->latent, &b->audio, &b->z, &b->pred, &b->image };
    for (int i = 0; i < 5; i++)
        free(all[i]->data);
}

/* Median and minimum seconds of `reps` calls after a warm-up call. */
static void timings(nn_ctx *c, void (*fn)(nn_ctx *, bench_case *), bench_case *b, int reps,
                    double *median, double *min)
{
    double times[64];
    fn(c, b);
    nn_arena_reset(c->arena);
    for (int i = 0; i < reps; i++) {
        double t0 = bench_seconds();
        fn(c, b);
        times[i] = bench_seconds() - t0;
    }
    bench_sort_times(times, (size_t)reps);
    *median = reps % 2 ? times[reps / 2] : (times[reps / 2 - 1] + times[reps / 2]) / 2;
    *min = times[0];
}

int main(int argc, char **argv)
{
    int threads = 2, reps = 3, profile = 0, profile_batch = 1;
    const ls_arg spec[] = {
        { "threads", LS_ARG_INT, &threads, "CPU threads (default 2)" },
        { "reps", LS_ARG_INT, &reps, "timed runs per case (default 3)" },
        { "profile", LS_ARG_FLAG, &profile, "time each operator call instead" },
        { "batch", LS_ARG_INT, &profile_batch, "batch size of --profile (default 1)" },
    };
    int nspec = (int)(sizeof spec / sizeof spec[0]);
    ls_positional pos;
    ls_error err = { 0 };
    if (ls_args_parse(argc - 1, argv + 1, spec, nspec, &pos, &err) != 0 || pos.n != 1 ||
        reps < 1 || reps > 64 || profile_batch < 1) {
        fprintf(stderr, "%s\n", err.msg[0] ? err.msg : "");
        ls_args_usage(stderr, "bench_musetalk DIR [--threads N] [--reps R] [--profile [--batch B]]",
                      spec, nspec);
        return 2;
    }
    char config[4096], unet_dir[4096], vae_dir[4096];
    snprintf(config, sizeof config, "%s/musetalk/musetalk.json", pos.items[0]);
    snprintf(unet_dir, sizeof unet_dir, "%s/musetalk", pos.items[0]);
    snprintf(vae_dir, sizeof vae_dir, "%s/sd-vae", pos.items[0]);
    ls_unet *unet = NULL;
    ls_vae *vae = NULL;
    if (ls_unet_load(config, unet_dir, &unet, &err) != 0 || ls_vae_load(vae_dir, &vae, &err) != 0) {
        fprintf(stderr, "bench_musetalk: %s\n", err.msg);
        ls_unet_free(unet);
        return 1;
    }
    nn_set_threads(threads);
    cpu = nn_backend_cpu();
    nn_backend profiled = profiling_backend();
    reset_peak_rss();

    const int batches[] = { profile ? profile_batch : 1, 4 };
    for (int net = 0; net < 2; net++)
        for (int i = 0; i < (profile ? 1 : 2); i++) {
            bench_case b = { .unet = unet, .vae = vae };
            make_case(&b, batches[i]);
            nn_ctx *c = nn_ctx_new(profile ? &profiled : cpu);   /* an arena per case */
            void (*fn)(nn_ctx *, bench_case *) = net ? run_vae : run_unet;
            const char *name = net ? "vae_decode" : "unet";
            if (profile) {
                fn(c, &b);   /* warm-up: arena sizing, page faults of the weights */
                n_stats = 0;
                model_arena_peak = 0;
                double t0 = bench_seconds();
                fn(c, &b);
                print_profile(name, bench_seconds() - t0, c);
            } else {
                double t, low;
                timings(c, fn, &b, reps, &t, &low);
                struct rusage ru;
                getrusage(RUSAGE_SELF, &ru);
                printf("lipstream %s batch=%d median_s=%.4f per_frame_s=%.4f min_per_frame_s=%.4f "
                       "arena_peak_mib=%.0f major_faults_so_far=%ld\n", name, batches[i], t,
                       t / batches[i], low / batches[i], nn_arena_peak(c->arena) / 1048576.0,
                       ru.ru_majflt);
                fflush(stdout);
            }
            nn_ctx_free(c);
            free_case(&b);
        }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("lipstream peak_rss_mib=%.0f inference_peak_rss_mib=%.0f\n", ru.ru_maxrss / 1024.0,
           vm_hwm_mib());
    ls_unet_free(unet);
    ls_vae_free(vae);
    return 0;
}
