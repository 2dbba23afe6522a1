/*
 * whisper.h - the whisper audio encoder and MuseTalk's stacked hidden states.
 *
 * A whisper encoder is conv1 (k3 p1) + GELU, conv2 (k3 stride 2 p1) + GELU,
 * + positional embedding, then n_layer pre-LayerNorm transformer blocks. It
 * turns a log-mel window of up to 2 * n_ctx frames (100 per second) into
 * n_ctx steps (50 per second) of n_state values. MuseTalk feeds its UNet
 * with the n_layer + 1 "hidden states" of every step: the block input and
 * each block's output, stacked as (T, n_layer + 1, n_state).
 *
 * Two checkpoint formats load (dimensions always come from the file):
 *  - openai (`tiny.pt`): torch zip, root dict {"dims", "model_state_dict"},
 *    fp16 tensors "encoder.*";
 *  - Hugging Face: a folder with config.json and model.safetensors or
 *    pytorch_model.bin (safetensors preferred), or one of those files with
 *    config.json beside it; tensors "model.encoder.*" or "encoder.*".
 * Decoder tensors are ignored.
 *
 * Two feature recipes (MuseTalk versions) exist, independent of the format:
 *  - v1.0: log-mel of the whole clip (one normalisation), cut in windows of
 *    2 * n_ctx frames (the last zero-padded after normalisation); each
 *    window keeps the steps of its real frames; the last state is the last
 *    block's output.
 *  - v1.5: audio cut in pieces of 2 * n_ctx * 160 samples, each zero-padded
 *    before its own log-mel; the last state is the final LayerNorm of the
 *    last block's output; T = floor(seconds * 50).
 * By default an openai checkpoint selects v1.0 and a Hugging Face one v1.5
 * (ls_musetalk_version, audio/features.h).
 *
 * The loaded model is read-only: any number of threads may run it at once,
 * each with its own nn_ctx.
 */
#ifndef LS_MODELS_WHISPER_H
#define LS_MODELS_WHISPER_H

#include <stdint.h>

#include "audio/features.h"
#include "audio/logmel.h"
#include "io/weights.h"
#include "models/layers.h"
#include "nn/nn.h"
#include "util/error.h"

typedef struct ls_whisper_block {
    nn_tensor attn_ln_w, attn_ln_b;    /* (n_state) */
    nn_tensor query_w, query_b;        /* (n_state, n_state), (n_state) */
    nn_tensor key_w;                   /* (n_state, n_state), no bias */
    nn_tensor value_w, value_b;        /* (n_state, n_state), (n_state) */
    nn_tensor out_w, out_b;            /* (n_state, n_state), (n_state) */
    nn_tensor mlp_ln_w, mlp_ln_b;      /* (n_state) */
    nn_tensor fc1_w, fc1_b;            /* (n_mlp, n_state), (n_mlp) */
    nn_tensor fc2_w, fc2_b;            /* (n_state, n_mlp), (n_state) */
} ls_whisper_block;

typedef struct ls_whisper {
    ls_musetalk_version version;
    int n_mels, n_ctx, n_state, n_head, n_layer, n_mlp;

    nn_tensor conv1_w, conv1_b;        /* (n_state, n_mels, 3), (n_state) */
    nn_tensor conv2_w, conv2_b;        /* (n_state, n_state, 3), (n_state) */
    nn_tensor positions;               /* (n_ctx, n_state) */
    ls_whisper_block *blocks;          /* n_layer of them */
    nn_tensor final_ln_w, final_ln_b;  /* (n_state): openai ln_post, HF layer_norm */

    ls_weights *store;                 /* owns the tensor data */
    ls_placement placed;               /* the tensors' copy on a GPU, when placed */
    ls_logmel *logmel;                 /* the front end for n_mels bands */
} ls_whisper;

/* Loads a checkpoint (see above); `version` LS_MUSETALK_AUTO picks the
 * format's default. */
int ls_whisper_load(const char *path, ls_musetalk_version version, ls_whisper **out,
                    ls_error *err);
void ls_whisper_free(ls_whisper *w);

ls_musetalk_version ls_whisper_version(const ls_whisper *w);

/* Moves the tensors onto backend `be` once (see ls_placement_run in
 * models/layers.h); contexts running the encoder must then be on `be`. */
int ls_whisper_place(ls_whisper *w, const nn_backend *be, ls_error *err);
const nn_backend *ls_whisper_backend(const ls_whisper *w);

/* Hidden states stacked per step: n_layer + 1. */
static inline int ls_whisper_n_states(const ls_whisper *w)
{
    return w->n_layer + 1;
}

/* Runs the encoder on one log-mel window mel (n_mels, frames) in host
 * memory, frames <= 2 * n_ctx, giving ceil(frames / 2) steps, and writes the
 * stacked hidden states of the first `keep` steps to states
 * (keep, n_layer + 1, n_state) in host memory. Step j gets the positional
 * embedding row (first_position + j) mod n_ctx: 0 as whisper does, another
 * start for a window cut out of a longer stream (live/stream_features.h).
 * The window is used as given: pad it to 2 * n_ctx frames first to
 * reproduce upstream. -1 only when out of memory. */
int ls_whisper_encode(const ls_whisper *w, nn_ctx *c, const float *mel, int64_t frames,
                      int64_t keep, int64_t first_position, float *states, ls_error *err);

/* Steps T that n samples of 16 kHz audio give by the model's recipe. */
int64_t ls_whisper_steps(const ls_whisper *w, int64_t n);

/* The stacked hidden states of 16 kHz audio by the model's recipe:
 * *states (T, n_layer + 1, n_state) malloc'd. */
int ls_whisper_states(const ls_whisper *w, nn_ctx *c, const float *samples, int64_t n,
                      float **states, int64_t *T, ls_error *err);

#endif
