/*
 * wav.h - RIFF/WAVE audio files: a strict reader and a 16-bit mono writer.
 *
 * The reader accepts integer PCM of 8 (unsigned), 16, 24 and 32 bits, IEEE
 * float of 32 and 64 bits, and the same inside WAVE_FORMAT_EXTENSIBLE, with
 * any channel count and sample rate. Samples become floats in [-1, 1)
 * (integers are divided by 2^(bits-1), as libsndfile does) and channels are
 * mixed to mono by their mean. Every header value and chunk size is checked
 * against the file before use: a bad file is an error naming the file and
 * the problem, never a crash. A RIFF or data size of 0xFFFFFFFF (written by
 * programs streaming to a pipe) means "up to the end of the file".
 */
#ifndef LS_IO_WAV_H
#define LS_IO_WAV_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/* Mono audio: n samples at `rate` Hz, malloc'd. */
typedef struct ls_audio {
    float *samples;
    int64_t n;
    int rate;
} ls_audio;

void ls_audio_free(ls_audio *a);

/* Reads a WAV file and mixes it to mono. On error *out is left empty. */
int ls_wav_read(const char *path, ls_audio *out, ls_error *err);

/* The same on a file already in memory; `what` names it in messages. */
int ls_wav_parse(const void *data, size_t len, const char *what, ls_audio *out, ls_error *err);

/* Writes mono 16-bit PCM; samples are scaled by 32768, rounded and clipped. */
int ls_wav_write16(const char *path, const float *samples, int64_t n, int rate, ls_error *err);

#endif
