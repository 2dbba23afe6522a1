/*
 * test_stream_features.c - streamed whisper chunks against the offline ones.
 *
 * usage: test_stream_features WHISPER_REF_DIR   (tests/ref/whisper_ref.py)
 *
 * The 7 s speech-like WAV of the whisper reference, plus white noise at
 * -40 dBFS (see below), goes through the stream in 20 ms frames (then zero
 * frames until every frame's chunk is out) with the reference's small random
 * encoder (n_ctx 150, 2 layers), for both recipes (v1.0, v1.5) and both
 * windows (full, short). Against `lipstream features`' path
 * (ls_whisper_states + ls_features_chunk) on the same audio:
 *  - indices: every chunk's first step equals the offline one, frame by frame;
 *  - alignment, exactly: the first stacked state is conv2(conv1(mel)) plus
 *    the positional embedding of the step, which depend only on the log-mel
 *    within +-3 frames and on the step's global index. So it must equal the
 *    offline value at the same step to float precision (1e-4 abs: the same
 *    log-mel and convolution code on the same samples, different summation
 *    lengths only). Steps whose offline value is itself an edge are left
 *    out: the first two and the last of each offline window (reflect or
 *    zero padding there), and the last two of the clip. The same comparison
 *    shifted by one step (20 ms) is printed and must fail by far. The noise
 *    keeps every log-mel value above the max - 8 clamp, which is the one
 *    front-end difference by design (the stream normalises each window, the
 *    offline path the clip or 30 s piece);
 *  - the transformer states see the whole encoder window, which differs by
 *    design (stream window vs 30 s of audio): their relative RMS difference
 *    from offline is printed for each state, and each interior chunk must be
 *    nearer to the offline chunk of its own frame than to those of the
 *    frames before and after it (alignment seen through the whole encoder);
 *  - the start: frame 0's chunk reaches 4 steps before the stream; v1.0
 *    repeats the first step there, v1.5 has zeros, as offline.
 * Random weights say nothing about how close real whisper-tiny's deep states
 * come; the printed figures compare the two windows only.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audio_load.h"
#include "audio/features.h"
#include "check.h"
#include "live/stream_features.h"
#include "models/whisper.h"

#define BATCH 5
#define EXACT_TOL 1e-4
#define NOISE_RMS 0.01   /* -40 dBFS: every mel band stays above the max - 8 clamp */

static const char *ref_dir;

typedef struct offline {
    float *states;   /* (T, S, C) */
    int64_t T, frames;
} offline;

typedef struct streamed {
    float *chunks;        /* (frames, tokens, C) */
    int64_t *first_steps;
    int64_t frames;
} streamed;

static void stream_audio(ls_stream_features *s, nn_ctx *ctx, const ls_audio *a, int64_t need,
                         streamed *out)
{
    int tokens = ls_stream_features_tokens(s), dim = ls_stream_features_dim(s);
    int64_t cap = need + BATCH;
    out->chunks = malloc((size_t)cap * tokens * dim * sizeof *out->chunks);
    out->first_steps = malloc((size_t)cap * sizeof *out->first_steps);
    out->frames = 0;
    float frame[LS_STREAM_FRAME];
    ls_error err = { 0 };
    for (int64_t pos = 0; out->frames < need; pos += LS_STREAM_FRAME) {
        for (int j = 0; j < LS_STREAM_FRAME; j++)
            frame[j] = pos + j < a->n ? a->samples[pos + j] : 0.0f;
        if (!ls_stream_features_push(s, frame))
            continue;
        int64_t first = -1;
        int rc = ls_stream_features_take(s, ctx, &first,
                                         out->chunks + out->frames * tokens * dim,
                                         out->first_steps + out->frames, &err);
        CHECK(rc == 0, "%s", err.msg);
        CHECK(first == out->frames, "batch starts at frame %lld, want %lld", (long long)first,
              (long long)out->frames);
        out->frames += BATCH;
    }
}

/* Global step of row r of frame i's chunk, -1 for rows the exact test skips. */
static int64_t comparable_step(const ls_whisper *w, const offline *off, int64_t i, int r)
{
    int64_t g = ls_features_first_step(w->version, i, LS_STREAM_FPS) + r;
    int64_t in_window = g % w->n_ctx;
    if (g < 0 || g >= off->T - 2 || in_window <= 1 || in_window == w->n_ctx - 1)
        return -1;
    return g;
}

/* State 0: stream vs offline at a step shift. */
static void compare_embeddings(const char *label, const ls_whisper *w, const offline *off,
                               const streamed *st, int shift,
                               double tolerance)
{
    int S = ls_whisper_n_states(w), C = w->n_state;
    int64_t tokens = (int64_t)LS_CHUNK_STEPS * S;
    int64_t frames = off->frames < st->frames ? off->frames : st->frames;
    float *got = malloc((size_t)frames * LS_CHUNK_STEPS * C * sizeof *got);
    float *want = malloc((size_t)frames * LS_CHUNK_STEPS * C * sizeof *want);
    int64_t n = 0;
    for (int64_t i = 0; i < frames; i++) {
        for (int r = 0; r < LS_CHUNK_STEPS; r++) {
            int64_t g = comparable_step(w, off, i, r);
            int64_t o = g + shift;
            if (g < 0 || o < 0 || o >= off->T)
                continue;
            const float *s_row = st->chunks + (i * tokens + (int64_t)r * S) * C;
            const float *o_row = off->states + o * S * C;
            memcpy(got + n * C, s_row, (size_t)C * sizeof *got);
            memcpy(want + n * C, o_row, (size_t)C * sizeof *want);
            n++;
        }
    }
    char what[128];
    snprintf(what, sizeof what, "%s block input, shift %+d", label, shift);
    if (tolerance > 0) {
        check_close(what, got, want, n * C, tolerance, 0);
    } else {   /* printed only: how far a misaligned chunk would be */
        double max_abs = 0;
        for (int64_t k = 0; k < n * C; k++)
            max_abs = fmax(max_abs, fabs(got[k] - want[k]));
        printf("%-40s max_abs=%.3g (misaligned: must be large)\n", what, max_abs);
        CHECK(max_abs > 100 * EXACT_TOL, "%s: a shifted chunk matches", what);
    }
    free(got);
    free(want);
}

static double sq_dist(const float *a, const float *b, int64_t n)
{
    double d = 0;
    for (int64_t k = 0; k < n; k++)
        d += ((double)a[k] - b[k]) * ((double)a[k] - b[k]);
    return d;
}

/* Transformer states: RMS difference per state, and nearest offline frame. */
static void compare_layers(const char *label, const ls_whisper *w, const offline *off,
                           const streamed *st)
{
    int S = ls_whisper_n_states(w), C = w->n_state;
    int64_t tokens = (int64_t)LS_CHUNK_STEPS * S, size = tokens * C;
    int64_t frames = off->frames < st->frames ? off->frames : st->frames;
    float *want = malloc((size_t)frames * size * sizeof *want);
    for (int64_t i = 0; i < frames; i++)
        ls_features_chunk(w->version, off->states, off->T, S, C, i, LS_STREAM_FPS, want + i * size);
    for (int s = 1; s < S; s++) {
        double diff = 0, ref = 0;
        for (int64_t i = 2; i < frames - 2; i++)
            for (int r = 0; r < LS_CHUNK_STEPS; r++) {
                const float *a = st->chunks + i * size + ((int64_t)r * S + s) * C;
                const float *b = want + i * size + ((int64_t)r * S + s) * C;
                diff += sq_dist(a, b, C);
                for (int c = 0; c < C; c++)
                    ref += (double)b[c] * b[c];
            }
        printf("%-40s state %d: relative RMS difference %.3f\n", label, s, sqrt(diff / ref));
    }
    int64_t nearest_own = 0, interior = 0;
    for (int64_t i = 2; i < frames - 2; i++, interior++) {
        const float *got = st->chunks + i * size;
        double own = sq_dist(got, want + i * size, size);
        nearest_own += own < sq_dist(got, want + (i - 1) * size, size) &&
                       own < sq_dist(got, want + (i + 1) * size, size);
    }
    printf("%-40s nearest offline chunk is its own frame's: %lld of %lld\n", label,
           (long long)nearest_own, (long long)interior);
    CHECK(nearest_own == interior, "%s: %lld of %lld chunks nearest to their own frame", label,
          (long long)nearest_own, (long long)interior);
    free(want);
}

/* Frame 0 reaches steps -4 .. -1: v1.0 repeats step 0, v1.5 has zeros. */
static void check_start(const char *label, const ls_whisper *w, const streamed *st)
{
    int S = ls_whisper_n_states(w), C = w->n_state;
    int64_t step_floats = (int64_t)S * C;
    const float *chunk = st->chunks;
    int ok = 1;
    for (int r = 0; r < 4; r++) {
        const float *row = chunk + r * step_floats, *step0 = chunk + 4 * step_floats;
        for (int64_t k = 0; k < step_floats; k++)
            ok &= w->version == LS_MUSETALK_V15 ? row[k] == 0.0f : row[k] == step0[k];
    }
    CHECK(ok, "%s: frame 0's steps before the stream break the %s edge rule", label,
          ls_musetalk_version_name(w->version));
}

static void run_case(ls_musetalk_version version, ls_stream_window window, const ls_audio *a,
                     nn_ctx *ctx)
{
    char path[4096], label[64];
    ls_error err = { 0 };
    snprintf(path, sizeof path, "%s/small", ref_dir);
    snprintf(label, sizeof label, "%s %s", ls_musetalk_version_name(version),
             window == LS_STREAM_WINDOW_FULL ? "full" : "short");
    ls_whisper *w = NULL;
    ls_stream_features *s = NULL;
    offline off = { 0 };
    streamed st = { 0 };
    if (ls_whisper_load(path, version, &w, &err) != 0 ||
        ls_whisper_states(w, ctx, a->samples, a->n, &off.states, &off.T, &err) != 0 ||
        ls_stream_features_new(w, BATCH, window, &s, &err) != 0) {
        CHECK(0, "%s: %s", label, err.msg);
        goto done;
    }
    off.frames = ls_features_frame_count(version, off.T, a->n, LS_STREAM_FPS);
    stream_audio(s, ctx, a, off.frames, &st);

    int64_t wrong = 0;
    for (int64_t i = 0; i < st.frames; i++)
        wrong += st.first_steps[i] != ls_features_first_step(version, i, LS_STREAM_FPS);
    CHECK(wrong == 0, "%s: %lld chunks start at another step than offline", label, (long long)wrong);
    printf("%-40s %lld frames (offline %lld), first steps equal: %s\n", label,
           (long long)st.frames, (long long)off.frames, wrong ? "no" : "yes");
    compare_embeddings(label, w, &off, &st, 0, EXACT_TOL);
    compare_embeddings(label, w, &off, &st, 1, 0);
    compare_embeddings(label, w, &off, &st, -1, 0);
    compare_layers(label, w, &off, &st);
    check_start(label, w, &st);
done:
    free(st.chunks);
    free(st.first_steps);
    free(off.states);
    ls_stream_features_free(s);
    ls_whisper_free(w);
}

/* Uniform white noise of RMS NOISE_RMS from a fixed-seed generator. */
static void add_noise(ls_audio *a)
{
    uint32_t state = 12345;
    for (int64_t k = 0; k < a->n; k++) {
        state = state * 1664525u + 1013904223u;
        double u = (state >> 8) / 16777216.0 * 2 - 1;   /* [-1, 1) */
        a->samples[k] += (float)(u * NOISE_RMS * sqrt(3.0));
    }
}

static void check_bad_batch(void)
{
    char path[4096];
    ls_error err = { 0 };
    snprintf(path, sizeof path, "%s/small", ref_dir);
    ls_whisper *w = NULL;
    ls_stream_features *s = NULL;
    if (ls_whisper_load(path, LS_MUSETALK_AUTO, &w, &err) != 0) {
        CHECK(0, "%s", err.msg);
        return;
    }
    /* n_ctx 150 holds 2B + 20 <= 150 frames: B = 65 fits, 66 does not */
    CHECK(ls_stream_features_new(w, 66, LS_STREAM_WINDOW_FULL, &s, &err) == -1 && !s,
          "an oversized batch is refused");
    CHECK(strstr(err.msg, "1 .. 65") != NULL, "message: %s", err.msg);
    CHECK(ls_stream_features_new(w, 0, LS_STREAM_WINDOW_SHORT, &s, &err) == -1, "batch 0 refused");
    CHECK(ls_stream_features_new(w, 65, LS_STREAM_WINDOW_SHORT, &s, &err) == 0, "%s", err.msg);
    ls_stream_features_free(s);
    ls_whisper_free(w);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_stream_features WHISPER_REF_DIR\n");
        return 2;
    }
    ref_dir = argv[1];
    nn_set_threads(2);
    char path[4096];
    ls_error err = { 0 };
    ls_audio a = { 0 };
    snprintf(path, sizeof path, "%s/speech_7s.wav", ref_dir);
    nn_ctx *ctx = nn_ctx_new(nn_backend_cpu());
    if (ls_audio_load_16k(path, &a, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    add_noise(&a);
    const ls_musetalk_version versions[] = { LS_MUSETALK_V1, LS_MUSETALK_V15 };
    const ls_stream_window windows[] = { LS_STREAM_WINDOW_FULL, LS_STREAM_WINDOW_SHORT };
    for (int v = 0; v < 2; v++)
        for (int k = 0; k < 2; k++)
            run_case(versions[v], windows[k], &a, ctx);
    check_bad_batch();
    ls_audio_free(&a);
    nn_ctx_free(ctx);
    return check_result("test_stream_features");
}
