/*
 * test_musetalk.c - the UNet, the VAE and the MuseTalk renderer against
 * PyTorch, through the library API.
 *
 * usage: test_musetalk REFDIR   (written by tests/ref/musetalk_ref.py small)
 *
 * Covers: UNet with the real block types (v1.0 and v1.5 file names) and with
 * every other supported variant (list-valued heads, linear projections,
 * pad-0 downsampling, non-square latent); VAE decode and encode from the
 * .bin (old attention names) and the .safetensors (new names); the renderer
 * end to end (PE + UNet + 1/0.18215 + decode + uint8 BGR) from the upstream
 * folder layout; a second forward pass allocating nothing new; and broken
 * configs and checkpoints, each failing with a message that names the fault.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "io/npy.h"
#include "models/musetalk.h"

/* fp32 against fp32: the only differences are summation order (im2col+GEMM
 * and blocked attention here, PyTorch's own kernels there). Measured max_abs
 * as a fraction of the output's largest value: at most 1.9e-6 through the
 * small UNets and VAEs; the bound is ten times that. */
#define REL_TOL 2e-5

static const char *ref_dir;
static nn_ctx *ctx;

static const char *ref_path(const char *name)
{
    static char path[4][1024];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s/%s", ref_dir, name);
    return p;
}

static nn_tensor load_npy(const char *name)
{
    char file[256];
    snprintf(file, sizeof file, "%s.npy", name);
    nn_tensor t = { 0 };
    ls_error err = { 0 };
    if (ls_npy_read(ref_path(file), &t, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    return t;
}

static nn_tensor alloc_like(int ndim, const int64_t *shape)
{
    nn_tensor t = { .ndim = ndim };
    for (int i = 0; i < ndim; i++)
        t.shape[i] = shape[i];
    t.data = malloc(nn_numel(&t) * sizeof *t.data);
    return t;
}

static void compare(const char *what, const nn_tensor *got, const nn_tensor *want)
{
    char a[64], b[64];
    CHECK(nn_same_shape(got, want), "%s: shape %s, want %s", what, nn_shape_str(got, a, sizeof a),
          nn_shape_str(want, b, sizeof b));
    if (nn_same_shape(got, want))
        check_close(what, got->data, want->data, nn_numel(want), 0, REL_TOL);
}

/* --- UNet ---------------------------------------------------------------- */

static void test_unet(const char *label, const char *config, const char *weights,
                      const char *case_name)
{
    char name[128];
    ls_error err = { 0 };
    ls_unet *u;
    int rc = ls_unet_load(ref_path(config), ref_path(weights), &u, &err);
    CHECK(rc == 0, "%s: %s", label, err.msg);
    if (rc != 0)
        return;
    snprintf(name, sizeof name, "%s_latent", case_name);
    nn_tensor latent = load_npy(name);
    snprintf(name, sizeof name, "%s_audio", case_name);
    nn_tensor audio = load_npy(name);
    snprintf(name, sizeof name, "%s_out", case_name);
    nn_tensor want = load_npy(name);
    CHECK(ls_unet_check_inputs(u, &latent, &audio, &err) == 0, "%s: %s", label, err.msg);

    nn_tensor got = alloc_like(4, want.shape), again = alloc_like(4, want.shape);
    ls_unet_forward(u, ctx, &latent, &audio, &got);
    compare(label, &got, &want);

    /* A second pass with the same shapes reuses the arena: no growth, same bits. */
    size_t peak = nn_arena_peak(ctx->arena);
    nn_arena_reset(ctx->arena);
    ls_unet_forward(u, ctx, &latent, &audio, &again);
    CHECK(nn_arena_peak(ctx->arena) == peak, "%s: arena peak %zu then %zu", label, peak,
          nn_arena_peak(ctx->arena));
    CHECK(memcmp(got.data, again.data, nn_numel(&got) * sizeof *got.data) == 0,
          "%s: second pass differs", label);
    CHECK(nn_arena_used(ctx->arena) == 0, "%s: %zu arena bytes left in use", label,
          nn_arena_used(ctx->arena));
    printf("%-40s arena peak %.2f MiB\n", label, peak / 1048576.0);

    /* Inputs that do not fit the model are errors that name them. */
    nn_tensor short_audio = nn_view3(audio.data, audio.shape[0], audio.shape[1],
                                     audio.shape[2] - 1);
    CHECK(ls_unet_check_inputs(u, &latent, &short_audio, &err) != 0 && strstr(err.msg, "audio"),
          "%s: narrow audio accepted (%s)", label, err.msg);
    nn_tensor odd = nn_view4(latent.data, 1, latent.shape[1], 3, 3);
    CHECK(ls_unet_check_inputs(u, &odd, &audio, &err) != 0 && strstr(err.msg, "multiples"),
          "%s: 3x3 latent accepted (%s)", label, err.msg);

    ls_unet_free(u);
    free(latent.data);
    free(audio.data);
    free(want.data);
    free(got.data);
    free(again.data);
}

/* --- VAE ----------------------------------------------------------------- */

static void test_vae(const char *label, const char *path)
{
    char what[128];
    ls_error err = { 0 };
    ls_vae *v;
    int rc = ls_vae_load(ref_path(path), &v, &err);
    CHECK(rc == 0, "%s: %s", label, err.msg);
    if (rc != 0)
        return;
    CHECK(ls_vae_factor(v) == 8, "%s: factor %d", label, ls_vae_factor(v));

    nn_tensor z = load_npy("vae_z"), want_x = load_npy("vae_decoded");
    nn_tensor x = load_npy("vae_x"), want_z = load_npy("vae_mean");
    CHECK(ls_vae_check_latent(v, &z, &err) == 0, "%s: %s", label, err.msg);
    CHECK(ls_vae_check_image(v, &x, &err) == 0, "%s: %s", label, err.msg);
    nn_tensor got_x = alloc_like(4, want_x.shape), got_z = alloc_like(4, want_z.shape);
    ls_vae_decode(v, ctx, &z, &got_x);
    snprintf(what, sizeof what, "%s decode", label);
    compare(what, &got_x, &want_x);
    ls_vae_encode_mean(v, ctx, &x, &got_z);
    snprintf(what, sizeof what, "%s encode mean", label);
    compare(what, &got_z, &want_z);

    nn_tensor bad = nn_view4(x.data, 1, 3, 60, 64);
    CHECK(ls_vae_check_image(v, &bad, &err) != 0 && strstr(err.msg, "multiples of 8"),
          "%s: 60x64 image accepted (%s)", label, err.msg);

    ls_vae_free(v);
    free(z.data);
    free(want_x.data);
    free(x.data);
    free(want_z.data);
    free(got_x.data);
    free(got_z.data);
}

/* --- the renderer -------------------------------------------------------- */

static void test_render(const char *label, ls_musetalk_version version)
{
    ls_error err = { 0 };
    ls_musetalk *m;
    int rc = ls_musetalk_load_dir(ref_dir, version, &m, &err);
    CHECK(rc == 0, "%s: %s", label, err.msg);
    if (rc != 0)
        return;
    nn_tensor latents = load_npy("mt_latents"), audio = load_npy("mt_audio");
    nn_tensor want = load_npy("mt_faces");   /* (N, H, W, 3) uint8 values as float */
    CHECK(ls_musetalk_check_inputs(m, &latents, &audio, &err) == 0, "%s: %s", label, err.msg);
    CHECK(ls_musetalk_face_size(m, latents.shape[2]) == want.shape[1], "%s: face size", label);

    int64_t n = nn_numel(&want);
    uint8_t *faces = malloc(n);
    float *got = malloc(n * sizeof *got);
    ls_musetalk_render(m, ctx, &latents, &audio, faces);
    int64_t differing = 0;
    for (int64_t i = 0; i < n; i++) {
        got[i] = faces[i];
        differing += got[i] != want.data[i];
    }
    /* Rounding to bytes turns float noise into an occasional step of 1 where
     * a value sits next to a .5 boundary; anything larger is a real error. */
    check_close(label, got, want.data, n, 1.0, 0.0);
    printf("%-40s %lld of %lld bytes differ by 1\n", label, (long long)differing, (long long)n);
    CHECK(differing * 1000 <= n, "%s: %lld bytes differ", label, (long long)differing);

    ls_musetalk_free(m);
    free(latents.data);
    free(audio.data);
    free(want.data);
    free(faces);
    free(got);
}

/* --- broken inputs ------------------------------------------------------- */

/* Loading must fail with a message holding every one of `needles`. */
static void expect_unet_error(const char *config, const char *weights, const char *const *needles)
{
    ls_error err = { 0 };
    ls_unet *u = NULL;
    int rc = ls_unet_load(ref_path(config), ref_path(weights), &u, &err);
    CHECK(rc != 0 && !u, "%s + %s loaded", config, weights);
    for (int i = 0; needles[i]; i++)
        CHECK(strstr(err.msg, needles[i]), "%s + %s: message lacks '%s': %s", config, weights,
              needles[i], err.msg);
    printf("%-40s -> %s\n", strncmp(config, "broken/", 7) == 0 ? config : weights, err.msg);
    ls_unet_free(u);
}

static void test_broken(void)
{
    expect_unet_error("broken/bad_block_type.json", "musetalk",
                      (const char *[]){ "unsupported", "down_block_types[1]",
                                        "SimpleCrossAttnDownBlock2D", NULL });
    expect_unet_error("broken/dual_cross_attention.json", "musetalk",
                      (const char *[]){ "unsupported", "dual_cross_attention", NULL });
    expect_unet_error("musetalk/musetalk.json", "broken/missing.bin",
                      (const char *[]){ "missing", "broken/missing.bin",
                                        "mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight",
                                        NULL });
    expect_unet_error("musetalk/musetalk.json", "broken/wrong_shape.bin",
                      (const char *[]){ "down_blocks.1.resnets.0.conv1.weight", "(64, 32, 1, 1)",
                                        "(64, 32, 3, 3)", NULL });
    expect_unet_error("musetalk/musetalk.json", "broken/extra.bin",
                      (const char *[]){ "never used", "down_blocks.0.resnets.0.extra_scale", NULL });
    expect_unet_error("musetalk/musetalk.json", "broken/no_models",
                      (const char *[]){ "no weights file", "pytorch_model.bin", NULL });

    ls_error err = { 0 };
    ls_vae *v = NULL;
    CHECK(ls_vae_load(ref_path("broken/vae"), &v, &err) != 0 &&
              strstr(err.msg, "AttnUpDecoderBlock2D") && strstr(err.msg, "config.json"),
          "VAE with an attention up block: %s", err.msg);
    printf("%-40s -> %s\n", "broken/vae", err.msg);

    ls_musetalk *m = NULL;
    CHECK(ls_musetalk_load_dir(ref_path("broken/no_models"), LS_MUSETALK_V1, &m, &err) != 0 &&
              strstr(err.msg, "musetalk/pytorch_model.bin") && strstr(err.msg, "sd-vae") &&
              strstr(err.msg, "huggingface.co"),
          "empty weights folder: %s", err.msg);
    printf("%-40s -> %s\n", "broken/no_models", err.msg);
    ls_vae_free(v);
    ls_musetalk_free(m);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_musetalk REFDIR\n");
        return 2;
    }
    ref_dir = argv[1];
    nn_set_threads(2);
    ctx = nn_ctx_new(nn_backend_cpu());

    test_unet("unet real block types (v1.0 file)", "musetalk/musetalk.json", "musetalk",
              "unet_a");
    test_unet("unet real block types (v1.5 file)", "musetalkV15/musetalk.json",
              "musetalkV15/unet.pth", "unet_a");
    test_unet("unet variants", "unet_b/musetalk.json", "unet_b", "unet_b");
    test_vae("vae .safetensors, new names", "sd-vae");
    test_vae("vae .bin, old names", "sd-vae/diffusion_pytorch_model.bin");
    test_render("render v1.0 layout", LS_MUSETALK_V1);
    test_render("render v1.5 layout", LS_MUSETALK_V15);
    test_broken();

    nn_ctx_free(ctx);
    return check_result("test_musetalk");
}
