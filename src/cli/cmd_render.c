/*
 * cmd_render.c - `lipstream render`: an avatar speaking an audio file or a
 * text, written to an MP4 file (H.264 + AAC).
 *
 * The live engine (live/lipsync.h) runs as fast as the machine allows rather
 * than in real time, with the lag policy "wait", so the file is what a live
 * session would have streamed: the audio in 20 ms frames (digital silence,
 * peak below -66 dBFS, typed as silence: the idle avatar shows there, as it
 * does between utterances live), whisper features in batches, inference on
 * a shared worker, paste-back, and each video frame written with its audio.
 * The file has ceil(samples / 640) frames at 25 fps, the audio zero-padded
 * to match. --text speaks through espeak-ng (speech/espeak_tts.h) first.
 * With --model none nothing is inferred: idle frames (and action clips).
 * --frame_log FILE writes a record of each frame (live/frame_log.h), one
 * JSON object a line, to compare with the frames a live session recorded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audio/audio_load.h"
#include "audio/resample.h"
#include "avatar/progress.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "live/frame_log.h"
#include "nn/device.h"
#include "live/lipsync.h"
#include "live/live_models.h"
#include "media/mp4_writer.h"
#include "models/model_files.h"
#include "speech/espeak_tts.h"

#define USAGE "lipstream render --avatar DIR (--audio FILE | --text TEXT) --out OUT.mp4 [options]"
#define SILENCE_PEAK 16   /* of 32768: -66 dBFS */
#define MAX_IN_FLIGHT 2

typedef struct render_options {
    const char *avatar, *audio, *text, *tts, *voice, *out, *weights_dir, *version_name, *model;
    const char *customvideo_config, *window_name, *frame_log, *device, *precision;
    int batch_size, threads, transition_ms;
    ls_musetalk_version version;   /* parsed from version_name */
    ls_stream_window window;       /* parsed from window_name */
} render_options;

typedef struct speech {
    int16_t *samples;   /* 16 kHz mono */
    int64_t n;
} speech;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* --- the speech ------------------------------------------------------------ */

static int to_int16(const float *x, int64_t n, speech *out, ls_error *err)
{
    out->samples = malloc((size_t)(n > 0 ? n : 1) * sizeof *out->samples);
    if (!out->samples)
        return ls_error_set(err, "out of memory for %lld samples", (long long)n);
    for (int64_t i = 0; i < n; i++) {
        float v = x[i] * 32768.0f;
        out->samples[i] = (int16_t)(v > 32767.0f ? 32767 : v < -32768.0f ? -32768 : v);
    }
    out->n = n;
    return 0;
}

typedef struct tts_buffer {
    float *x;
    int64_t n, cap;
} tts_buffer;

static int collect(void *user, const int16_t *samples, int n)
{
    tts_buffer *b = user;
    if (b->n + n > b->cap) {
        int64_t cap = (b->n + n) * 2;
        float *x = realloc(b->x, (size_t)cap * sizeof *x);
        if (!x)
            return 1;
        b->x = x;
        b->cap = cap;
    }
    for (int i = 0; i < n; i++)
        b->x[b->n++] = samples[i] / 32768.0f;
    return 0;
}

static int synthesize(const render_options *o, speech *out, ls_error *err)
{
    if (o->tts && strcmp(o->tts, "espeak") != 0)
        return ls_error_set(err, "--tts %s: only espeak is built in", o->tts);
    ls_tts_engine *e;
    if (ls_espeak_new(o->voice, &e, err) != 0)
        return -1;
    tts_buffer b = { 0 };
    float *x = NULL;
    int64_t n = 0;
    int rc = e->synthesize(e, o->text, NULL, collect, &b, err);
    if (rc == 0 && b.n == 0)
        rc = ls_error_set(err, "espeak-ng made no audio for the text");
    if (rc == 0)
        rc = ls_resample(b.x, b.n, e->rate, LS_AUDIO_RATE, &x, &n, err);
    if (rc == 0)
        rc = to_int16(x, n, out, err);
    e->free(e);
    free(b.x);
    free(x);
    return rc;
}

static int load_speech(const render_options *o, speech *out, ls_error *err)
{
    if (o->text)
        return synthesize(o, out, err);
    ls_audio a = { 0 };
    if (ls_audio_load_16k(o->audio, &a, err) != 0)
        return -1;
    int rc = a.n > 0 ? to_int16(a.samples, a.n, out, err) : ls_error_set(err, "%s: no audio", o->audio);
    ls_audio_free(&a);
    return rc;
}

/* --- rendering ---------------------------------------------------------------- */

static int silent(const int16_t *x, int n)
{
    for (int i = 0; i < n; i++)
        if (x[i] > SILENCE_PEAK || x[i] < -SILENCE_PEAK)
            return 0;
    return 1;
}

typedef struct render_run {
    ls_lipsync *engine;
    ls_mp4_writer *mp4;
    FILE *frame_log;   /* --frame_log, or NULL */
    const char *frame_log_path;
    ls_progress progress;
    int64_t total, written;
} render_run;

static int write_frame(render_run *r, const ls_lipsync_frame *f, ls_error *err)
{
    if (f->n >= r->total)   /* the silence that flushed the last batch */
        return 0;
    if (ls_mp4_writer_write(r->mp4, f->image, f->audio, err) != 0)
        return -1;
    if (r->frame_log) {
        ls_frame_record record;
        char json[LS_FRAME_RECORD_JSON_MAX];
        ls_frame_record_of(f, &record);
        ls_frame_record_json(&record, json);
        if (fprintf(r->frame_log, "%s\n", json) < 0)
            return ls_error_set(err, "%s: cannot write", r->frame_log_path);
    }
    r->written++;
    ls_progress_step(&r->progress);
    return 0;
}

/* Pushes the speech then silence, writing frames as they come out. */
static int render_frames(render_run *r, const speech *sp, ls_error *err)
{
    ls_lipsync_frame f;
    int16_t frame[LS_STREAM_FRAME];
    for (int64_t k = 0; r->written < r->total;) {
        int64_t start = k * LS_STREAM_FRAME;
        for (int i = 0; i < LS_STREAM_FRAME; i++)
            frame[i] = start + i < sp->n ? sp->samples[start + i] : 0;
        int type = silent(frame, LS_STREAM_FRAME) ? LS_AUDIOTYPE_SILENCE : LS_AUDIOTYPE_SPEECH;
        int rc = ls_lipsync_push(r->engine, frame, type, NULL, err);
        if (rc < 0)
            return -1;
        if (rc == 1) {   /* full: wait for the oldest frame, then push again */
            int got = ls_lipsync_pop(r->engine, 1, &f, err);
            if (got < 0 || (got == 1 && write_frame(r, &f, err) != 0))
                return -1;
            if (got == 0)
                return ls_error_set(err, "render: the engine is full with nothing to show");
            continue;
        }
        k++;
        while ((rc = ls_lipsync_pop(r->engine, 0, &f, err)) == 1)
            if (write_frame(r, &f, err) != 0)
                return -1;
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int parse_window(const char *name, ls_stream_window *out)
{
    if (!name || strcmp(name, "full") == 0)
        *out = LS_STREAM_WINDOW_FULL;
    else if (strcmp(name, "short") == 0)
        *out = LS_STREAM_WINDOW_SHORT;
    else
        return -1;
    return 0;
}

/* Loads everything, renders, reports. */
static int run(const render_options *o, ls_error *err)
{
    int lipsync = strcmp(o->model, "none") != 0;
    ls_avatar *avatar = NULL;
    ls_action_clips *clips = NULL;
    ls_live_models models = { 0 };
    speech sp = { 0 };
    render_run r = { 0 };
    int rc = -1;
    double start = now_s();
    if (ls_avatar_load(o->avatar, &avatar, err) != 0 || load_speech(o, &sp, err) != 0 ||
        (o->customvideo_config &&
         ls_action_clips_load(o->customvideo_config, avatar->width, avatar->height, &clips, err)) ||
        (lipsync &&
         (ls_live_models_load(o->weights_dir, o->version, o->batch_size, 0, &models, err) != 0 ||
          ls_live_models_prepare_avatar(&models, avatar, err) != 0)))
        goto done;
    ls_lipsync_config cf = { .avatar = avatar, .clips = clips, .whisper = models.whisper,
                             .worker = models.worker, .batch_size = o->batch_size,
                             .max_in_flight = MAX_IN_FLIGHT, .window = o->window,
                             .transition_ms = o->transition_ms, .lag_policy = LS_LAG_WAIT };
    r.total = (sp.n + LS_LIPSYNC_AUDIO - 1) / LS_LIPSYNC_AUDIO;
    if (ls_lipsync_new(&cf, &r.engine, err) != 0 ||
        ls_mp4_writer_open(o->out, avatar->width, avatar->height, &r.mp4, err) != 0)
        goto done;
    r.frame_log_path = o->frame_log;
    if (o->frame_log && !(r.frame_log = fopen(o->frame_log, "w"))) {
        ls_error_set(err, "%s: cannot create", o->frame_log);
        goto done;
    }
    double loaded = now_s();
    ls_progress_start(&r.progress, "render", (int)r.total);
    rc = render_frames(&r, &sp, err);
    ls_progress_end(&r.progress);
    if (ls_mp4_writer_close(r.mp4, rc == 0 ? err : NULL) != 0)
        rc = -1;
    r.mp4 = NULL;
    if (rc == 0) {
        double took = now_s() - loaded;
        ls_lipsync_stats st;
        ls_lipsync_stats_get(r.engine, &st);
        fprintf(stderr, "render: %s, %lld frames (%.2f s), %lld lip-synced, in %.1f s "
                "(%.2f frames/s; loading %.1f s)\n", o->out, (long long)r.written,
                r.written / (double)LS_STREAM_FPS, (long long)st.lipsynced, took,
                took > 0 ? r.written / took : 0.0, loaded - start);
        if (models.worker) {
            ls_infer_stats ws;
            ls_infer_worker_stats(models.worker, &ws);
            fprintf(stderr, "render: %lld render calls, %lld of them holding frames of several batches\n",
                    (long long)ws.batches, (long long)ws.multi_job);
        }
    }
    if (r.frame_log && fclose(r.frame_log) != 0 && rc == 0)
        rc = ls_error_set(err, "%s: cannot write", o->frame_log);
    r.frame_log = NULL;
done:
    if (r.frame_log)
        fclose(r.frame_log);
    ls_mp4_writer_close(r.mp4, NULL);
    ls_lipsync_free(r.engine);
    ls_live_models_free(&models);
    ls_action_clips_free(clips);
    ls_avatar_free(avatar);
    free(sp.samples);
    return rc;
}

int ls_cmd_render(int argc, char **argv)
{
    render_options o = { .weights_dir = "models", .model = "musetalk", .batch_size = 8 };
    const ls_arg spec[] = {
        { "avatar", LS_ARG_STRING, &o.avatar, "avatar folder (lipstream or LiveTalking layout)" },
        { "audio", LS_ARG_STRING, &o.audio, "speech to lip-sync: a WAV file (any rate, channels)" },
        { "text", LS_ARG_STRING, &o.text, "or a text to speak" },
        { "tts", LS_ARG_STRING, &o.tts, "speech engine for --text: espeak (default)" },
        { "voice", LS_ARG_STRING, &o.voice, "espeak-ng voice (default: by the text's script)" },
        { "out", LS_ARG_STRING, &o.out, "output MP4 file" },
        { "weights_dir", LS_ARG_STRING, &o.weights_dir, "model weights folder (default models)" },
        { "version", LS_ARG_STRING, &o.version_name,
          "MuseTalk v1 | v15 (default: v15 when present)" },
        { "model", LS_ARG_STRING, &o.model, "musetalk (default) | none (no lip sync)" },
        { "batch_size", LS_ARG_INT, &o.batch_size, "video frames per inference batch (default 8)" },
        { "threads", LS_ARG_INT, &o.threads, "CPU threads (default: all cores)" },
        { "device", LS_ARG_STRING, &o.device, NN_DEVICE_HELP },
        { "precision", LS_ARG_STRING, &o.precision, NN_PRECISION_HELP },
        { "customvideo_config", LS_ARG_STRING, &o.customvideo_config, "action clips (JSON list)" },
        { "transition_ms", LS_ARG_INT, &o.transition_ms, "speaking <-> idle cross-fade (default 0)" },
        { "whisper_window", LS_ARG_STRING, &o.window_name,
          "full (default, as upstream) | short (encoder on the context window only)" },
        { "frame_log", LS_ARG_STRING, &o.frame_log,
          "also write each frame's record (hashes of picture and audio) to this file" },
    };
    int nspec = (int)(sizeof spec / sizeof spec[0]);
    if (ls_args_wants_help(argc, argv)) {
        ls_args_usage(stdout, USAGE, spec, nspec);
        return 0;
    }
    ls_error err = { 0 };
    if (ls_args_parse(argc, argv, spec, nspec, NULL, &err) != 0) {
        fprintf(stderr, "lipstream render: %s\n", err.msg);
        return 2;
    }
    if (!o.avatar || !o.out || !o.audio == !o.text || o.batch_size < 1 || o.threads < 0 ||
        o.transition_ms < 0 || ls_musetalk_version_parse(o.version_name, &o.version) != 0 ||
        parse_window(o.window_name, &o.window) != 0 ||
        (strcmp(o.model, "musetalk") != 0 && strcmp(o.model, "none") != 0)) {
        ls_args_usage(stderr, USAGE, spec, nspec);
        return 2;
    }
    nn_set_threads(o.threads);
    if (nn_set_device(o.device, o.precision, &err) != 0) {
        fprintf(stderr, "lipstream render: %s\n", err.msg);
        return 2;
    }
    if (run(&o, &err) != 0) {
        fprintf(stderr, "lipstream render: %s\n", err.msg);
        return 1;
    }
    return 0;
}
