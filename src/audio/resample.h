/*
 * resample.h - sample-rate conversion by a Kaiser-windowed sinc filter.
 *
 * Quality (any pair of rates): passband flat (ripple below 0.001 dB) up to
 * 0.91 of the lower Nyquist frequency, stopband from that Nyquist frequency
 * on attenuated by at least 90 dB by design, so aliases sit below -80 dB.
 * The output is aligned with the input (no delay): output sample n is the
 * band-limited input at time n * in_rate / out_rate, the signal being zero
 * before the first and after the last input sample. A whole signal of n
 * samples gives ceil(n * out_rate / in_rate) samples.
 *
 * Streaming: a resampler consumes input in pieces of any size and writes the
 * output samples that the input seen so far determines; ls_resampler_finish
 * then flushes the tail. The concatenated output equals ls_resample() of
 * the concatenated input exactly. Pushing never allocates.
 */
#ifndef LS_AUDIO_RESAMPLE_H
#define LS_AUDIO_RESAMPLE_H

#include <stdint.h>

#include "util/error.h"

typedef struct ls_resampler ls_resampler;

/* Rates in Hz, 1 .. 10 MHz each. */
int ls_resampler_new(int in_rate, int out_rate, ls_resampler **out, ls_error *err);
void ls_resampler_free(ls_resampler *r);

/* An upper bound on the samples the next push of n inputs (or, with n = 0,
 * the finish) can write: the size `out` must have. */
int64_t ls_resampler_max_output(const ls_resampler *r, int64_t n);

/* Consumes in[0..n) and writes the newly determined output; returns the
 * number of samples written. */
int64_t ls_resampler_push(ls_resampler *r, const float *in, int64_t n, float *out);

/* Ends the stream: writes the remaining output and returns its count. The
 * resampler is then back at the start of a new stream. */
int64_t ls_resampler_finish(ls_resampler *r, float *out);

/* Converts a whole signal; *out is malloc'd with *n_out samples. */
int ls_resample(const float *in, int64_t n, int in_rate, int out_rate, float **out, int64_t *n_out,
                ls_error *err);

#endif
