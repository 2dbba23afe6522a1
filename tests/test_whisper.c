/*
 * test_whisper.c - the whisper encoder and both feature recipes against the
 * PyTorch references of tests/ref/whisper_ref.py, on random weights of the
 * real whisper-tiny size (and a small config to check that every
 * dimension comes from the file).
 *
 * Checked: format detection and dims for openai .pt, Hugging Face folder
 * (safetensors) and pytorch_model.bin, and a WhisperModel-style file; that
 * the three tiny checkpoints hold identical tensors; load errors; step
 * counts; stacked states for v1.0 and v1.5 recipes.
 *
 * usage: test_whisper REF_DIR
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audio/audio_load.h"
#include "check.h"
#include "io/npy.h"
#include "models/whisper.h"

static const char *ref_dir;

static const char *ref_path(const char *name)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", ref_dir, name);
    return path;
}

static ls_whisper *load(const char *name, ls_musetalk_version v, ls_musetalk_version want)
{
    ls_whisper *w = NULL;
    ls_error err = { 0 };
    CHECK(ls_whisper_load(ref_path(name), v, &w, &err) == 0, "%s", err.msg);
    if (w)
        CHECK(ls_whisper_version(w) == want, "%s: version %s", name,
              ls_musetalk_version_name(ls_whisper_version(w)));
    return w;
}

static int same_tensor(const nn_tensor *a, const nn_tensor *b)
{
    return nn_same_shape(a, b) && memcmp(a->data, b->data, (size_t)nn_numel(a) * 4) == 0;
}

/* Every tensor of two loaded models, bit for bit. */
static int same_weights(const ls_whisper *a, const ls_whisper *b)
{
    int same = same_tensor(&a->conv1_w, &b->conv1_w) && same_tensor(&a->conv1_b, &b->conv1_b) &&
               same_tensor(&a->conv2_w, &b->conv2_w) && same_tensor(&a->conv2_b, &b->conv2_b) &&
               same_tensor(&a->positions, &b->positions) &&
               same_tensor(&a->final_ln_w, &b->final_ln_w) &&
               same_tensor(&a->final_ln_b, &b->final_ln_b) && a->n_layer == b->n_layer;
    for (int l = 0; same && l < a->n_layer; l++) {
        const nn_tensor *ta = &a->blocks[l].attn_ln_w, *tb = &b->blocks[l].attn_ln_w;
        /* a block is nothing but nn_tensor members */
        int count = (int)(sizeof(ls_whisper_block) / sizeof(nn_tensor));
        for (int i = 0; i < count; i++)
            same = same && same_tensor(ta + i, tb + i);
    }
    return same;
}

static void test_loading(void)
{
    ls_whisper *pt = load("tiny.pt", LS_MUSETALK_AUTO, LS_MUSETALK_V1);
    ls_whisper *st = load("hf", LS_MUSETALK_AUTO, LS_MUSETALK_V15);
    ls_whisper *bin = load("hf/pytorch_model.bin", LS_MUSETALK_V1, LS_MUSETALK_V1);
    ls_whisper *small = load("small/model.safetensors", LS_MUSETALK_AUTO, LS_MUSETALK_V15);
    if (pt)
        CHECK(pt->n_mels == 80 && pt->n_ctx == 1500 && pt->n_state == 384 && pt->n_head == 6 &&
                  pt->n_layer == 4 && pt->n_mlp == 1536,
              "tiny.pt dims");
    if (small)
        CHECK(small->n_mels == 64 && small->n_ctx == 150 && small->n_state == 64 &&
                  small->n_head == 4 && small->n_layer == 2 && small->n_mlp == 256,
              "small dims");
    if (pt && st && bin) {
        CHECK(same_weights(pt, st), "tiny.pt (fp16) and hf/model.safetensors differ");
        CHECK(same_weights(pt, bin), "tiny.pt (fp16) and hf/pytorch_model.bin differ");
    }
    if (pt) {
        CHECK(ls_whisper_steps(pt, 112000) == 350 && ls_whisper_steps(pt, 528000) == 1650 &&
                  ls_whisper_steps(pt, 480161) == 1500,
              "v1 step counts");
        float *states;
        int64_t T;
        ls_error err = { 0 };
        CHECK(ls_whisper_states(pt, NULL, NULL, 100, &states, &T, &err) == -1 &&
                  strstr(err.msg, "too short"),
              "100 samples: %s", err.msg);
    }
    if (st)
        CHECK(ls_whisper_steps(st, 112000) == 350 && ls_whisper_steps(st, 480161) == 1500 &&
                  ls_whisper_steps(st, 480320) == 1501,
              "v15 step counts");
    ls_whisper_free(pt);
    ls_whisper_free(st);
    ls_whisper_free(bin);
    ls_whisper_free(small);

    /* errors name the file and the problem */
    struct {
        const char *path, *words;
    } bad[] = {
        { "no-such-model.pt", "no-such-model.pt" },
        { ".", "neither model.safetensors nor pytorch_model.bin" },
        { "speech_7s.wav", "speech_7s.wav" },
        { "lonely/model.safetensors", "config.json" },
    };
    char lonely[4096], target[4096];
    snprintf(lonely, sizeof lonely, "%s/lonely", ref_dir);
    snprintf(target, sizeof target, "../small/model.safetensors");
    mkdir(lonely, 0755);
    unlink(ref_path("lonely/model.safetensors"));
    CHECK(symlink(target, ref_path("lonely/model.safetensors")) == 0, "symlink");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ls_whisper *w = NULL;
        ls_error err = { 0 };
        int rc = ls_whisper_load(ref_path(bad[i].path), LS_MUSETALK_AUTO, &w, &err);
        CHECK(rc == -1 && !w && strstr(err.msg, bad[i].words), "%s: '%s'", bad[i].path,
              err.msg);
        printf("load %-26s -> %s\n", bad[i].path, err.msg);
    }
}

static void test_states(const char *model, ls_musetalk_version v, const char *audio,
                        const char *ref, double atol)
{
    ls_whisper *w = load(model, v, v);
    ls_audio a = { 0 };
    ls_error err = { 0 };
    nn_tensor want = { 0 };
    nn_ctx *c = nn_ctx_new(nn_backend_cpu());
    if (!w || ls_audio_load_16k(ref_path(audio), &a, &err) != 0 ||
        ls_npy_read(ref_path(ref), &want, &err) != 0) {
        CHECK(0, "%s", err.msg);
        goto done;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    float *got;
    int64_t T;
    CHECK(ls_whisper_states(w, c, a.samples, a.n, &got, &T, &err) == 0, "%s", err.msg);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK(want.ndim == 3 && want.shape[0] == T && want.shape[1] == ls_whisper_n_states(w) &&
              want.shape[2] == w->n_state,
          "%s: T = %lld", ref, (long long)T);
    char what[128];
    snprintf(what, sizeof what, "%s %s (%.2f s)", model, ref,
             (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9);
    if (want.shape[0] == T)
        check_close(what, got, want.data, nn_numel(&want), atol, 0);
    free(got);
done:
    nn_ctx_free(c);
    free(want.data);
    ls_audio_free(&a);
    ls_whisper_free(w);
}

/* The encoder on a window of any length up to 2 * n_ctx, unpadded. */
static void test_encode_window(const char *model, const char *mel_name, const char *ref,
                               double atol)
{
    ls_whisper *w = load(model, LS_MUSETALK_V1, LS_MUSETALK_V1);
    nn_tensor mel = { 0 }, want = { 0 };
    ls_error err = { 0 };
    nn_ctx *c = nn_ctx_new(nn_backend_cpu());
    if (w && ls_npy_read(ref_path(mel_name), &mel, &err) == 0 &&
        ls_npy_read(ref_path(ref), &want, &err) == 0) {
        int64_t steps = (mel.shape[1] + 1) / 2;
        CHECK(want.shape[0] == steps, "%s: %lld steps", ref, (long long)want.shape[0]);
        float *got = malloc((size_t)nn_numel(&want) * sizeof *got);
        CHECK(ls_whisper_encode(w, c, mel.data, mel.shape[1], steps, 0, got, &err) == 0, "%s",
              err.msg);
        check_close(ref, got, want.data, nn_numel(&want), atol, 0);
        free(got);
    } else {
        CHECK(0, "%s", err.msg);
    }
    nn_ctx_free(c);
    free(mel.data);
    free(want.data);
    ls_whisper_free(w);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_whisper REF_DIR\n");
        return 2;
    }
    ref_dir = argv[1];
    nn_set_threads(2);
    test_loading();
    /* Same fp32 weights (fp16 values widened exactly on both sides) and the
     * same inputs: the differences are fp32 summation order (GEMM blocking,
     * attention tiling, the DFT) carried through the blocks; measured 8e-6
     * on states of magnitude up to about 8. A real fault (tanh GELU, a
     * missing bias, a wrong window) gives 1e-3 or more. */
    const double states_atol = 1e-4;
    test_states("tiny.pt", LS_MUSETALK_V1, "speech_7s.wav", "states_v1_7s.npy", states_atol);
    test_states("hf", LS_MUSETALK_V15, "speech_7s.wav", "states_v15_7s.npy", states_atol);
    test_states("small", LS_MUSETALK_V1, "speech_7s.wav", "small_states_v1_7s.npy", states_atol);
    test_states("small", LS_MUSETALK_V15, "speech_7s.wav", "small_states_v15_7s.npy",
                states_atol);
    test_encode_window("small", "small_mel_257.npy", "small_encode_257.npy", states_atol);
    return check_result("test_whisper");
}
