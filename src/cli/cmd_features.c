/*
 * cmd_features.c - `lipstream features`: whisper audio features of a WAV
 * file as .npy, the way MuseTalk computes them offline.
 *
 * Loads the audio as 16 kHz mono, runs the encoder by the model's recipe
 * (models/whisper.h) and writes either the per-video-frame chunks
 * (N, 10 * S, C) = (N, 50, 384) for whisper-tiny, without positional
 * encoding, or with --states the stacked hidden states (T, S, C).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audio/audio_load.h"
#include "audio/features.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "io/npy.h"
#include "models/whisper.h"

#define USAGE "lipstream features --whisper PATH --audio FILE.wav --out OUT.npy [options]"

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Writes the chunks of every video frame; returns the frame count or -1. */
static int64_t write_chunks(const char *path, const ls_whisper *w, const float *states, int64_t T,
                            int64_t samples, int fps, ls_error *err)
{
    int S = ls_whisper_n_states(w), C = w->n_state;
    int64_t frames = ls_features_frame_count(w->version, T, samples, fps);
    size_t chunk_floats = (size_t)LS_CHUNK_STEPS * S * C;
    float *chunks = malloc((frames > 0 ? (size_t)frames : 1) * chunk_floats * sizeof *chunks);
    if (!chunks)
        return ls_error_set(err, "out of memory for %lld chunks", (long long)frames);
    for (int64_t i = 0; i < frames; i++)
        ls_features_chunk(w->version, states, T, S, C, i, fps, chunks + i * chunk_floats);
    nn_tensor t = nn_view3(chunks, frames, (int64_t)LS_CHUNK_STEPS * S, C);
    int rc = ls_npy_write(path, &t, err);
    free(chunks);
    return rc != 0 ? -1 : frames;
}

int ls_cmd_features(int argc, char **argv)
{
    const char *whisper_path = NULL, *audio_path = NULL, *out_path = NULL, *version_name = NULL;
    int fps = 25, threads = 0, states_only = 0;
    const ls_arg spec[] = {
        { "whisper", LS_ARG_STRING, &whisper_path, "openai tiny.pt or Hugging Face folder/file" },
        { "audio", LS_ARG_STRING, &audio_path, "input WAV (any rate and channel count)" },
        { "out", LS_ARG_STRING, &out_path, "output .npy" },
        { "version", LS_ARG_STRING, &version_name, "v1 | v15 (default: by checkpoint format)" },
        { "fps", LS_ARG_INT, &fps, "video frames per second (default 25)" },
        { "threads", LS_ARG_INT, &threads, "CPU threads (default: all cores)" },
        { "states", LS_ARG_FLAG, &states_only, "write the hidden states (T, S, C) instead" },
    };
    int nspec = (int)(sizeof spec / sizeof spec[0]);
    if (ls_args_wants_help(argc, argv)) {
        ls_args_usage(stdout, USAGE, spec, nspec);
        return 0;
    }
    ls_error err = { 0 };
    ls_musetalk_version version;
    if (ls_args_parse(argc, argv, spec, nspec, NULL, &err) != 0) {
        fprintf(stderr, "lipstream features: %s\n", err.msg);
        return 2;
    }
    if (!whisper_path || !audio_path || !out_path || fps <= 0 || threads < 0 ||
        ls_musetalk_version_parse(version_name, &version) != 0) {
        ls_args_usage(stderr, USAGE, spec, nspec);
        return 2;
    }
    nn_set_threads(threads);
    double start = now_seconds();

    ls_audio audio = { 0 };
    ls_whisper *w = NULL;
    nn_ctx *ctx = NULL;
    float *states = NULL;
    int64_t T = 0, frames = 0;
    int status = 1;
    if (ls_audio_load_16k(audio_path, &audio, &err) != 0 ||
        ls_whisper_load(whisper_path, version, &w, &err) != 0)
        goto done;
    ctx = nn_ctx_new(nn_backend_cpu());
    if (!ctx) {
        ls_error_set(&err, "out of memory");
        goto done;
    }
    if (ls_whisper_states(w, ctx, audio.samples, audio.n, &states, &T, &err) != 0)
        goto done;
    if (states_only) {
        nn_tensor t = nn_view3(states, T, ls_whisper_n_states(w), w->n_state);
        if (ls_npy_write(out_path, &t, &err) != 0)
            goto done;
    } else {
        frames = write_chunks(out_path, w, states, T, audio.n, fps, &err);
        if (frames < 0)
            goto done;
    }
    fprintf(stderr, "features: %s, %.2f s of audio, %lld steps",
            ls_musetalk_version_name(w->version), (double)audio.n / LS_AUDIO_RATE, (long long)T);
    if (!states_only)
        fprintf(stderr, ", %lld frames at %d fps", (long long)frames, fps);
    fprintf(stderr, ", %.2f s\n", now_seconds() - start);
    status = 0;
done:
    if (status != 0)
        fprintf(stderr, "lipstream features: %s\n", err.msg);
    free(states);
    nn_ctx_free(ctx);
    ls_whisper_free(w);
    ls_audio_free(&audio);
    return status;
}
