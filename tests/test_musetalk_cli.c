/*
 * test_musetalk_cli.c - `lipstream run unet | vae-decode | vae-encode`
 * against PyTorch: runs the built executable and compares the .npy files it
 * writes with the reference outputs.
 *
 * usage: test_musetalk_cli LIPSTREAM small|full REFDIR
 *   small: the files of `musetalk_ref.py small` (all variants, plus inputs
 *          the commands must reject with a clear message);
 *   full:  the files of `musetalk_ref.py full`, the published sizes, one frame.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "check.h"
#include "io/npy.h"

/* fp32 against fp32: the only differences are summation order (im2col+GEMM
 * and blocked attention here, PyTorch's own kernels there). Measured max_abs
 * as a fraction of the output's largest value: small configs at most 1.9e-6;
 * published sizes (22 resnets of up to 2560 input channels, 1024-token
 * attention; 256x256 VAE) UNet 1.7e-6, VAE decode 2.1e-6, VAE encode 1.7e-6.
 * The bound is ten times that. */
#define REL_TOL 2e-5

static const char *exe, *ref_dir;

/* Runs `lipstream ARGS` (ARGS relative to REFDIR) with stderr captured;
 * returns the exit status and leaves stderr's text in `log`. */
static int run(const char *args, char *log, size_t log_size)
{
    char cmd[4096], log_path[1024];
    snprintf(log_path, sizeof log_path, "%s/cli_stderr.txt", ref_dir);
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s 2>'%s'", ref_dir, exe, args, log_path);
    int status = system(cmd);
    log[0] = '\0';
    FILE *f = fopen(log_path, "r");
    if (f) {
        size_t n = fread(log, 1, log_size - 1, f);
        log[n] = '\0';
        fclose(f);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void compare_files(const char *label, const char *got_name, const char *want_name)
{
    char got_path[1024], want_path[1024], a[64], b[64];
    snprintf(got_path, sizeof got_path, "%s/%s", ref_dir, got_name);
    snprintf(want_path, sizeof want_path, "%s/%s", ref_dir, want_name);
    nn_tensor got = { 0 }, want = { 0 };
    ls_error err = { 0 };
    if (ls_npy_read(got_path, &got, &err) != 0 || ls_npy_read(want_path, &want, &err) != 0) {
        CHECK(0, "%s: %s", label, err.msg);
    } else {
        CHECK(nn_same_shape(&got, &want), "%s: shape %s, want %s", label,
              nn_shape_str(&got, a, sizeof a), nn_shape_str(&want, b, sizeof b));
        if (nn_same_shape(&got, &want))
            check_close(label, got.data, want.data, nn_numel(&want), 0, REL_TOL);
    }
    free(got.data);
    free(want.data);
}

typedef struct {
    const char *label;
    const char *args;      /* writes `got` */
    const char *got, *want;
} cli_case;

static void run_cases(const cli_case *cases, int n)
{
    char log[4096];
    for (int i = 0; i < n; i++) {
        int status = run(cases[i].args, log, sizeof log);
        CHECK(status == 0, "%s: exit status %d: %s", cases[i].label, status, log);
        printf("%-40s %s", cases[i].label, log);
        if (status == 0)
            compare_files(cases[i].label, cases[i].got, cases[i].want);
    }
}

/* The command must fail with `status` and a message holding `needle`. */
static void expect_failure(const char *args, int status, const char *needle)
{
    char log[4096];
    int got = run(args, log, sizeof log);
    CHECK(got == status && strstr(log, needle), "'%s': status %d (want %d), message: %s", args,
          got, status, log);
    printf("rejected (%d): %s", got, log);
}

static void small_cases(void)
{
    static const cli_case cases[] = {
        { "cli unet real block types",
          "run unet --config musetalk/musetalk.json --weights musetalk --latent unet_a_latent.npy "
          "--audio unet_a_audio.npy --out got_unet_a.npy --threads 2",
          "got_unet_a.npy", "unet_a_out.npy" },
        { "cli unet variants",
          "run unet --config unet_b/musetalk.json --weights unet_b/unet.pth "
          "--latent unet_b_latent.npy --audio unet_b_audio.npy --out got_unet_b.npy",
          "got_unet_b.npy", "unet_b_out.npy" },
        { "cli vae-decode (folder, safetensors)",
          "run vae-decode --weights sd-vae --in vae_z.npy --out got_vae_decoded.npy --threads 2",
          "got_vae_decoded.npy", "vae_decoded.npy" },
        { "cli vae-encode (.bin file)",
          "run vae-encode --weights sd-vae/diffusion_pytorch_model.bin --in vae_x.npy "
          "--out got_vae_mean.npy --threads 2",
          "got_vae_mean.npy", "vae_mean.npy" },
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);

    expect_failure("run unet --config musetalk/musetalk.json --weights musetalk "
                   "--latent unet_a_latent.npy --audio unet_b_audio.npy --out x.npy",
                   1, "audio has shape (1, 7, 12)");
    expect_failure("run unet --config musetalk/musetalk.json --weights musetalk "
                   "--latent vae_z.npy --audio unet_a_audio.npy --out x.npy",
                   1, "latent has shape (2, 4, 8, 8)");
    expect_failure("run vae-decode --weights sd-vae --in vae_x.npy --out x.npy", 1,
                   "vae_x.npy: latent has shape (2, 3, 64, 64)");
    expect_failure("run vae-encode --weights sd-vae --in vae_z.npy --out x.npy", 1,
                   "vae_z.npy: image has shape (2, 4, 8, 8)");
    expect_failure("run unet --config broken/bad_block_type.json --weights musetalk "
                   "--latent unet_a_latent.npy --audio unet_a_audio.npy --out x.npy",
                   1, "SimpleCrossAttnDownBlock2D");
    expect_failure("run vae-decode --weights sd-vae --in vae_z.npy", 2, "usage");
}

static void full_cases(void)
{
    static const cli_case cases[] = {
        { "cli unet (published sizes)",
          "run unet --config musetalk/musetalk.json --weights musetalk --latent unet_latent.npy "
          "--audio unet_audio.npy --out got_unet.npy --threads 2",
          "got_unet.npy", "unet_out.npy" },
        { "cli vae-decode 32x32 -> 256x256",
          "run vae-decode --weights sd-vae --in vae_z.npy --out got_vae_decoded.npy --threads 2",
          "got_vae_decoded.npy", "vae_decoded.npy" },
        { "cli vae-encode 256x256 -> 32x32",
          "run vae-encode --weights sd-vae --in vae_x.npy --out got_vae_mean.npy --threads 2",
          "got_vae_mean.npy", "vae_mean.npy" },
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

int main(int argc, char **argv)
{
    if (argc != 4 || (strcmp(argv[2], "small") != 0 && strcmp(argv[2], "full") != 0)) {
        fprintf(stderr, "usage: test_musetalk_cli LIPSTREAM small|full REFDIR\n");
        return 2;
    }
    /* Commands run from inside REFDIR, so both paths are made absolute. */
    static char exe_path[PATH_MAX], dir_path[PATH_MAX];
    if (!realpath(argv[1], exe_path) || !realpath(argv[3], dir_path)) {
        fprintf(stderr, "test_musetalk_cli: %s or %s not found\n", argv[1], argv[3]);
        return 1;
    }
    exe = exe_path;
    ref_dir = dir_path;
    if (strcmp(argv[2], "small") == 0)
        small_cases();
    else
        full_cases();
    return check_result("test_musetalk_cli");
}
