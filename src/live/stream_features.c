/*
 * stream_features.c - the sliding encoder window of stream_features.h.
 *
 * The window buffer holds W = L + 2B + R frames. It starts with the L zero
 * frames of start-up; pushes append; when full, the batch is encoded and the
 * last L + R frames (the next window's left context and the frames already
 * seen of its batch) move to the front.
 *
 * Positions: the encoder is told the global step of its local step 0, so
 * that local step j gets row (t mod n_ctx) of its global step t, the row the
 * offline path gives that step. (With rows 0 .. W - 1 instead, as upstream,
 * every batch would repeat the same positions: the features would carry a
 * pattern with the batch's period.) The encoder runs on the whisper model's
 * backend, a GPU when it was placed there; only the log-mel and the kept
 * states cross to and from it.
 */
#include "live/stream_features.h"

#include <stdlib.h>
#include <string.h>

_Static_assert(LS_STREAM_FRAME == 2 * LS_MEL_HOP, "an audio frame is one encoder step");
_Static_assert(LS_WHISPER_STEPS_PER_SECOND == 2 * LS_STREAM_FPS, "two steps per video frame");

struct ls_stream_features {
    const ls_whisper *whisper;
    ls_stream_window window;
    int batch;             /* B, video frames per batch */
    int frames;            /* W = L + 2B + R, audio frames per window */
    int filled;            /* frames in the buffer */
    int64_t next_frame;    /* first video frame of the next batch (k * B) */
    int tokens, dim;       /* chunk shape (10 * S, C) */
    float *samples;        /* (W * LS_STREAM_FRAME) the window */
    float *mel;            /* (n_mels, encoder frames) */
    float *states;         /* (W, S, C) */
};

/* Log-mel frames the encoder is given per window. */
static int64_t encoder_frames(const ls_stream_features *s)
{
    return s->window == LS_STREAM_WINDOW_FULL ? 2 * (int64_t)s->whisper->n_ctx
                                              : (int64_t)s->frames * LS_STREAM_FRAME / LS_MEL_HOP;
}

int ls_stream_features_new(const ls_whisper *w, int batch_size, ls_stream_window window,
                           ls_stream_features **out, ls_error *err)
{
    *out = NULL;
    int frames = 2 * LS_STREAM_CONTEXT + 2 * batch_size;
    if (batch_size < 1 || frames > w->n_ctx)
        return ls_error_set(err, "stream features: batch size %d outside 1 .. %d for this encoder",
                            batch_size, (w->n_ctx - 2 * LS_STREAM_CONTEXT) / 2);
    ls_stream_features *s = calloc(1, sizeof *s);
    if (!s)
        return ls_error_set(err, "stream features: out of memory");
    s->whisper = w;
    s->window = window;
    s->batch = batch_size;
    s->frames = frames;
    s->filled = LS_STREAM_CONTEXT;
    s->tokens = LS_CHUNK_STEPS * ls_whisper_n_states(w);
    s->dim = w->n_state;
    s->samples = calloc((size_t)frames * LS_STREAM_FRAME, sizeof *s->samples);
    s->mel = calloc((size_t)w->n_mels * encoder_frames(s), sizeof *s->mel);
    s->states = malloc((size_t)frames * ls_whisper_n_states(w) * w->n_state * sizeof *s->states);
    if (!s->samples || !s->mel || !s->states) {
        ls_stream_features_free(s);
        return ls_error_set(err, "stream features: out of memory");
    }
    *out = s;
    return 0;
}

void ls_stream_features_free(ls_stream_features *s)
{
    if (!s)
        return;
    free(s->samples);
    free(s->mel);
    free(s->states);
    free(s);
}

int ls_stream_features_tokens(const ls_stream_features *s)
{
    return s->tokens;
}

int ls_stream_features_dim(const ls_stream_features *s)
{
    return s->dim;
}

int ls_stream_features_push(ls_stream_features *s, const float *frame)
{
    NN_CHECK(s->filled < s->frames, "stream features: push after a ready batch");
    memcpy(s->samples + (size_t)s->filled * LS_STREAM_FRAME, frame,
           LS_STREAM_FRAME * sizeof *frame);
    s->filled++;
    return s->filled == s->frames;
}

/* The window's log-mel, laid out as the encoder takes it (see the header). */
static int window_mel(ls_stream_features *s, ls_error *err)
{
    const ls_whisper *w = s->whisper;
    int64_t n = (int64_t)s->frames * LS_STREAM_FRAME, real = ls_logmel_frames(n);
    int64_t total = encoder_frames(s);
    if (s->window == LS_STREAM_WINDOW_FULL && w->version == LS_MUSETALK_V15)
        return ls_logmel_padded(w->logmel, s->samples, n, total * LS_MEL_HOP, s->mel, err);
    if (ls_logmel_compute(w->logmel, s->samples, n, s->mel, err) != 0)
        return -1;
    if (total > real) {   /* v1.0 full window: rows spread out, zeros after each */
        for (int b = w->n_mels - 1; b >= 0; b--) {
            float *row = s->mel + b * total;
            memmove(row, s->mel + b * real, (size_t)real * sizeof *row);
            memset(row + real, 0, (size_t)(total - real) * sizeof *row);
        }
    }
    return 0;
}

/* Frame i's chunk from the window's states. Local step j is global step
 * start + j; global steps below 0 follow the recipe's edge rule, which
 * ls_features_gather applies when the array it sees begins at global 0. */
static void gather_chunk(const ls_stream_features *s, int64_t start, int64_t frame, float *chunk,
                         int64_t *first_step)
{
    const ls_whisper *w = s->whisper;
    int S = ls_whisper_n_states(w);
    int64_t first = ls_features_first_step(w->version, frame, LS_STREAM_FPS);
    int64_t base = start > 0 ? start : 0;   /* global step of the array's row 0 */
    NN_CHECK(first - start >= 0 && first - start + LS_CHUNK_STEPS <= s->frames,
             "stream features: chunk outside the window");
    ls_features_gather(w->version, s->states + (base - start) * S * w->n_state,
                       start + s->frames - base, S, w->n_state, first - base, chunk);
    if (first_step)
        *first_step = first;
}

int ls_stream_features_take(ls_stream_features *s, nn_ctx *c, int64_t *first_frame, float *chunks,
                            int64_t *first_steps, ls_error *err)
{
    NN_CHECK(s->filled == s->frames, "stream features: no batch ready");
    int64_t frame0 = s->next_frame;
    if (chunks) {
        int64_t start = 2 * frame0 - LS_STREAM_CONTEXT;   /* global frame of local step 0 */
        if (window_mel(s, err) != 0 ||
            ls_whisper_encode(s->whisper, c, s->mel, encoder_frames(s), s->frames, start,
                              s->states, err) != 0)
            return -1;
        for (int m = 0; m < s->batch; m++)
            gather_chunk(s, start, frame0 + m, chunks + (size_t)m * s->tokens * s->dim,
                         first_steps ? first_steps + m : NULL);
    }
    int keep = 2 * LS_STREAM_CONTEXT;
    memmove(s->samples, s->samples + (size_t)(s->frames - keep) * LS_STREAM_FRAME,
            (size_t)keep * LS_STREAM_FRAME * sizeof *s->samples);
    s->filled = keep;
    s->next_frame += s->batch;
    if (first_frame)
        *first_frame = frame0;
    return 0;
}
