/*
 * features.h - per-video-frame audio chunks from whisper hidden states, and
 * the positional encoding added to them before the UNet.
 *
 * States are (T, S, C): T steps at 50 per second, S stacked hidden states
 * (n_layer + 1 = 5 for whisper-tiny), C channels (384). The chunk of video
 * frame i is 10 consecutive steps around step floor(i * 50 / fps), flattened
 * to (10 * S, C) with token index step * S + state. The MuseTalk versions
 * differ at the edges:
 *  - v1.0: steps c-4 .. c+5 with c = floor(i * 50 / fps), clamped into
 *    [0, T-1] (edges repeat); frames while c < T.
 *  - v1.5: the states get 2 * ceil(50 / fps) zero steps in front (4 at 25
 *    fps) and frame i takes the 10 steps from floor(i * (50 / fps)) of that
 *    padded array (steps c-4 .. c+5 at 25 fps, zeros outside the audio);
 *    floor(samples / 16000 * fps) frames.
 * fps is a whole number of frames per second, as upstream (v1.5 truncates it).
 *
 * PositionalEncoding: pe[p, 2k] = sin(p * exp(-2k ln(10000) / d)),
 * pe[p, 2k+1] = cos(same), for token positions p of a chunk.
 */
#ifndef LS_AUDIO_FEATURES_H
#define LS_AUDIO_FEATURES_H

#include <stdint.h>

/* Whisper encoder steps per second: 16000 Hz / (160 hop * 2, conv2's stride). */
#define LS_WHISPER_STEPS_PER_SECOND 50
#define LS_CHUNK_STEPS 10   /* 2 * (2 left + 2 right + 1) steps per video frame */

/* The feature recipe: MuseTalk v1.0 or v1.5 (models/whisper.h). */
typedef enum ls_musetalk_version {
    LS_MUSETALK_AUTO = 0,   /* chosen by the checkpoint format */
    LS_MUSETALK_V1,
    LS_MUSETALK_V15,
} ls_musetalk_version;

/* "v1" / "v15" / "auto" */
const char *ls_musetalk_version_name(ls_musetalk_version v);
/* The inverse, for --version: "v1" or "v15", NULL for auto; -1 for anything else. */
int ls_musetalk_version_parse(const char *name, ls_musetalk_version *out);

/* Video frames the features of `samples` 16 kHz samples (T steps) give. */
int64_t ls_features_frame_count(ls_musetalk_version v, int64_t T, int64_t samples, int fps);

/* First step (may be negative) of frame i's chunk. */
int64_t ls_features_first_step(ls_musetalk_version v, int64_t frame, int fps);

/* Gathers steps first .. first + 9 of states (T, S, C) into out (10 * S, C);
 * steps outside [0, T) are the nearest edge step (v1.0) or zeros (v1.5). */
void ls_features_gather(ls_musetalk_version v, const float *states, int64_t T, int S, int C,
                        int64_t first, float *out);

/* The chunk of video frame i: ls_features_gather at ls_features_first_step. */
void ls_features_chunk(ls_musetalk_version v, const float *states, int64_t T, int S, int C,
                       int64_t frame, int fps, float *out);

/* pe (positions, d_model). */
void ls_positional_encoding(int64_t positions, int d_model, float *pe);

/* x (count, tokens, d_model) += pe (tokens, d_model) for every leading index. */
void ls_add_positional_encoding(float *x, int64_t count, int64_t tokens, int d_model,
                                const float *pe);

#endif
