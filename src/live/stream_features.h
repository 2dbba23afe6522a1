/*
 * stream_features.h - whisper audio chunks for a live stream of 20 ms frames.
 *
 * Audio arrives in frames of 320 samples (20 ms at 16 kHz). Every 2B new
 * frames (B = batch_size video frames at 25 fps, two audio frames each) the
 * encoder runs on one window of L + 2B + R frames: L = 10 frames of left
 * context, the 2B new frames, R = 10 frames of right context (200 ms, the
 * algorithmic latency). Before the first frame the left context is zeros.
 *
 * Geometry (why the chunks line up with the offline ones). A window of W
 * frames is W * 320 samples, so W * 2 mel frames (hop 160, centred) and W
 * encoder steps (conv2 has stride 2): local step j is centred on sample
 * j * 320 of the window, i.e. on the window's audio frame j. The offline
 * encoder (models/whisper.h) has the same geometry over the whole clip:
 * global step t is centred on global audio frame t. Batch k's window starts
 * at global frame 2kB - L, so global step t is local step t - (2kB - L).
 * Video frame i = kB + m takes, offline, steps f .. f + 9 with
 * f = ls_features_first_step(version, i, 25) = 2i - 4 (audio/features.h);
 * here it takes local steps f - (2kB - L) = 2m + 6 .. 2m + 15, which lie
 * inside the window (0 .. 2B + 19) for every m < B: the chunk covers the
 * same 200 ms of audio as the offline chunk of the same frame. Steps before
 * the stream's start follow the recipe's edge rule (v1.0: the first step
 * repeated, v1.5: zeros), as offline. So batch k is ready once global frames
 * up to 2(k+1)B + R - 1 have arrived.
 *
 * Each step also gets the positional embedding the offline path gives it:
 * row t mod n_ctx for global step t (offline windows are n_ctx steps).
 *
 * What differs from the offline features is the encoder's context: offline,
 * a step sees the 30 s window around it; here it sees the stream window.
 * The log-mel is normalised (max - 8 clamp) over the window instead of the
 * clip, and the window is either
 *  - FULL: padded to the encoder's whole input (30 s for whisper-tiny), as
 *    upstream's live server does (v1.0: zeros after the normalised log-mel,
 *    v1.5: zero samples before the log-mel), or
 *  - SHORT: encoded as it is (W steps; n_ctx / W times cheaper).
 * The convolutional front end is local, so the first stacked state (the
 * block input) equals the offline one wherever the clamp does not differ;
 * the transformer layers differ by their context (tests/test_stream_features.c
 * measures both windows against offline).
 */
#ifndef LS_LIVE_STREAM_FEATURES_H
#define LS_LIVE_STREAM_FEATURES_H

#include <stdint.h>

#include "models/whisper.h"
#include "nn/nn.h"
#include "util/error.h"

#define LS_STREAM_FRAME 320       /* samples in one 20 ms audio frame at 16 kHz */
#define LS_STREAM_FPS 25          /* video frames per second: two audio frames each */
#define LS_STREAM_CONTEXT 10      /* audio frames of left and of right context */

typedef enum ls_stream_window {
    LS_STREAM_WINDOW_FULL,   /* pad to the encoder's whole input, as upstream */
    LS_STREAM_WINDOW_SHORT,  /* encode the context + batch window alone */
} ls_stream_window;

typedef struct ls_stream_features ls_stream_features;

/* batch_size video frames per batch; the window (2 * batch_size + 20 frames)
 * must fit the encoder (at most n_ctx steps). */
int ls_stream_features_new(const ls_whisper *w, int batch_size, ls_stream_window window,
                           ls_stream_features **out, ls_error *err);
void ls_stream_features_free(ls_stream_features *s);

/* Tokens (10 * stacked states) and width of one chunk: (50, 384) for whisper-tiny. */
int ls_stream_features_tokens(const ls_stream_features *s);
int ls_stream_features_dim(const ls_stream_features *s);

/* Appends one frame of LS_STREAM_FRAME samples. Returns 1 when a batch is
 * ready: call ls_stream_features_take before pushing more. */
int ls_stream_features_push(ls_stream_features *s, const float *frame);

/* Takes the ready batch: the video frames first_frame .. first_frame + B - 1
 * (*first_frame may be NULL). With chunks non-NULL the encoder runs and
 * writes chunks (B, tokens, dim) and, when first_steps is non-NULL, the
 * global first step of each chunk; with chunks NULL the batch is dropped
 * unencoded (all its frames silent). -1 only when out of memory. */
int ls_stream_features_take(ls_stream_features *s, nn_ctx *c, int64_t *first_frame, float *chunks,
                            int64_t *first_steps, ls_error *err);

#endif
