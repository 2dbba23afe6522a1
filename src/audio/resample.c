/*
 * resample.c - polyphase windowed-sinc resampling (see resample.h).
 *
 * With g = gcd(in, out), L = out / g and M = in / g, output sample n sits at
 * input time t = n * M / L: integer part q = floor(n M / L) and phase
 * r = (n M) mod L. It is the dot product of the 2H inputs x[q-H+1 .. q+H]
 * with the kernel h(t - k), where h is a low-pass sinc at cutoff fc (cycles
 * per input sample) under a Kaiser window of half-width H inputs.
 *
 * The kernel is tabulated at P phases per input sample (P = L when L is at
 * most MAX_PHASES, so common rates use exact phases; otherwise P =
 * MAX_PHASES and neighbouring phases are blended linearly, an error below
 * -100 dB). Each table row is normalised to sum 1, so DC passes unchanged.
 *
 * Filter design (Kaiser's formulas): stopband attenuation A = 90 dB,
 * beta = 0.1102 (A - 8.7), length (A - 7.95) / (2.285 * 2 pi df) taps for a
 * transition band df from 0.91 to 1.0 of the lower Nyquist frequency.
 *
 * Streaming keeps the last inputs in a fixed buffer of 2H + BLOCK samples
 * whose first element is input number `base` (negative at the start, where
 * the signal is zero).
 */
#include "audio/resample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RATE 10000000
#define MAX_PHASES 1024
#define BLOCK 4096
#define STOPBAND_DB 90.0
#define PASSBAND_EDGE 0.91   /* of the lower Nyquist frequency */

struct ls_resampler {
    int64_t up, down;        /* L and M */
    int phases;              /* P: table rows per input sample (row P is the next sample's row 0) */
    int taps;                /* 2H */
    float *table;            /* (phases + 1, taps): row p, tap j = h(H - 1 - j + p / P) */
    int passthrough;         /* equal rates: copy */

    float *buf;              /* (taps + BLOCK) recent inputs */
    int64_t buf_len;
    int64_t base;            /* input index of buf[0] */
    int64_t n_in, n_out;     /* inputs consumed, outputs written */
};

static int64_t gcd64(int64_t a, int64_t b)
{
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Modified Bessel function of the first kind, order 0 (power series). */
static double bessel_i0(double x)
{
    double term = 1, sum = 1, q = x * x / 4;
    for (int k = 1; k < 200 && term > 1e-17 * sum; k++) {
        term *= q / ((double)k * k);
        sum += term;
    }
    return sum;
}

/* The windowed-sinc kernel at offset tau (input samples). */
static double kernel(double tau, double fc, double half_width, double beta)
{
    double x = tau / half_width;
    if (fabs(x) >= 1)
        return 0;
    double arg = 2 * M_PI * fc * tau;
    double sinc = tau == 0 ? 1 : sin(arg) / arg;
    return 2 * fc * sinc * bessel_i0(beta * sqrt(1 - x * x)) / bessel_i0(beta);
}

static void build_table(ls_resampler *r, double fc, int half_width, double beta)
{
    for (int p = 0; p <= r->phases; p++) {
        float *row = r->table + (size_t)p * r->taps;
        double sum = 0;
        for (int j = 0; j < r->taps; j++)
            sum += kernel(half_width - 1 - j + (double)p / r->phases, fc, half_width, beta);
        for (int j = 0; j < r->taps; j++)
            row[j] = (float)(kernel(half_width - 1 - j + (double)p / r->phases, fc, half_width,
                                    beta) / sum);
    }
}

static void reset_stream(ls_resampler *r)
{
    int half_width = r->taps / 2;
    memset(r->buf, 0, (size_t)half_width * sizeof *r->buf);
    r->buf_len = half_width;
    r->base = -half_width;
    r->n_in = 0;
    r->n_out = 0;
}

int ls_resampler_new(int in_rate, int out_rate, ls_resampler **out, ls_error *err)
{
    *out = NULL;
    if (in_rate <= 0 || in_rate > MAX_RATE || out_rate <= 0 || out_rate > MAX_RATE)
        return ls_error_set(err, "resample: rates %d -> %d Hz out of range", in_rate, out_rate);
    ls_resampler *r = calloc(1, sizeof *r);
    if (!r)
        return ls_error_set(err, "resample: out of memory");
    int64_t g = gcd64(in_rate, out_rate);
    r->up = out_rate / g;
    r->down = in_rate / g;
    r->passthrough = in_rate == out_rate;

    double nyquist = 0.5 * (out_rate < in_rate ? (double)out_rate / in_rate : 1.0);
    double transition = (1 - PASSBAND_EDGE) * nyquist;
    double fc = (1 + PASSBAND_EDGE) / 2 * nyquist;
    double beta = 0.1102 * (STOPBAND_DB - 8.7);
    double length = (STOPBAND_DB - 7.95) / (2.285 * 2 * M_PI * transition) + 1;
    int half_width = (int)ceil(length / 2);
    r->taps = 2 * half_width;
    r->phases = r->up <= MAX_PHASES ? (int)r->up : MAX_PHASES;

    if (!r->passthrough)
        r->table = malloc((size_t)(r->phases + 1) * r->taps * sizeof *r->table);
    r->buf = malloc((size_t)(r->taps + BLOCK) * sizeof *r->buf);
    if ((!r->passthrough && !r->table) || !r->buf) {
        ls_resampler_free(r);
        return ls_error_set(err, "resample: out of memory");
    }
    if (!r->passthrough)
        build_table(r, fc, half_width, beta);
    reset_stream(r);
    *out = r;
    return 0;
}

void ls_resampler_free(ls_resampler *r)
{
    if (!r)
        return;
    free(r->table);
    free(r->buf);
    free(r);
}

/* Outputs a signal of n_in inputs has in all: ceil(n_in * L / M). */
static int64_t total_outputs(const ls_resampler *r, int64_t n_in)
{
    return (n_in * r->up + r->down - 1) / r->down;
}

int64_t ls_resampler_max_output(const ls_resampler *r, int64_t n)
{
    return total_outputs(r, r->n_in + n) - r->n_out;
}

static float dot(const float *a, const float *b, int n)
{
    float acc[8] = { 0 };
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++)
            acc[k] += a[i + k] * b[i + k];
    for (; i < n; i++)
        acc[0] += a[i] * b[i];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

/* Writes outputs while their inputs are in the buffer and fewer than
 * `limit` have been written in all; then drops inputs no longer needed. */
static int64_t produce(ls_resampler *r, int64_t limit, float *out)
{
    int half_width = r->taps / 2;
    int64_t written = 0;
    for (; r->n_out < limit; r->n_out++) {
        int64_t pos = r->n_out * r->down;
        int64_t q = pos / r->up, phase = pos % r->up;
        if (q + half_width > r->base + r->buf_len - 1)
            break;
        const float *x = r->buf + (q - half_width + 1 - r->base);
        int64_t scaled = phase * r->phases;
        int64_t row = scaled / r->up, frac = scaled % r->up;
        const float *h = r->table + (size_t)row * r->taps;
        float y = dot(x, h, r->taps);
        if (frac) {
            float w = (float)frac / (float)r->up;
            y += w * (dot(x, h + r->taps, r->taps) - y);
        }
        out[written++] = y;
    }
    int64_t next_first = (r->n_out * r->down) / r->up - half_width + 1;
    int64_t drop = next_first - r->base;
    if (drop > r->buf_len)
        drop = r->buf_len;
    if (drop > 0) {
        memmove(r->buf, r->buf + drop, (size_t)(r->buf_len - drop) * sizeof *r->buf);
        r->buf_len -= drop;
        r->base += drop;
    }
    return written;
}

/* Feeds n inputs (zeros when in is NULL) and produces up to `limit` outputs. */
static int64_t feed(ls_resampler *r, const float *in, int64_t n, int64_t limit, float *out)
{
    int64_t written = 0;
    int64_t capacity = r->taps + BLOCK;
    while (n > 0) {
        int64_t take = capacity - r->buf_len < n ? capacity - r->buf_len : n;
        if (in) {
            memcpy(r->buf + r->buf_len, in, (size_t)take * sizeof *r->buf);
            in += take;
        } else {
            memset(r->buf + r->buf_len, 0, (size_t)take * sizeof *r->buf);
        }
        r->buf_len += take;
        n -= take;
        written += produce(r, limit, out + written);
    }
    return written;
}

int64_t ls_resampler_push(ls_resampler *r, const float *in, int64_t n, float *out)
{
    if (n <= 0)
        return 0;
    r->n_in += n;
    if (r->passthrough) {
        memcpy(out, in, (size_t)n * sizeof *out);
        r->n_out += n;
        return n;
    }
    return feed(r, in, n, total_outputs(r, r->n_in), out);
}

int64_t ls_resampler_finish(ls_resampler *r, float *out)
{
    int64_t written = 0;
    if (!r->passthrough)
        written = feed(r, NULL, r->taps, total_outputs(r, r->n_in), out);
    reset_stream(r);
    return written;
}

int ls_resample(const float *in, int64_t n, int in_rate, int out_rate, float **out, int64_t *n_out,
                ls_error *err)
{
    ls_resampler *r;
    *out = NULL;
    *n_out = 0;
    if (ls_resampler_new(in_rate, out_rate, &r, err) != 0)
        return -1;
    int64_t total = ls_resampler_max_output(r, n);
    float *y = malloc((size_t)(total > 0 ? total : 1) * sizeof *y);
    if (!y) {
        ls_resampler_free(r);
        return ls_error_set(err, "resample: out of memory for %lld samples", (long long)total);
    }
    int64_t got = ls_resampler_push(r, in, n, y);
    got += ls_resampler_finish(r, y + got);
    ls_resampler_free(r);
    *out = y;
    *n_out = got;
    return 0;
}
