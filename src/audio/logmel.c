/*
 * logmel.c - log-mel spectrogram (see logmel.h).
 *
 * Per block of up to BLOCK_FRAMES frames:
 *   frames (B, 400)  = reflect-padded signal cut every 160 samples
 *   spec   (B, 402)  = frames @ basis^T, basis rows k = w[n] cos(2 pi k n / 400)
 *                      (k = 0..200) then w[n] sin(2 pi k n / 400)
 *   power  (B, 201)  = re^2 + im^2
 *   out[:, block]    = filters (n_mels, 201) @ power^T, written with a row
 *                      stride of the total frame count, then log10 in place.
 */
#include "audio/logmel.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_FRAMES 512
#define LOG_FLOOR 1e-10f

struct ls_logmel {
    int n_mels;
    float *basis;    /* (2 * LS_MEL_BINS, LS_MEL_N_FFT): Hann-weighted cos rows, then sin rows */
    float *filters;  /* (n_mels, LS_MEL_BINS) */
};

/* --- Slaney mel scale (librosa's hz_to_mel / mel_to_hz with htk=False) --- */

#define MEL_F_SP (200.0 / 3)   /* Hz per mel in the linear part */
#define MEL_MIN_LOG_HZ 1000.0
#define MEL_MIN_LOG_MEL (MEL_MIN_LOG_HZ / MEL_F_SP)
#define MEL_LOGSTEP (log(6.4) / 27.0)

static double hz_to_mel(double hz)
{
    if (hz >= MEL_MIN_LOG_HZ)
        return MEL_MIN_LOG_MEL + log(hz / MEL_MIN_LOG_HZ) / MEL_LOGSTEP;
    return hz / MEL_F_SP;
}

static double mel_to_hz(double mel)
{
    if (mel >= MEL_MIN_LOG_MEL)
        return MEL_MIN_LOG_HZ * exp(MEL_LOGSTEP * (mel - MEL_MIN_LOG_MEL));
    return MEL_F_SP * mel;
}

/* Edge i of the n_mels + 2 band edges, evenly spaced in mels (numpy's
 * linspace: i * step, the last one exactly the maximum). */
static double band_edge_hz(int i, int n_mels, double mel_max)
{
    return mel_to_hz(i == n_mels + 1 ? mel_max : i * (mel_max / (n_mels + 1)));
}

void ls_mel_filterbank(int sample_rate, int n_fft, int n_mels, float *filters)
{
    int bins = n_fft / 2 + 1;
    double bin_hz = 1.0 / (n_fft * (1.0 / sample_rate));   /* as numpy's rfftfreq */
    double mel_max = hz_to_mel(sample_rate / 2.0);
    for (int m = 0; m < n_mels; m++) {
        double lo = band_edge_hz(m, n_mels, mel_max);
        double mid = band_edge_hz(m + 1, n_mels, mel_max);
        double hi = band_edge_hz(m + 2, n_mels, mel_max);
        double area_norm = 2.0 / (hi - lo);
        for (int k = 0; k < bins; k++) {
            double hz = k * bin_hz;
            double rising = -(lo - hz) / (mid - lo);
            double falling = (hi - hz) / (hi - mid);
            double w = fmin(rising, falling);
            filters[(size_t)m * bins + k] = (float)((w > 0 ? w : 0) * area_norm);
        }
    }
}

/* --- setup --- */

int ls_logmel_new(int n_mels, ls_logmel **out, ls_error *err)
{
    *out = NULL;
    if (n_mels <= 0 || n_mels > 1024)
        return ls_error_set(err, "log-mel: %d mel bands out of range", n_mels);
    ls_logmel *m = calloc(1, sizeof *m);
    if (!m)
        return ls_error_set(err, "log-mel: out of memory");
    m->n_mels = n_mels;
    m->basis = malloc((size_t)2 * LS_MEL_BINS * LS_MEL_N_FFT * sizeof *m->basis);
    m->filters = malloc((size_t)n_mels * LS_MEL_BINS * sizeof *m->filters);
    if (!m->basis || !m->filters) {
        ls_logmel_free(m);
        return ls_error_set(err, "log-mel: out of memory");
    }
    for (int k = 0; k < LS_MEL_BINS; k++) {
        for (int n = 0; n < LS_MEL_N_FFT; n++) {
            double hann = 0.5 - 0.5 * cos(2 * M_PI * n / LS_MEL_N_FFT);   /* periodic */
            double angle = 2 * M_PI * ((k * n) % LS_MEL_N_FFT) / LS_MEL_N_FFT;
            m->basis[(size_t)k * LS_MEL_N_FFT + n] = (float)(hann * cos(angle));
            m->basis[(size_t)(LS_MEL_BINS + k) * LS_MEL_N_FFT + n] = (float)(hann * sin(angle));
        }
    }
    ls_mel_filterbank(LS_MEL_SAMPLE_RATE, LS_MEL_N_FFT, n_mels, m->filters);
    *out = m;
    return 0;
}

void ls_logmel_free(ls_logmel *m)
{
    if (!m)
        return;
    free(m->basis);
    free(m->filters);
    free(m);
}

int ls_logmel_n_mels(const ls_logmel *m)
{
    return m->n_mels;
}

/* --- transform --- */

/* Sample i of the signal reflect-padded on both sides (mirrored without
 * repeating the edge sample, as torch's reflect pad; bounces repeatedly when
 * the pad is longer than the signal). */
static float reflected(const float *x, int64_t n, int64_t i)
{
    if (n == 1)
        return x[0];
    int64_t period = 2 * (n - 1);
    i %= period;
    if (i < 0)
        i += period;
    return x[i < n ? i : period - i];
}

int ls_logmel_log10(const ls_logmel *m, const float *samples, int64_t n, float *out,
                    ls_error *err)
{
    int64_t frames = ls_logmel_frames(n);
    if (frames == 0)
        return 0;
    float *block = malloc((size_t)BLOCK_FRAMES * (LS_MEL_N_FFT + 2 * LS_MEL_BINS + LS_MEL_BINS) *
                          sizeof *block);
    if (!block)
        return ls_error_set(err, "log-mel: out of memory");
    float *spec = block + (size_t)BLOCK_FRAMES * LS_MEL_N_FFT;
    float *power = spec + (size_t)BLOCK_FRAMES * 2 * LS_MEL_BINS;
    int64_t pad = LS_MEL_N_FFT / 2;

    for (int64_t f0 = 0; f0 < frames; f0 += BLOCK_FRAMES) {
        int count = (int)(frames - f0 < BLOCK_FRAMES ? frames - f0 : BLOCK_FRAMES);
        for (int f = 0; f < count; f++) {
            float *row = block + (size_t)f * LS_MEL_N_FFT;
            int64_t start = (f0 + f) * LS_MEL_HOP - pad;
            if (start >= 0 && start + LS_MEL_N_FFT <= n)
                memcpy(row, samples + start, LS_MEL_N_FFT * sizeof *row);
            else
                for (int i = 0; i < LS_MEL_N_FFT; i++)
                    row[i] = reflected(samples, n, start + i);
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, count, 2 * LS_MEL_BINS,
                    LS_MEL_N_FFT, 1.0f, block, LS_MEL_N_FFT, m->basis, LS_MEL_N_FFT, 0.0f, spec,
                    2 * LS_MEL_BINS);
        for (int f = 0; f < count; f++) {
            const float *re = spec + (size_t)f * 2 * LS_MEL_BINS, *im = re + LS_MEL_BINS;
            for (int k = 0; k < LS_MEL_BINS; k++)
                power[(size_t)f * LS_MEL_BINS + k] = re[k] * re[k] + im[k] * im[k];
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m->n_mels, count, LS_MEL_BINS, 1.0f,
                    m->filters, LS_MEL_BINS, power, LS_MEL_BINS, 0.0f, out + f0, (int)frames);
        for (int b = 0; b < m->n_mels; b++) {
            float *row = out + (size_t)b * frames + f0;
            for (int f = 0; f < count; f++)
                row[f] = log10f(row[f] > LOG_FLOOR ? row[f] : LOG_FLOOR);
        }
    }
    free(block);
    return 0;
}

void ls_logmel_normalize(float *mel, int64_t count)
{
    if (count <= 0)
        return;
    float max = mel[0];
    for (int64_t i = 1; i < count; i++)
        if (mel[i] > max)
            max = mel[i];
    float floor_value = max - 8.0f;
    for (int64_t i = 0; i < count; i++)
        mel[i] = ((mel[i] > floor_value ? mel[i] : floor_value) + 4.0f) / 4.0f;
}

int ls_logmel_compute(const ls_logmel *m, const float *samples, int64_t n, float *out,
                      ls_error *err)
{
    if (ls_logmel_log10(m, samples, n, out, err) != 0)
        return -1;
    ls_logmel_normalize(out, m->n_mels * ls_logmel_frames(n));
    return 0;
}

int ls_logmel_padded(const ls_logmel *m, const float *samples, int64_t n, int64_t window_samples,
                     float *out, ls_error *err)
{
    float *padded = calloc((size_t)(window_samples > 0 ? window_samples : 1), sizeof *padded);
    if (!padded)
        return ls_error_set(err, "log-mel: out of memory");
    memcpy(padded, samples, (size_t)(n < window_samples ? n : window_samples) * sizeof *padded);
    int rc = ls_logmel_compute(m, padded, window_samples, out, err);
    free(padded);
    return rc;
}
