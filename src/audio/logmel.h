/*
 * logmel.h - whisper's log-mel spectrogram of 16 kHz audio.
 *
 * STFT: 400-sample periodic Hann frames every 160 samples, the signal
 * reflect-padded by 200 samples at both ends (centred frames), the last
 * frame dropped, so n samples give n / 160 frames (100 per second). Power
 * spectrum |X|^2 of the 201 bins, times a Slaney-style mel filterbank (the
 * librosa formula, computed in double and rounded once to float), then
 * log10(max(x, 1e-10)). Normalisation over a whole signal: x = max(x,
 * max(all) - 8), x = (x + 4) / 4.
 *
 * The DFT runs as one GEMM per block of frames against a window-weighted
 * cos/sin basis. Output layout is (n_mels, frames), frames fastest, as the
 * whisper encoder reads it. Two uses follow upstream: the whole clip
 * normalised at once (MuseTalk v1.0) and 30 s pieces zero-padded to a full
 * window before the transform (v1.5, see ls_logmel_padded).
 */
#ifndef LS_AUDIO_LOGMEL_H
#define LS_AUDIO_LOGMEL_H

#include <stdint.h>

#include "util/error.h"

#define LS_MEL_SAMPLE_RATE 16000
#define LS_MEL_N_FFT 400
#define LS_MEL_HOP 160
#define LS_MEL_BINS (LS_MEL_N_FFT / 2 + 1)

typedef struct ls_logmel ls_logmel;

/* Precomputes the DFT basis and an n_mels-band filterbank. */
int ls_logmel_new(int n_mels, ls_logmel **out, ls_error *err);
void ls_logmel_free(ls_logmel *m);
int ls_logmel_n_mels(const ls_logmel *m);

/* Fills filters (n_mels, n_fft/2+1) with librosa's mel(sr, n_fft, n_mels)
 * weights (Slaney mel scale and area normalisation, fmin 0, fmax sr/2). */
void ls_mel_filterbank(int sample_rate, int n_fft, int n_mels, float *filters);

/* Frames the transform gives for n samples. */
static inline int64_t ls_logmel_frames(int64_t n_samples)
{
    return n_samples / LS_MEL_HOP;
}

/* log10 mel power without normalisation into out (n_mels, frames). */
int ls_logmel_log10(const ls_logmel *m, const float *samples, int64_t n, float *out,
                    ls_error *err);

/* Whisper's normalisation of a (n_mels, frames) log10 spectrogram, in place:
 * clamp to (max - 8), then (x + 4) / 4. */
void ls_logmel_normalize(float *mel, int64_t count);

/* The normalised log-mel of a whole signal: out (n_mels, n / 160). */
int ls_logmel_compute(const ls_logmel *m, const float *samples, int64_t n, float *out,
                      ls_error *err);

/* The normalised log-mel of samples[0..n) zero-padded to window_samples
 * (n <= window_samples): out (n_mels, window_samples / 160). */
int ls_logmel_padded(const ls_logmel *m, const float *samples, int64_t n, int64_t window_samples,
                     float *out, ls_error *err);

#endif
