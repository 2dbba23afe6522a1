/*
 * test_resample.c - resampler quality and streaming.
 *
 * Sines go through the resampler and the output's middle (away from the
 * edges where the signal starts abruptly) is fitted by least squares with a
 * sine of the input's frequency: the fitted amplitude measures passband
 * flatness, the residual left after the fit measures everything that is
 * not that one tone (a wrong frequency, aliases, images, noise). Tones
 * above the output's Nyquist frequency must vanish (alias rejection).
 *
 * Bounds: passband amplitude within 1e-3 (0.009 dB) of the input, residual
 * and stopband leakage at most 1e-4 of the tone's amplitude (-80 dB), the
 * project's quality target (the filter is designed for 90 dB).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio/resample.h"
#include "check.h"

#define AMPLITUDE 0.5
#define STOPBAND 1e-4   /* -80 dB */

static float *make_sine(int rate, double hz, double seconds, int64_t *n)
{
    *n = (int64_t)(rate * seconds);
    float *x = malloc((size_t)*n * sizeof *x);
    for (int64_t i = 0; i < *n; i++)
        x[i] = (float)(AMPLITUDE * sin(2 * M_PI * hz * i / rate + 0.3));
    return x;
}

/* Fits a sin + b cos at hz over the middle of y; returns the amplitude and
 * the RMS of what is left. */
static double fit_tone(const float *y, int64_t n, int rate, double hz, double *residual)
{
    int64_t from = n / 10, to = n - n / 10;
    double ss = 0, sc = 0, cc = 0, ys = 0, yc = 0;
    for (int64_t i = from; i < to; i++) {
        double s = sin(2 * M_PI * hz * i / rate), c = cos(2 * M_PI * hz * i / rate);
        ss += s * s, sc += s * c, cc += c * c, ys += y[i] * s, yc += y[i] * c;
    }
    double det = ss * cc - sc * sc;
    double a = (ys * cc - yc * sc) / det, b = (yc * ss - ys * sc) / det;
    double rest = 0;
    for (int64_t i = from; i < to; i++) {
        double e = y[i] - a * sin(2 * M_PI * hz * i / rate) - b * cos(2 * M_PI * hz * i / rate);
        rest += e * e;
    }
    *residual = sqrt(rest / (double)(to - from));
    return hypot(a, b);
}

static float *resample(const float *x, int64_t n, int in_rate, int out_rate, int64_t *n_out)
{
    float *y = NULL;
    ls_error err = { 0 };
    CHECK(ls_resample(x, n, in_rate, out_rate, &y, n_out, &err) == 0, "%s", err.msg);
    int64_t want = (n * out_rate + in_rate - 1) / in_rate;
    CHECK(*n_out == want, "%d -> %d: %lld samples, want %lld", in_rate, out_rate,
          (long long)*n_out, (long long)want);
    return y;
}

static void passband(int in_rate, int out_rate, double hz)
{
    int64_t n, m;
    float *x = make_sine(in_rate, hz, 1.0, &n);
    float *y = resample(x, n, in_rate, out_rate, &m);
    double residual, amp = fit_tone(y, m, out_rate, hz, &residual);
    int ok = fabs(amp - AMPLITUDE) <= 1e-3 * AMPLITUDE && residual <= STOPBAND * AMPLITUDE;
    printf("%6d -> %5d Hz, %5.0f Hz tone: gain %+.5f dB, residual %.1f dB %s\n", in_rate, out_rate,
           hz, 20 * log10(amp / AMPLITUDE), 20 * log10(residual / AMPLITUDE + 1e-30),
           ok ? "ok" : "FAIL");
    CHECK(ok, "passband %d -> %d at %g Hz: amplitude %g residual %g", in_rate, out_rate, hz, amp,
          residual);
    free(x);
    free(y);
}

static void stopband(int in_rate, int out_rate, double hz)
{
    int64_t n, m;
    float *x = make_sine(in_rate, hz, 1.0, &n);
    float *y = resample(x, n, in_rate, out_rate, &m);
    double rms = 0;
    for (int64_t i = m / 10; i < m - m / 10; i++)
        rms += (double)y[i] * y[i];
    rms = sqrt(rms / (double)(m - 2 * (m / 10)));
    double level = rms * sqrt(2) / AMPLITUDE;   /* relative to the tone's amplitude */
    printf("%6d -> %5d Hz, %5.0f Hz tone: alias at %.1f dB %s\n", in_rate, out_rate, hz,
           20 * log10(level + 1e-30), level <= STOPBAND ? "ok" : "FAIL");
    CHECK(level <= STOPBAND, "stopband %d -> %d at %g Hz: %g", in_rate, out_rate, hz, level);
    free(x);
    free(y);
}

/* Pushing in pieces of varied sizes gives exactly the whole-signal result. */
static void streaming(int in_rate, int out_rate)
{
    int64_t n = in_rate / 2, m;
    float *x = malloc((size_t)n * sizeof *x);
    uint32_t seed = 7;
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = (float)(seed >> 8) / 16777216.0f - 0.5f;
    }
    float *whole = resample(x, n, in_rate, out_rate, &m);
    ls_resampler *r;
    ls_error err = { 0 };
    CHECK(ls_resampler_new(in_rate, out_rate, &r, &err) == 0, "%s", err.msg);
    float *pieces = malloc((size_t)(m + 16) * sizeof *pieces);
    int64_t got = 0;
    static const int64_t sizes[] = { 1, 7, 320, 4999, 3, 10000, 160 };
    for (int64_t pos = 0, k = 0; pos < n; k++) {
        int64_t size = sizes[k % 7] < n - pos ? sizes[k % 7] : n - pos;
        CHECK(ls_resampler_max_output(r, size) <= m - got + 1, "max_output bound");
        got += ls_resampler_push(r, x + pos, size, pieces + got);
        pos += size;
    }
    got += ls_resampler_finish(r, pieces + got);
    CHECK(got == m, "streamed %lld samples, whole %lld", (long long)got, (long long)m);
    if (got == m) {
        char what[64];
        snprintf(what, sizeof what, "stream == whole %d -> %d", in_rate, out_rate);
        check_close(what, pieces, whole, m, 0, 0);
    }
    ls_resampler_free(r);
    free(x);
    free(whole);
    free(pieces);
}

int main(void)
{
    /* 44.1 kHz -> 16 kHz: passband to 0.91 x 8 kHz, aliases from above 8 kHz */
    passband(44100, 16000, 100);
    passband(44100, 16000, 1000);
    passband(44100, 16000, 5000);
    passband(44100, 16000, 7200);
    stopband(44100, 16000, 8100);
    stopband(44100, 16000, 10000);
    stopband(44100, 16000, 15000);
    stopband(44100, 16000, 21000);
    /* 48 kHz and a rate with no small common factor (interpolated phases) */
    passband(48000, 16000, 3000);
    stopband(48000, 16000, 9000);
    passband(44056, 16000, 1000);
    passband(44056, 16000, 7000);
    stopband(44056, 16000, 12000);
    /* upsampling 8 kHz -> 16 kHz: no images above 4 kHz */
    passband(8000, 16000, 440);
    passband(8000, 16000, 3500);
    passband(16000, 16000, 1000);

    streaming(44100, 16000);
    streaming(8000, 16000);
    streaming(44056, 16000);
    streaming(16000, 16000);

    /* DC passes unchanged */
    int64_t m;
    float dc[2000];
    for (int i = 0; i < 2000; i++)
        dc[i] = 0.3f;
    float *y = resample(dc, 2000, 22050, 16000, &m);
    float want[1];
    want[0] = 0.3f;
    check_close("DC 22050 -> 16000 (middle sample)", y + m / 2, want, 1, 1e-6, 0);
    free(y);

    ls_resampler *r;
    ls_error err = { 0 };
    CHECK(ls_resampler_new(0, 16000, &r, &err) == -1 && strstr(err.msg, "out of range"),
          "rate 0: %s", err.msg);
    return check_result("test_resample");
}
