/*
 * test_lipsync.c - the per-session engine end to end on small random models.
 *
 * usage: test_lipsync LOOP_REF_DIR AVATAR_DIR
 *   (tests/ref/loop_ref.py's models/, speech.wav and clips.json; the avatar
 *   made from its frames by `lipstream avatar create`)
 *
 * speech.wav is 0.4 s of digital silence, 0.48 s of speech, 0.4 s of silence;
 * its 20 ms frames are typed silence (1) when all zero, else speech (0), and
 * carry event pointers 1, 2, 3, ... Checks:
 *  - sync: output frame n carries input samples 640n .. 640n + 639 and the
 *    events of audio frames 2n and 2n + 1, for every frame, under every policy;
 *  - pictures (lag policy wait): a silent frame is the avatar frame of the
 *    ping-pong cycle, byte for byte; a speaking frame equals the avatar frame
 *    with the face that ls_musetalk_render makes from that frame's latent and
 *    the chunk an independent ls_stream_features run gives for the frame,
 *    pasted with ls_blend_face: at most 1 grey level apart (the worker
 *    renders several frames per call, the reference one: summation order in
 *    the GEMMs moves a value across a rounding edge at most once), and
 *    identical outside the crop box;
 *  - the worker saw only the batches holding speech, and inferred exactly
 *    their speaking frames;
 *  - lag policy skip, popping every frame as soon as its audio is in: each
 *    speaking frame is either the lip-synced picture above or the plain
 *    avatar frame, at least one is plain, and lipsynced + skipped = speaking;
 *  - back-pressure: pushing without popping ends in "full" with no more than
 *    the engine's bound pending;
 *  - interrupt, in the middle of the speech and when the engine is full of
 *    speech waiting for the worker: every frame popped after it is silent
 *    and the idle avatar frame, the pops do not wait for inference, and the
 *    events still come out in order;
 *  - no models: frames come out as soon as their audio is in, idle pictures;
 *    an action clip replaces silence with its audio and frames, then returns
 *    to idle; interrupt stops it; unknown audiotypes are refused;
 *  - the worker's paste (ls_infer_config.paste, the GPU's path, here on the
 *    CPU): the same pictures byte for byte as pasting in the session, also
 *    with gaps in the speech (batches of frames that are not consecutive);
 *  - set-up errors (an avatar without latents, a whisper without a worker,
 *    a session its device has no memory for) and freeing an engine with
 *    work at the worker;
 *  - every engine with models reserves its whisper activations as measured
 *    by ls_lipsync_measure, as a GPU server does, with the pictures above
 *    unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "audio/audio_load.h"
#include "avatar/avatar_device.h"
#include "avatar/blend.h"
#include "check.h"
#include "live/lipsync.h"

#define B 4
#define IN_FLIGHT 2

static const char *ref_dir;
static ls_avatar *avatar;
static ls_musetalk *model;
static ls_whisper *whisper;
static ls_infer_worker *worker;
static int16_t *audio;        /* padded to whole output frames + a tail of silence */
static int *types;            /* per 20 ms frame */
static int64_t audio_frames;  /* of the file, whole and padded */
static int64_t out_frames;    /* output frames covering the file */
static size_t image_bytes;

typedef struct output {
    int64_t n;
    uint8_t *images;     /* (n, H, W, 3) */
    int16_t *audio;      /* (n, 640) */
    void **events;       /* (n, 2) */
    int *lipsynced;
} output;

static char *ref_path(const char *name)
{
    static char path[2][4096];
    static int next;
    char *p = path[next++ % 2];
    snprintf(p, sizeof path[0], "%s/%s", ref_dir, name);
    return p;
}

static void load_audio(void)
{
    ls_audio a = { 0 };
    ls_error err = { 0 };
    if (ls_audio_load_16k(ref_path("speech.wav"), &a, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    out_frames = (a.n + LS_LIPSYNC_AUDIO - 1) / LS_LIPSYNC_AUDIO;
    audio_frames = 2 * out_frames;
    int64_t total = audio_frames + 64;   /* silence after the file flushes the last batch */
    audio = calloc((size_t)total * LS_STREAM_FRAME, sizeof *audio);
    types = malloc((size_t)total * sizeof *types);
    for (int64_t i = 0; i < a.n; i++)
        audio[i] = (int16_t)(a.samples[i] * 32768.0f);
    for (int64_t k = 0; k < total; k++) {
        int silent = 1;
        for (int i = 0; i < LS_STREAM_FRAME; i++)
            silent &= audio[k * LS_STREAM_FRAME + i] == 0;
        types[k] = silent ? LS_AUDIOTYPE_SILENCE : LS_AUDIOTYPE_SPEECH;
    }
    ls_audio_free(&a);
}

/* A session's whisper activations (ls_lipsync_measure), reserved by the
 * engines with models as a GPU server reserves them. */
static size_t session_bytes;

static int speaking(int64_t n)
{
    return types[2 * n] == LS_AUDIOTYPE_SPEECH || types[2 * n + 1] == LS_AUDIOTYPE_SPEECH;
}

static ls_lipsync *engine_on(ls_infer_worker *w, ls_lag_policy policy, int with_models,
                             const ls_action_clips *clips)
{
    ls_lipsync_config cf = { .avatar = avatar, .clips = clips,
                             .whisper = with_models ? whisper : NULL,
                             .worker = with_models ? w : NULL, .batch_size = B,
                             .max_in_flight = IN_FLIGHT, .window = LS_STREAM_WINDOW_FULL,
                             .lag_policy = policy,
                             .reserve_bytes = with_models ? session_bytes : 0 };
    ls_lipsync *s = NULL;
    ls_error err = { 0 };
    if (ls_lipsync_new(&cf, &s, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    return s;
}

static ls_lipsync *engine(ls_lag_policy policy, int with_models, const ls_action_clips *clips)
{
    return engine_on(worker, policy, with_models, clips);
}

static void record(output *o, const ls_lipsync_frame *f)
{
    if (f->n >= out_frames)
        return;
    CHECK(f->n == o->n, "frame %lld out after %lld", (long long)f->n, (long long)o->n);
    memcpy(o->images + o->n * image_bytes, f->image->data, image_bytes);
    memcpy(o->audio + o->n * LS_LIPSYNC_AUDIO, f->audio, sizeof f->audio);
    o->events[2 * o->n] = f->events[0];
    o->events[2 * o->n + 1] = f->events[1];
    o->lipsynced[o->n] = f->lipsynced;
    o->n++;
}

/* Pushes the file (then silence) and pops every frame: `eager` pops each
 * frame as soon as possible, due; otherwise frames are popped when ready
 * and, when the engine is full, waited for. */
static void run(ls_lipsync *s, int eager, output *o)
{
    ls_error err = { 0 };
    ls_lipsync_frame f;
    for (int64_t k = 0; o->n < out_frames; k++) {
        int rc;
        while ((rc = ls_lipsync_push(s, audio + k * LS_STREAM_FRAME, types[k],
                                     (void *)(intptr_t)(k + 1), &err)) == 1) {
            CHECK(ls_lipsync_pop(s, 1, &f, &err) == 1, "full, yet no frame to pop");
            record(o, &f);
        }
        CHECK(rc == 0, "push: %s", err.msg);
        while (ls_lipsync_pop(s, eager, &f, &err) == 1)
            record(o, &f);
    }
}

static void output_alloc(output *o)
{
    o->n = 0;
    o->images = malloc((size_t)out_frames * image_bytes);
    o->audio = malloc((size_t)out_frames * LS_LIPSYNC_AUDIO * sizeof *o->audio);
    o->events = malloc((size_t)out_frames * 2 * sizeof *o->events);
    o->lipsynced = calloc((size_t)out_frames, sizeof *o->lipsynced);
}

static void output_free(output *o)
{
    free(o->images);
    free(o->audio);
    free(o->events);
    free(o->lipsynced);
}

static void check_sync(const char *label, const output *o)
{
    int64_t bad = 0;
    for (int64_t n = 0; n < o->n; n++) {
        bad += memcmp(o->audio + n * LS_LIPSYNC_AUDIO, audio + n * LS_LIPSYNC_AUDIO,
                      LS_LIPSYNC_AUDIO * sizeof *audio) != 0;
        bad += o->events[2 * n] != (void *)(intptr_t)(2 * n + 1) ||
               o->events[2 * n + 1] != (void *)(intptr_t)(2 * n + 2);
    }
    CHECK(o->n == out_frames && bad == 0, "%s: %lld frames out of %lld, %lld out of sync", label,
          (long long)o->n, (long long)out_frames, (long long)bad);
}

/* The expected lip-synced pictures, frame by frame, from an independent feature stream. */
static uint8_t *expected_pictures(void)
{
    ls_error err = { 0 };
    ls_stream_features *sf;
    nn_ctx *ctx = nn_ctx_new(nn_backend_cpu());
    ls_stream_features_new(whisper, B, LS_STREAM_WINDOW_FULL, &sf, &err);
    int tokens = ls_stream_features_tokens(sf), dim = ls_stream_features_dim(sf);
    float *chunks = malloc((size_t)(out_frames + B) * tokens * dim * sizeof *chunks);
    float frame[LS_STREAM_FRAME];
    for (int64_t k = 0, done = 0; done < out_frames; k++) {
        for (int i = 0; i < LS_STREAM_FRAME; i++)
            frame[i] = audio[k * LS_STREAM_FRAME + i] / 32768.0f;
        if (ls_stream_features_push(sf, frame)) {
            ls_stream_features_take(sf, ctx, NULL, chunks + done * tokens * dim, NULL, &err);
            done += B;
        }
    }
    uint8_t *pictures = calloc((size_t)out_frames, image_bytes);
    uint8_t *face = malloc(256 * 256 * 3);
    for (int64_t n = 0; n < out_frames; n++) {
        int index = ls_avatar_cycle_index(n, avatar->nframes);
        const ls_avatar_frame *af = &avatar->frames[index];
        ls_image picture = { pictures + n * image_bytes, avatar->width, avatar->height, 3 };
        memcpy(picture.data, af->image.data, image_bytes);
        if (!speaking(n))
            continue;
        nn_tensor lat = nn_view4((float *)ls_avatar_latent(avatar, index), 1, 8, 32, 32);
        nn_tensor aud = nn_view3(chunks + n * tokens * dim, 1, tokens, dim);
        ls_musetalk_render(model, ctx, &lat, &aud, face);
        ls_image generated = { face, 256, 256, 3 };
        CHECK(ls_blend_face(&picture, &generated, af->face, &af->mask, af->crop, &err) == 0, "%s",
              err.msg);
    }
    free(face);
    free(chunks);
    ls_stream_features_free(sf);
    nn_ctx_free(ctx);
    return pictures;
}

static int max_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
    int worst = 0;
    for (size_t i = 0; i < n; i++) {
        int d = abs((int)a[i] - (int)b[i]);
        worst = d > worst ? d : worst;
    }
    return worst;
}

/* Rows and columns outside the crop box of avatar frame `index` are untouched. */
static int outside_crop_equal(const uint8_t *got, int index)
{
    const ls_avatar_frame *af = &avatar->frames[index];
    for (int y = 0; y < avatar->height; y++)
        for (int x = 0; x < avatar->width; x++) {
            int in = x >= af->crop.x1 && x < af->crop.x2 && y >= af->crop.y1 && y < af->crop.y2;
            size_t at = ((size_t)y * avatar->width + x) * 3;
            if (!in && memcmp(got + at, af->image.data + at, 3) != 0)
                return 0;
        }
    return 1;
}

/* Runs lag policy wait; its pictures are kept in *kept for test_paste. */
static void test_wait(const uint8_t *want, output *kept)
{
    ls_infer_stats before, after;
    ls_infer_worker_stats(worker, &before);
    ls_lipsync *s = engine(LS_LAG_WAIT, 1, NULL);
    output o;
    output_alloc(&o);
    run(s, 0, &o);
    check_sync("wait", &o);
    int64_t speaking_frames = 0, worst = 0, idle_bad = 0, crop_bad = 0, flags_bad = 0;
    int64_t speech_batches = 0;
    for (int64_t n = 0; n < o.n; n++) {
        const uint8_t *got = o.images + n * image_bytes, *exp = want + n * image_bytes;
        int index = ls_avatar_cycle_index(n, avatar->nframes);
        if (speaking(n)) {
            speaking_frames++;
            int d = max_diff(got, exp, image_bytes);
            worst = d > worst ? d : worst;
            crop_bad += !outside_crop_equal(got, index);
        } else {
            idle_bad += memcmp(got, avatar->frames[index].image.data, image_bytes) != 0;
        }
        flags_bad += o.lipsynced[n] != speaking(n);
    }
    for (int64_t b = 0; b * B < out_frames + B; b++) {
        int any = 0;
        for (int m = 0; m < B; m++)
            any |= speaking(b * B + m);
        speech_batches += any;
    }
    printf("wait: %lld frames, %lld speaking, largest difference from the reference %lld level(s)\n",
           (long long)o.n, (long long)speaking_frames, (long long)worst);
    CHECK(worst <= 1, "speaking frames differ by %lld levels", (long long)worst);
    CHECK(crop_bad == 0, "%lld speaking frames changed outside the crop box", (long long)crop_bad);
    CHECK(idle_bad == 0, "%lld silent frames are not the idle avatar frame", (long long)idle_bad);
    CHECK(flags_bad == 0, "%lld frames flagged wrongly", (long long)flags_bad);
    ls_lipsync_stats st;
    ls_lipsync_stats_get(s, &st);
    ls_lipsync_free(s);
    ls_infer_worker_stats(worker, &after);
    int64_t rendered = after.frames - before.frames, passed = after.skipped - before.skipped;
    printf("wait: worker rendered %lld frames, passed over %lld, engine lipsynced %lld\n",
           (long long)rendered, (long long)passed, (long long)st.lipsynced);
    CHECK(rendered == speaking_frames && rendered + passed == speech_batches * B,
          "worker: %lld rendered and %lld passed over; %lld speaking frames in %lld batches",
          (long long)rendered, (long long)passed, (long long)speaking_frames,
          (long long)speech_batches);
    CHECK(st.lipsynced == speaking_frames && st.skipped == 0, "engine stats");
    *kept = o;
}

/* Frames of two runs that differ, printed under `label`. */
static int64_t frames_differing(const char *label, const output *a, const output *b)
{
    int64_t differ = 0;
    for (int64_t n = 0; n < a->n && n < b->n; n++)
        differ += memcmp(a->images + n * image_bytes, b->images + n * image_bytes,
                         image_bytes) != 0;
    printf("%s: %lld frames, %lld differ from pasting in the session\n", label,
           (long long)a->n, (long long)differ);
    CHECK(a->n == b->n && differ == 0, "%s: %lld of %lld frames differ", label,
          (long long)differ, (long long)a->n);
    return differ;
}

/* Runs the speech with lag policy wait on worker w into *o. */
static void run_waiting(ls_infer_worker *w, output *o)
{
    ls_lipsync *s = engine_on(w, LS_LAG_WAIT, 1, NULL);
    output_alloc(o);
    run(s, 0, o);
    ls_lipsync_free(s);
}

/* The worker's paste (on the CPU backend, through the host code a GPU's
 * operator must match): the same pictures as pasting in the session, byte
 * for byte; an avatar not uploaded is refused. Then again with every third
 * speaking frame typed silent, so jobs have gaps and the worker's batches
 * frames that are not consecutive (each run of consecutive frames is one
 * copy from the device). */
static void test_paste(const output *unpasted)
{
    ls_infer_config wc = { .batch_size = B, .latent_channels = 8, .latent_height = 32,
                           .latent_width = 32, .tokens = 30, .dim = 32, .paste = 1 };
    ls_infer_worker *pasting = NULL;
    ls_error err = { 0 };
    CHECK(ls_infer_worker_new(model, &wc, &pasting, &err) == 0, "%s", err.msg);
    ls_lipsync_config cf = { .avatar = avatar, .whisper = whisper, .worker = pasting,
                             .batch_size = B, .max_in_flight = IN_FLIGHT,
                             .window = LS_STREAM_WINDOW_FULL, .lag_policy = LS_LAG_WAIT };
    ls_lipsync *s = NULL;
    CHECK(ls_lipsync_new(&cf, &s, &err) == -1 && !s && strstr(err.msg, "not on the worker's device"),
          "avatar not uploaded: '%s'", err.msg);
    CHECK(ls_avatar_upload(avatar, nn_backend_cpu(), &err) == 0, "%s", err.msg);
    output o;
    run_waiting(pasting, &o);
    check_sync("paste", &o);
    frames_differing("paste", &o, unpasted);
    output_free(&o);

    int *kept = malloc((size_t)audio_frames * sizeof *kept);
    memcpy(kept, types, (size_t)audio_frames * sizeof *kept);
    int64_t gaps = 0;
    for (int64_t n = 0, spoken = 0; n < out_frames; n++)
        if (speaking(n) && ++spoken % 3 == 0) {
            types[2 * n] = types[2 * n + 1] = LS_AUDIOTYPE_SILENCE;
            gaps++;
        }
    ls_infer_stats before, after;
    ls_infer_worker_stats(pasting, &before);
    output gapped, gapped_unpasted;
    run_waiting(pasting, &gapped);
    run_waiting(worker, &gapped_unpasted);
    ls_infer_worker_stats(pasting, &after);
    memcpy(types, kept, (size_t)audio_frames * sizeof *kept);
    free(kept);
    printf("paste with gaps: %lld speaking frames typed silent, %lld passed over by the worker\n",
           (long long)gaps, (long long)(after.skipped - before.skipped));
    CHECK(gaps > 2 && after.skipped - before.skipped >= gaps, "no gaps in the jobs");
    frames_differing("paste with gaps", &gapped, &gapped_unpasted);
    output_free(&gapped);
    output_free(&gapped_unpasted);
    ls_infer_worker_free(pasting);
}

static void test_skip(const uint8_t *want)
{
    ls_lipsync *s = engine(LS_LAG_SKIP, 1, NULL);
    output o;
    output_alloc(&o);
    run(s, 1, &o);
    check_sync("skip", &o);
    int64_t plain = 0, synced = 0, wrong = 0;
    for (int64_t n = 0; n < o.n; n++) {
        const uint8_t *got = o.images + n * image_bytes;
        const uint8_t *idle = avatar->frames[ls_avatar_cycle_index(n, avatar->nframes)].image.data;
        if (o.lipsynced[n]) {
            synced++;
            wrong += max_diff(got, want + n * image_bytes, image_bytes) > 1 || !speaking(n);
        } else {
            plain += speaking(n);
            wrong += memcmp(got, idle, image_bytes) != 0;
        }
    }
    ls_lipsync_stats st;
    ls_lipsync_stats_get(s, &st);
    printf("skip: %lld speaking frames lip-synced, %lld shown plain (engine: %lld skipped)\n",
           (long long)synced, (long long)plain, (long long)st.skipped);
    CHECK(wrong == 0, "%lld frames neither lip-synced as expected nor the plain avatar frame",
          (long long)wrong);
    CHECK(plain >= 1 && st.skipped == plain, "skipped frames: %lld plain, engine says %lld",
          (long long)plain, (long long)st.skipped);
    ls_lipsync_free(s);
    output_free(&o);
}

static void test_back_pressure(void)
{
    ls_lipsync *s = engine(LS_LAG_WAIT, 1, NULL);
    ls_error err = { 0 };
    int64_t k = 0;
    int rc = 0;
    while (k < audio_frames && (rc = ls_lipsync_push(s, audio + k * LS_STREAM_FRAME, 0, NULL, &err)) == 0)
        k++;
    ls_lipsync_stats st;
    ls_lipsync_stats_get(s, &st);
    printf("back-pressure: full after %lld audio frames, %d frames pending\n", (long long)k,
           st.pending);
    CHECK(rc == 1 && k < audio_frames, "pushing never ended in full (%lld frames)", (long long)k);
    CHECK(st.pending <= (IN_FLIGHT + 2) * B + LS_STREAM_CONTEXT / 2 + 1, "%d frames pending",
          st.pending);
    ls_lipsync_free(s);   /* with jobs at the worker */
}

/* Pops and pushes silence (as the speech queue gives after its interrupt)
 * until `until` frames are out; each one must be silent and idle. Returns
 * the number of frames that were not. */
static int64_t drain_silent(ls_lipsync *s, int64_t next_event, int64_t until, int64_t *popped)
{
    ls_error err = { 0 };
    ls_lipsync_frame f;
    int16_t silence[LS_STREAM_FRAME] = { 0 };
    int16_t zeros[LS_LIPSYNC_AUDIO] = { 0 };
    int64_t bad = 0;
    while (*popped < until) {
        int rc;
        while ((rc = ls_lipsync_pop(s, 1, &f, &err)) == 1) {
            const ls_image *idle = &avatar->frames[ls_avatar_cycle_index(f.n, avatar->nframes)].image;
            bad += memcmp(f.audio, zeros, sizeof zeros) != 0 || f.types[0] != LS_AUDIOTYPE_SILENCE ||
                   f.types[1] != LS_AUDIOTYPE_SILENCE || f.kind != LS_FRAME_IDLE || f.lipsynced ||
                   memcmp(f.image->data, idle->data, image_bytes) != 0 ||
                   f.events[0] != (void *)(intptr_t)(2 * f.n + 1);
            (*popped)++;
        }
        CHECK(rc == 0, "pop: %s", err.msg);
        CHECK(ls_lipsync_push(s, silence, LS_AUDIOTYPE_SILENCE, (void *)(intptr_t)next_event++, &err) == 0,
              "push after the interrupt: %s", err.msg);
    }
    return bad;
}

static void test_interrupt(void)
{
    ls_error err = { 0 };
    ls_lipsync_frame f;
    /* mid-speech: popped frames up to 13 (speech runs 10 .. 21), then interrupt */
    ls_lipsync *s = engine(LS_LAG_WAIT, 1, NULL);
    int64_t k = 0, popped = 0, cut = 14;
    while (popped < cut) {
        int rc = ls_lipsync_push(s, audio + k * LS_STREAM_FRAME, types[k], (void *)(intptr_t)(k + 1), &err);
        CHECK(rc >= 0, "push: %s", err.msg);
        k += rc == 0;
        while (popped < cut && ls_lipsync_pop(s, 1, &f, &err) == 1)
            popped++;
    }
    CHECK(speaking(cut - 1) && speaking(cut), "frame %lld is not in the speech", (long long)cut);
    ls_lipsync_interrupt(s);
    int64_t bad = drain_silent(s, k + 1, out_frames, &popped);
    printf("interrupt at frame %lld, %lld audio frames pushed: %lld of the next %lld frames not silent and idle\n",
           (long long)cut, (long long)k, (long long)bad, (long long)(out_frames - cut));
    CHECK(bad == 0, "%lld frames after the interrupt still speak", (long long)bad);
    ls_lipsync_free(s);

    /* full of speech waiting for the worker: the interrupt is taken at the next pop */
    s = engine(LS_LAG_WAIT, 1, NULL);
    for (k = 0; k < audio_frames; k++) {
        int rc = ls_lipsync_push(s, audio + k * LS_STREAM_FRAME, LS_AUDIOTYPE_SPEECH, (void *)(intptr_t)(k + 1),
                                 &err);
        if (rc != 0)
            break;
    }
    ls_lipsync_stats st;
    ls_lipsync_stats_get(s, &st);
    ls_lipsync_interrupt(s);
    gint64 t0 = g_get_monotonic_time();
    int rc = ls_lipsync_pop(s, 1, &f, &err);
    double first_ms = (g_get_monotonic_time() - t0) / 1000.0;
    CHECK(rc == 1 && f.kind == LS_FRAME_IDLE && !f.lipsynced && f.types[0] == LS_AUDIOTYPE_SILENCE,
          "the first pop after the interrupt: rc %d, kind %d", rc, (int)f.kind);
    popped = 1;
    bad = drain_silent(s, k + 1, st.pending + 2 * B, &popped);
    printf("interrupt with %d frames pending: first frame out in %.1f ms, %lld of %lld frames not silent and idle\n",
           st.pending, first_ms, (long long)bad, (long long)popped);
    CHECK(bad == 0, "%lld frames after the interrupt still speak", (long long)bad);
    ls_lipsync_free(s);
}

static void test_without_models(void)
{
    ls_error err = { 0 };
    ls_action_clips *clips;
    if (ls_action_clips_load(ref_path("clips.json"), avatar->width, avatar->height, &clips,
                             &err) != 0) {
        CHECK(0, "%s", err.msg);
        return;
    }
    const ls_action_clip *wave = ls_action_clips_find(clips, 2);
    ls_lipsync *s = engine(LS_LAG_WAIT, 0, clips);
    ls_lipsync_frame f;
    int16_t silence[LS_STREAM_FRAME] = { 0 };
    int ok = 1, clip_frames = 0;
    for (int n = 0; n < 30; n++) {
        if (n == 3)
            CHECK(ls_lipsync_set_audiotype(s, 2, &err) == 0, "%s", err.msg);
        if (n == 25) {   /* a second time, interrupted */
            ls_lipsync_set_audiotype(s, 2, &err);
            ls_lipsync_push(s, silence, LS_AUDIOTYPE_SILENCE, NULL, &err);
            ls_lipsync_interrupt(s);
            ls_lipsync_push(s, silence, LS_AUDIOTYPE_SILENCE, NULL, &err);
        } else {
            ls_lipsync_push(s, silence, LS_AUDIOTYPE_SILENCE, NULL, &err);
            ok &= ls_lipsync_pop(s, 0, &f, &err) == 0;   /* half a frame: not out yet */
            ls_lipsync_push(s, silence, LS_AUDIOTYPE_SILENCE, NULL, &err);
        }
        ok &= ls_lipsync_pop(s, 0, &f, &err) == 1 && f.n == n;
        const ls_image *want = &avatar->frames[ls_avatar_cycle_index(n, avatar->nframes)].image;
        if (n >= 3 && n < 16) {   /* the clip's 0.5 s of audio covers frames 3 .. 15 */
            clip_frames++;
            const ls_image *cf = &wave->frames[ls_avatar_cycle_index(n - 3, wave->nframes)];
            ok &= f.kind == LS_FRAME_CLIP && f.types[0] == 2 &&
                  memcmp(f.image->data, cf->data, image_bytes) == 0 &&
                  memcmp(f.audio, wave->audio + (n - 3) * LS_LIPSYNC_AUDIO,
                         (n < 15 ? 2 : 1) * LS_STREAM_FRAME * sizeof *f.audio) == 0;
        } else if (n != 25) {
            ok &= f.kind == LS_FRAME_IDLE && f.types[0] == 1 && !f.lipsynced &&
                  memcmp(f.image->data, want->data, image_bytes) == 0;
        } else {   /* clip audio in the first half only; the picture follows the first half */
            ok &= f.types[0] == 2 && f.types[1] == 1;
        }
    }
    CHECK(ok && clip_frames == 13, "without models: idle frames, a clip, back to idle");
    CHECK(ls_lipsync_set_audiotype(s, 3, &err) == -1 && strstr(err.msg, "audiotype 3"), "%s",
          err.msg);
    ls_lipsync_free(s);
    ls_action_clips_free(clips);
}

static void test_setup_errors(void)
{
    ls_error err = { 0 };
    ls_lipsync *s = NULL;
    ls_avatar bare = *avatar;
    bare.latents = NULL;
    ls_lipsync_config cf = { .avatar = &bare, .whisper = whisper, .worker = worker,
                             .batch_size = B, .max_in_flight = 1 };
    CHECK(ls_lipsync_new(&cf, &s, &err) == -1 && !s && strstr(err.msg, "no latents"), "%s",
          err.msg);
    cf.avatar = avatar;
    cf.worker = NULL;
    CHECK(ls_lipsync_new(&cf, &s, &err) == -1 && strstr(err.msg, "go together") &&
              err.kind == LS_ERROR_FAILED, "%s", err.msg);
    /* a session its device cannot hold is refused when made, as a resource
     * used up (the server answers 503; the test runs with
     * allocator_may_return_null under AddressSanitizer) */
    cf.worker = worker;
    cf.reserve_bytes = (size_t)1 << 50;
    CHECK(ls_lipsync_new(&cf, &s, &err) == -1 && !s &&
              strstr(err.msg, "no cpu memory left for another session's whisper encoder"),
          "%s", err.msg);
    CHECK(err.kind == LS_ERROR_EXHAUSTED, "a session beyond memory is not an exhausted resource (kind %d)",
          (int)err.kind);
    printf("a session beyond memory: %s\n", err.msg);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_lipsync LOOP_REF_DIR AVATAR_DIR\n");
        return 2;
    }
    ref_dir = argv[1];
    nn_set_threads(2);
    ls_error err = { 0 };
    if (ls_avatar_load(argv[2], &avatar, &err) != 0 ||
        ls_musetalk_load_dir(ref_path("models"), LS_MUSETALK_V15, &model, &err) != 0 ||
        ls_whisper_load(ref_path("models/whisper"), LS_MUSETALK_V15, &whisper, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    ls_infer_config wc = { .batch_size = B, .latent_channels = 8, .latent_height = 32,
                           .latent_width = 32, .tokens = 30, .dim = 32 };
    if (ls_infer_worker_new(model, &wc, &worker, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    if (ls_lipsync_measure(whisper, B, LS_STREAM_WINDOW_FULL, &session_bytes, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    printf("a session's whisper encoder: %zu bytes of activations\n", session_bytes);
    CHECK(session_bytes > 0, "nothing measured");
    image_bytes = (size_t)avatar->width * avatar->height * 3;
    load_audio();
    uint8_t *want = expected_pictures();
    output waited;
    test_wait(want, &waited);
    test_paste(&waited);
    output_free(&waited);
    test_skip(want);
    test_back_pressure();
    test_interrupt();
    test_without_models();
    test_setup_errors();
    free(want);
    free(audio);
    free(types);
    ls_infer_worker_free(worker);
    ls_whisper_free(whisper);
    ls_musetalk_free(model);
    ls_avatar_free(avatar);
    return check_result("test_lipsync");
}
