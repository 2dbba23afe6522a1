/*
 * test_logmel.c - mel filterbank and log-mel spectrogram against the
 * references of tests/ref/whisper_ref.py (numpy librosa formula, torch.stft
 * pipeline of openai whisper).
 *
 * usage: test_logmel REF_DIR
 */
#include <stdlib.h>
#include <string.h>

#include "audio/audio_load.h"
#include "audio/logmel.h"
#include "check.h"
#include "io/npy.h"

static const char *ref_dir;

static int load_ref(const char *name, nn_tensor *t)
{
    char path[4096];
    ls_error err = { 0 };
    snprintf(path, sizeof path, "%s/%s", ref_dir, name);
    int rc = ls_npy_read(path, t, &err);
    CHECK(rc == 0, "%s", err.msg);
    return rc;
}

static int load_audio(const char *name, ls_audio *a)
{
    char path[4096];
    ls_error err = { 0 };
    snprintf(path, sizeof path, "%s/%s", ref_dir, name);
    int rc = ls_audio_load_16k(path, a, &err);
    CHECK(rc == 0, "%s", err.msg);
    return rc;
}

static void filterbank(int n_mels)
{
    nn_tensor want;
    char name[64];
    snprintf(name, sizeof name, "mel_filters_%d.npy", n_mels);
    if (load_ref(name, &want) != 0)
        return;
    float *got = malloc((size_t)n_mels * LS_MEL_BINS * sizeof *got);
    ls_mel_filterbank(LS_MEL_SAMPLE_RATE, LS_MEL_N_FFT, n_mels, got);
    CHECK(want.shape[0] == n_mels && want.shape[1] == LS_MEL_BINS, "filterbank shape");
    /* Both sides compute in float64 and round once; libm and numpy's exp/log
     * may differ in the last bit of a double, which can move a float by one
     * ulp: 1e-6 of the largest weight is a few ulps. */
    check_close(name, got, want.data, nn_numel(&want), 0, 1e-6);
    free(got);
    free(want.data);
}

/* Log-mel of the first n samples (or zero-padded to `window`) vs a reference. */
static void compare_mel(const char *what, const ls_logmel *m, const float *x, int64_t n,
                        int64_t window, const char *ref, double atol)
{
    nn_tensor want;
    if (load_ref(ref, &want) != 0)
        return;
    int64_t frames = ls_logmel_frames(window ? window : n);
    CHECK(want.shape[0] == ls_logmel_n_mels(m) && want.shape[1] == frames, "%s: shape", what);
    float *got = malloc((size_t)(ls_logmel_n_mels(m) * frames) * sizeof *got);
    ls_error err = { 0 };
    int rc = window ? ls_logmel_padded(m, x, n, window, got, &err)
                    : ls_logmel_compute(m, x, n, got, &err);
    CHECK(rc == 0, "%s", err.msg);
    check_close(what, got, want.data, nn_numel(&want), atol, 0);
    free(got);
    free(want.data);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_logmel REF_DIR\n");
        return 2;
    }
    ref_dir = argv[1];
    filterbank(80);
    filterbank(64);

    ls_logmel *m;
    ls_error err = { 0 };
    CHECK(ls_logmel_new(80, &m, &err) == 0, "%s", err.msg);
    ls_audio a7 = { 0 }, a33 = { 0 }, tones = { 0 };
    /* Both pipelines are fp32 (GEMM DFT here, FFT in torch): a bin's power
     * carries a rounding error of about 1e-7 of its frame's energy, which is
     * largest, relative to the bin, for the weakest bins kept (80 dB below
     * the clip's maximum by the max - 8 clamp); log10 and the /4 scale make
     * that a few 1e-5 in the normalised values (measured 5e-5; values are in
     * about [-1.5, 1.5]). */
    const double mel_atol = 2e-4;
    if (load_audio("speech_7s.wav", &a7) == 0)
        compare_mel("log-mel 7 s (whole clip)", m, a7.samples, a7.n, 0, "mel_7s.npy", mel_atol);
    if (load_audio("speech_33s.wav", &a33) == 0) {
        compare_mel("log-mel 33 s (whole clip)", m, a33.samples, a33.n, 0, "mel_33s.npy",
                    mel_atol);
        compare_mel("log-mel 33 s, 2nd 30 s piece padded", m, a33.samples + 480000,
                    a33.n - 480000, 480000, "mel_33s_piece1.npy", mel_atol);
    }
    /* 44.1 kHz stereo float file, mixed and resampled, against the same
     * tones sampled directly at 16 kHz: adds the resampler's error, below
     * -90 dB of the tones, which matters only in the weakest bins kept
     * (measured 2.2e-4). */
    if (load_audio("tones_44k.wav", &tones) == 0)
        compare_mel("log-mel of 44.1 kHz stereo via resampler", m, tones.samples, tones.n, 0,
                    "mel_tones.npy", 1e-3);

    /* degenerate inputs: nothing to transform, or shorter than the reflect pad */
    float tiny[170] = { 0.5f };
    float out[80 * 1];
    CHECK(ls_logmel_compute(m, tiny, 0, out, &err) == 0, "empty input");
    CHECK(ls_logmel_compute(m, tiny, 170, out, &err) == 0 && ls_logmel_frames(170) == 1,
          "170 samples: one frame");
    ls_audio_free(&a7);
    ls_audio_free(&a33);
    ls_audio_free(&tones);
    ls_logmel_free(m);
    return check_result("test_logmel");
}
