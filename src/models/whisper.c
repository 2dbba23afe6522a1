/*
 * whisper.c - the whisper encoder forward pass and the two MuseTalk feature
 * recipes built on it (see whisper.h).
 *
 * The forward pass keeps one (1, steps, n_state) residual stream x and
 * updates it in place; after the embeddings and after every block, the
 * first `keep` rows of a state are copied to the host and scattered into
 * the (keep, n_layer + 1, n_state) output.
 */
#include "models/whisper.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LAYER_NORM_EPS 1e-5f

_Static_assert(LS_WHISPER_STEPS_PER_SECOND * 2 * LS_MEL_HOP == LS_MEL_SAMPLE_RATE,
               "encoder steps: one per two mel frames");

/* --- placement --- */

static void walk_whisper(void *model, ls_placement *p)
{
    ls_whisper *w = model;
    nn_tensor *top[] = { &w->conv1_w, &w->conv1_b, &w->conv2_w, &w->conv2_b, &w->positions,
                         &w->final_ln_w, &w->final_ln_b };
    for (size_t i = 0; i < sizeof top / sizeof top[0]; i++)
        ls_place(p, top[i]);
    for (int l = 0; l < w->n_layer; l++) {
        ls_whisper_block *b = &w->blocks[l];
        nn_tensor *t[] = { &b->attn_ln_w, &b->attn_ln_b, &b->query_w, &b->query_b, &b->key_w,
                           &b->value_w, &b->value_b, &b->out_w, &b->out_b, &b->mlp_ln_w,
                           &b->mlp_ln_b, &b->fc1_w, &b->fc1_b, &b->fc2_w, &b->fc2_b };
        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
            ls_place(p, t[i]);
    }
}

int ls_whisper_place(ls_whisper *w, const nn_backend *be, ls_error *err)
{
    return ls_placement_run(&w->placed, be, walk_whisper, w, err);
}

const nn_backend *ls_whisper_backend(const ls_whisper *w)
{
    return ls_placement_backend(&w->placed);
}

/* --- the encoder --- */

/* Copies rows [0, keep) of state (1, steps, C) into slot `slot` of every
 * step of states (keep, n_states, C). */
static void emit_state(const ls_whisper *w, nn_ctx *c, const nn_tensor *state, int slot,
                       int64_t keep, float *rows, float *states)
{
    int64_t width = w->n_state, stacked = ls_whisper_n_states(w);
    nn_download(c, rows, state->data, keep * width);
    for (int64_t s = 0; s < keep; s++)
        memcpy(states + (s * stacked + slot) * width, rows + s * width,
               (size_t)width * sizeof *rows);
}

/* x (1, steps, C) += positions rows (first + j) mod n_ctx, in at most two
 * runs of consecutive rows (steps <= n_ctx). */
static void add_positions(const ls_whisper *w, nn_ctx *c, nn_tensor *x, int64_t first)
{
    int64_t steps = x->shape[1], width = w->n_state, n_ctx = w->n_ctx;
    int64_t row = (first % n_ctx + n_ctx) % n_ctx;
    for (int64_t done = 0; done < steps;) {
        int64_t run = steps - done < n_ctx - row ? steps - done : n_ctx - row;
        nn_tensor part = nn_view3(nn_at(c->be, x->data, done * width), 1, run, width);
        nn_tensor rows = nn_view3(nn_at(c->be, w->positions.data, row * width), 1, run, width);
        nn_add(c, &part, &rows, &part);
        done += run;
        row = 0;
    }
}

int ls_whisper_encode(const ls_whisper *w, nn_ctx *c, const float *mel, int64_t frames,
                      int64_t keep, int64_t first_position, float *states, ls_error *err)
{
    int64_t width = w->n_state;
    int64_t steps = nn_conv_out(frames, 3, 2, 1, 1);
    NN_CHECK(frames >= 1 && frames <= 2 * (int64_t)w->n_ctx, "whisper: window length");
    NN_CHECK(keep >= 0 && keep <= steps, "whisper: steps kept");
    NN_CHECK(!w->placed.be || w->placed.be == c->be,
             "whisper: context and weights on other backends");
    float *rows = malloc((size_t)(keep > 0 ? keep : 1) * width * sizeof *rows);
    if (!rows)
        return ls_error_set(err, "whisper: out of memory");
    nn_arena_mark mark = nn_arena_get_mark(c->arena);

    // --- embeddings: x = gelu(conv2(gelu(conv1(mel)))).permute(0, 2, 1) + positions
    nn_tensor input = nn_alloc3(c, 1, w->n_mels, frames);
    nn_upload_spatial(c, &input, mel);
    nn_tensor conv1 = nn_alloc3(c, 1, width, frames);
    nn_conv1d(c, &input, &w->conv1_w, &w->conv1_b, 1, 1, 1, NN_ACT_GELU, &conv1);
    nn_tensor conv2 = nn_alloc3(c, 1, width, steps);
    nn_conv1d(c, &conv1, &w->conv2_w, &w->conv2_b, 2, 1, 1, NN_ACT_GELU, &conv2);
    nn_tensor x = nn_alloc3(c, 1, steps, width);
    nn_spatial_to_tokens(c, &conv2, &x);
    add_positions(w, c, &x, first_position);
    emit_state(w, c, &x, 0, keep, rows, states);

    nn_tensor normed = nn_alloc3(c, 1, steps, width);
    nn_tensor q = nn_alloc3(c, 1, steps, width);
    nn_tensor k = nn_alloc3(c, 1, steps, width);
    nn_tensor v = nn_alloc3(c, 1, steps, width);
    nn_tensor attended = nn_alloc3(c, 1, steps, width);
    nn_tensor hidden = nn_alloc3(c, 1, steps, w->n_mlp);
    for (int l = 0; l < w->n_layer; l++) {
        const ls_whisper_block *b = &w->blocks[l];

        // --- x = x + out(attention(query(h), key(h), value(h))), h = attn_ln(x)
        nn_layer_norm(c, &x, &b->attn_ln_w, &b->attn_ln_b, LAYER_NORM_EPS, &normed);
        nn_linear(c, &normed, &b->query_w, &b->query_b, NULL, &q);
        nn_linear(c, &normed, &b->key_w, NULL, NULL, &k);
        nn_linear(c, &normed, &b->value_w, &b->value_b, NULL, &v);
        nn_attention(c, &q, &k, &v, w->n_head, &attended);
        nn_linear(c, &attended, &b->out_w, &b->out_b, &x, &x);

        // --- x = x + fc2(gelu(fc1(mlp_ln(x))))
        nn_layer_norm(c, &x, &b->mlp_ln_w, &b->mlp_ln_b, LAYER_NORM_EPS, &normed);
        nn_linear(c, &normed, &b->fc1_w, &b->fc1_b, NULL, &hidden);
        nn_activation(c, &hidden, NN_ACT_GELU, &hidden);
        nn_linear(c, &hidden, &b->fc2_w, &b->fc2_b, &x, &x);

        int last = l == w->n_layer - 1;
        if (last && w->version == LS_MUSETALK_V15) {
            // --- v1.5 stacks layer_norm(x) as its last state
            nn_layer_norm(c, &x, &w->final_ln_w, &w->final_ln_b, LAYER_NORM_EPS, &normed);
            emit_state(w, c, &normed, l + 1, keep, rows, states);
        } else {
            emit_state(w, c, &x, l + 1, keep, rows, states);
        }
    }
    nn_arena_release(c->arena, mark);
    free(rows);
    return 0;
}

/* --- step counts --- */

int64_t ls_whisper_steps(const ls_whisper *w, int64_t n)
{
    if (w->version == LS_MUSETALK_V15)   /* as upstream: floor(samples / 16000 * 50) in double */
        return (int64_t)floor((double)n / LS_MEL_SAMPLE_RATE * LS_WHISPER_STEPS_PER_SECOND);
    int64_t frames = ls_logmel_frames(n), window = 2 * (int64_t)w->n_ctx, total = 0;
    for (int64_t seek = 0; seek < frames; seek += window)
        total += (frames - seek < window ? frames - seek : window) / 2;
    return total;
}

/* --- MuseTalk v1.0: whole-clip log-mel, 2 * n_ctx-frame windows --- */

static int states_v1(const ls_whisper *w, nn_ctx *c, const float *samples, int64_t n,
                     float *states, ls_error *err)
{
    int64_t frames = ls_logmel_frames(n), window = 2 * (int64_t)w->n_ctx;
    int64_t stride = (int64_t)ls_whisper_n_states(w) * w->n_state;
    float *mel = malloc((size_t)(w->n_mels * frames) * sizeof *mel);
    float *piece = malloc((size_t)(w->n_mels * window) * sizeof *piece);
    int rc = -1;
    if (!mel || !piece) {
        ls_error_set(err, "whisper: out of memory for %lld mel frames", (long long)frames);
        goto done;
    }
    if (ls_logmel_compute(w->logmel, samples, n, mel, err) != 0)
        goto done;
    int64_t t = 0;
    for (int64_t seek = 0; seek < frames; seek += window) {
        int64_t real = frames - seek < window ? frames - seek : window;
        if (real / 2 == 0)   /* a last lone frame gives no step */
            break;
        for (int b = 0; b < w->n_mels; b++) {
            float *row = piece + (size_t)b * window;
            memcpy(row, mel + (size_t)b * frames + seek, (size_t)real * sizeof *row);
            memset(row + real, 0, (size_t)(window - real) * sizeof *row);
        }
        if (ls_whisper_encode(w, c, piece, window, real / 2, 0, states + t * stride, err) != 0)
            goto done;
        t += real / 2;
    }
    rc = 0;
done:
    free(mel);
    free(piece);
    return rc;
}

/* --- MuseTalk v1.5: 2 * n_ctx * 160-sample pieces, each padded, then log-mel --- */

static int states_v15(const ls_whisper *w, nn_ctx *c, const float *samples, int64_t n,
                      int64_t total, float *states, ls_error *err)
{
    int64_t window = 2 * (int64_t)w->n_ctx, piece_samples = window * LS_MEL_HOP;
    int64_t stride = (int64_t)ls_whisper_n_states(w) * w->n_state;
    float *mel = malloc((size_t)(w->n_mels * window) * sizeof *mel);
    if (!mel)
        return ls_error_set(err, "whisper: out of memory");
    int64_t t = 0;
    for (int64_t start = 0; t < total; start += piece_samples) {
        int64_t real = n - start < piece_samples ? n - start : piece_samples;
        int64_t keep = total - t < w->n_ctx ? total - t : w->n_ctx;
        if (ls_logmel_padded(w->logmel, samples + start, real, piece_samples, mel, err) != 0 ||
            ls_whisper_encode(w, c, mel, window, keep, 0, states + t * stride, err) != 0) {
            free(mel);
            return -1;
        }
        t += keep;
    }
    free(mel);
    return 0;
}

int ls_whisper_states(const ls_whisper *w, nn_ctx *c, const float *samples, int64_t n,
                      float **states, int64_t *T, ls_error *err)
{
    *states = NULL;
    *T = ls_whisper_steps(w, n);
    if (*T <= 0)
        return ls_error_set(err, "whisper: %lld samples are too short for any feature step",
                            (long long)n);
    size_t count = (size_t)*T * ls_whisper_n_states(w) * w->n_state;
    float *out = malloc(count * sizeof *out);
    if (!out)
        return ls_error_set(err, "whisper: out of memory for %lld steps", (long long)*T);
    int rc = w->version == LS_MUSETALK_V15 ? states_v15(w, c, samples, n, *T, out, err)
                                           : states_v1(w, c, samples, n, out, err);
    if (rc != 0) {
        free(out);
        return -1;
    }
    *states = out;
    return 0;
}
