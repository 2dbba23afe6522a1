/*
 * audio_decoder.h - compressed audio in, 16 kHz mono 16-bit samples out,
 * as the bytes arrive.
 *
 * Bytes are pushed in pieces of any size (from an HTTP answer or an
 * upload); GStreamer finds the format and decodes it (decodebin: WAV of any
 * rate and width, MP3, Ogg Vorbis and Opus, chained Ogg, M4A/AAC, FLAC, and
 * whatever else the installed plugins read), then converts and resamples.
 * Samples go to the callback in pieces on the caller's own thread, from
 * push() (what is ready by then) and finish() (the rest). There is no main
 * loop: the caller's thread pulls from the pipeline's appsink and polls its
 * bus, and every wait is bounded. Bytes that are not audio, a format no
 * plugin reads, or a decoder error are -1 with an error saying so, naming
 * the input ("song.mp3: not an audio file (...)").
 */
#ifndef LS_MEDIA_AUDIO_DECODER_H
#define LS_MEDIA_AUDIO_DECODER_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define LS_AUDIO_DECODER_RATE 16000

typedef struct ls_audio_decoder ls_audio_decoder;

/* Receives decoded samples; returns nonzero to stop decoding. */
typedef int (*ls_audio_decoder_fn)(void *user, const int16_t *samples, int n);

/* `name` names the input in errors. Initialises GStreamer if needed. */
int ls_audio_decoder_new(const char *name, ls_audio_decoder_fn out, void *user, ls_audio_decoder **dec,
                         ls_error *err);
/* Adds bytes and hands on what is decoded so far: 0, 1 once the callback
 * asked to stop (the rest is ignored), -1 error. */
int ls_audio_decoder_push(ls_audio_decoder *d, const void *bytes, size_t n, ls_error *err);
/* The input is complete: hands on the rest. 0, 1 stopped, -1 error (also
 * when the input held no audio at all). */
int ls_audio_decoder_finish(ls_audio_decoder *d, ls_error *err);
/* Samples handed on so far. */
int64_t ls_audio_decoder_samples(const ls_audio_decoder *d);
void ls_audio_decoder_free(ls_audio_decoder *d);

#endif
