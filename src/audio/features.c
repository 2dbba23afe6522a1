/*
 * features.c - chunk slicing and positional encoding (see features.h).
 */
#include "audio/features.h"

#include <math.h>
#include <string.h>

#include "audio/logmel.h"

#define CHUNK_LEFT 4   /* steps before the centre step (2 * audio_padding_length_left) */

const char *ls_musetalk_version_name(ls_musetalk_version v)
{
    return v == LS_MUSETALK_V1 ? "v1" : v == LS_MUSETALK_V15 ? "v15" : "auto";
}

int ls_musetalk_version_parse(const char *name, ls_musetalk_version *out)
{
    if (!name)
        *out = LS_MUSETALK_AUTO;
    else if (strcmp(name, "v1") == 0)
        *out = LS_MUSETALK_V1;
    else if (strcmp(name, "v15") == 0)
        *out = LS_MUSETALK_V15;
    else
        return -1;
    return 0;
}

int64_t ls_features_frame_count(ls_musetalk_version v, int64_t T, int64_t samples, int fps)
{
    if (v == LS_MUSETALK_V15)
        return (int64_t)floor((double)samples / LS_MEL_SAMPLE_RATE * fps);
    /* frames i while floor(i * 50 / fps) < T, i.e. i * 50 < T * fps */
    return (T * fps + LS_WHISPER_STEPS_PER_SECOND - 1) / LS_WHISPER_STEPS_PER_SECOND;
}

int64_t ls_features_first_step(ls_musetalk_version v, int64_t frame, int fps)
{
    if (v == LS_MUSETALK_V15) {
        double multiplier = (double)LS_WHISPER_STEPS_PER_SECOND / fps;
        int64_t front_pad = 2 * (int64_t)ceil(multiplier);
        return (int64_t)floor(frame * multiplier) - front_pad;
    }
    return frame * LS_WHISPER_STEPS_PER_SECOND / fps - CHUNK_LEFT;
}

void ls_features_gather(ls_musetalk_version v, const float *states, int64_t T, int S, int C,
                        int64_t first, float *out)
{
    size_t step_floats = (size_t)S * C;
    for (int64_t j = 0; j < LS_CHUNK_STEPS; j++) {
        int64_t step = first + j;
        float *dst = out + j * step_floats;
        if (step >= 0 && step < T)
            memcpy(dst, states + step * step_floats, step_floats * sizeof *dst);
        else if (v == LS_MUSETALK_V15)
            memset(dst, 0, step_floats * sizeof *dst);
        else
            memcpy(dst, states + (step < 0 ? 0 : T - 1) * step_floats, step_floats * sizeof *dst);
    }
}

void ls_features_chunk(ls_musetalk_version v, const float *states, int64_t T, int S, int C,
                       int64_t frame, int fps, float *out)
{
    ls_features_gather(v, states, T, S, C, ls_features_first_step(v, frame, fps), out);
}

void ls_positional_encoding(int64_t positions, int d_model, float *pe)
{
    for (int k = 0; 2 * k < d_model; k++) {
        double rate = exp(-2.0 * k * log(10000.0) / d_model);
        for (int64_t p = 0; p < positions; p++) {
            pe[p * d_model + 2 * k] = (float)sin(p * rate);
            if (2 * k + 1 < d_model)
                pe[p * d_model + 2 * k + 1] = (float)cos(p * rate);
        }
    }
}

void ls_add_positional_encoding(float *x, int64_t count, int64_t tokens, int d_model,
                                const float *pe)
{
    int64_t size = tokens * d_model;
    for (int64_t n = 0; n < count; n++)
        for (int64_t i = 0; i < size; i++)
            x[n * size + i] += pe[i];
}
