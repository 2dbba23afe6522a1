/*
 * producer.c - the per-session output loop (see producer.h).
 *
 * The clock wait is a single-shot GstClockID kept under `lock` so that
 * ls_producer_stop can unschedule it: the thread then wakes at once with
 * GST_CLOCK_UNSCHEDULED and sees `stop`. The sinks are guarded by their own
 * `sinks_lock`, held while a frame is pushed (pushes never block), so that
 * removing a sink waits for a push in progress.
 *
 * Speech events travel through the engine with their audio: each 20 ms
 * frame fed in gets a slot of a ring of marks as its event pointer, and the
 * slot's marks are reported sent when the frame carrying that audio is
 * pushed. Slots are used and released in order (frames come out in order).
 *
 * Measurements are written by the producer thread under `stats_lock` and
 * read by any thread. An utterance begins when a speech frame follows
 * silence out of the speech queue; its batch is complete once the audio up
 * to 2(k+1)B + R - 1 is in (live/stream_features.h), so that push is the
 * one timed as the features stage.
 */
#include "live/producer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "live/action_clips.h"
#include "live/rate_meter.h"

#define LEAD_NS (10 * GST_MSECOND)        /* push this much ahead of the frame's time */
#define MAX_LATE_NS (200 * GST_MSECOND)   /* later than this: skip frame numbers */
#define MARK_SLOTS 512                    /* audio frames inside the engine, at most (10 s) */

struct ls_producer {
    ls_producer_config cfg;
    pthread_t thread;
    int started;
    pthread_mutex_t lock;
    GstClockID wait_id;   /* the pending wait, under lock */
    int stop;             /* under lock */
    pthread_mutex_t sinks_lock;
    struct {
        ls_media_sink *sink;
        int broken;       /* it failed: skipped from then on */
    } sinks[LS_PRODUCER_MAX_SINKS];
    int nsinks;           /* under sinks_lock */
    int64_t frames, skipped, lipsynced;
    pthread_mutex_t stats_lock;
    struct {   /* under stats_lock */
        ls_rate_meter output, lipsync;
        double lag_s;
        int engine_frames, engine_batches;
        ls_utterance_times utterance;
        ls_frame_log log;
    } stats;
    /* the producer thread's own: */
    ls_speech_marks marks[MARK_SLOTS];
    int64_t marks_fed, marks_done;   /* slots handed to the engine / released */
    int16_t held[LS_SPEECH_FRAME];   /* a frame the engine refused (full), fed first next time */
    int held_type, have_held;
    int in_speech;                   /* the last frame taken from the queue was speech */
    int64_t features_frame;          /* the audio frame completing the utterance's first batch */
    int64_t anchor_n;                /* the last silent frame pushed: engine number, */
    double anchor_due_s;             /* and its time on the clock */
};

/* Waits until frame n's push time; returns how late the wake-up was (ns,
 * negative when early) or -1 with *stopped set. */
static GstClockTimeDiff wait_for_frame(ls_producer *p, int64_t n, int *stopped)
{
    GstClockTime target = p->cfg.base_time + (GstClockTime)n * LS_MEDIA_FRAME_NS;
    target = target > LEAD_NS ? target - LEAD_NS : 0;
    pthread_mutex_lock(&p->lock);
    if (p->stop) {
        pthread_mutex_unlock(&p->lock);
        *stopped = 1;
        return -1;
    }
    p->wait_id = gst_clock_new_single_shot_id(p->cfg.clock, target);
    GstClockID id = gst_clock_id_ref(p->wait_id);
    pthread_mutex_unlock(&p->lock);

    GstClockTimeDiff jitter = 0;
    GstClockReturn r = gst_clock_id_wait(id, &jitter);

    pthread_mutex_lock(&p->lock);
    gst_clock_id_unref(p->wait_id);
    p->wait_id = NULL;
    *stopped = p->stop || r == GST_CLOCK_UNSCHEDULED;
    pthread_mutex_unlock(&p->lock);
    gst_clock_id_unref(id);
    return jitter;
}

// --- measurements ------------------------------------------------------------------

static void clear_frame_times(ls_frame_times *t)
{
    memset(t, 0, sizeof *t);
    t->n = -1;
}

/* The speech frame about to be pushed (audio frame marks_fed) starts an utterance. */
static void begin_utterance(ls_producer *p)
{
    int64_t first = p->marks_fed;
    int B = p->cfg.batch_size;
    p->features_frame = B > 0 ? 2 * (first / 2 / B + 1) * B + LS_STREAM_CONTEXT - 1 : -1;
    pthread_mutex_lock(&p->stats_lock);
    ls_utterance_times *u = &p->stats.utterance;
    int64_t count = u->count;
    memset(u, 0, sizeof *u);
    u->count = count + 1;
    u->first_audio_frame = first;
    u->audio_in_s = ls_monotonic_s();
    clear_frame_times(&u->first_speaking);
    clear_frame_times(&u->first_lipsynced);
    pthread_mutex_unlock(&p->stats_lock);
}

/* Monotonic time of clock time t. */
static double clock_to_monotonic(ls_producer *p, GstClockTime t)
{
    GstClockTime now = gst_clock_get_time(p->cfg.clock);
    return ls_monotonic_s() - ((double)now - (double)t) / GST_SECOND;
}

/* Frame f (number n on the clock), taken from the engine between pop_begin
 * and pop_end, was just pushed. */
static void account_frame(ls_producer *p, const ls_lipsync_frame *f, int64_t n, double pop_begin,
                          double pop_end)
{
    double pushed = ls_monotonic_s();
    double due = clock_to_monotonic(p, p->cfg.base_time + (GstClockTime)n * LS_MEDIA_FRAME_NS);
    int speaking = f->kind == LS_FRAME_SPEAK;
    if (!speaking || p->anchor_due_s == 0) {
        p->anchor_n = f->n;
        p->anchor_due_s = due;
    }
    double lag = speaking ? pushed - (p->anchor_due_s + (f->n - p->anchor_n) * LS_MEDIA_FRAME_NS / 1e9)
                          : pushed - due;
    ls_frame_record record;
    if (p->cfg.frame_log > 0)
        ls_frame_record_of(f, &record);
    ls_lipsync_stats st;
    ls_lipsync_stats_get(p->cfg.engine, &st);

    pthread_mutex_lock(&p->stats_lock);
    ls_rate_meter_add(&p->stats.output, pushed, 1);
    if (f->lipsynced)
        ls_rate_meter_add(&p->stats.lipsync, pushed, 1);
    p->stats.lag_s = lag > 0 ? lag : 0;
    p->stats.engine_frames = st.pending;
    p->stats.engine_batches = st.in_flight;
    ls_utterance_times *u = &p->stats.utterance;
    ls_frame_times t = { f->n, f->lipsynced, due, pop_begin, pop_end, pushed };
    if (u->count > 0 && f->n == u->first_audio_frame / 2)
        u->first_speaking = t;
    if (u->count > 0 && f->lipsynced && u->first_lipsynced.n < 0 && f->n >= u->first_audio_frame / 2)
        u->first_lipsynced = t;
    if (u->count > 0 && speaking && p->stats.lag_s > u->max_lag_s)
        u->max_lag_s = p->stats.lag_s;
    if (p->cfg.frame_log > 0)
        ls_frame_log_add(&p->stats.log, &record);
    pthread_mutex_unlock(&p->stats_lock);
}

/* Feeds the engine until it holds `lookahead` video frames not yet shown. */
static void feed(ls_producer *p)
{
    ls_error err;
    for (;;) {
        ls_lipsync_stats st;
        ls_lipsync_stats_get(p->cfg.engine, &st);
        /* stop only between video frames: a frame is pending from its first audio frame on */
        if ((st.pending >= p->cfg.lookahead && p->marks_fed % 2 == 0) ||
            p->marks_fed - p->marks_done >= MARK_SLOTS)
            return;
        ls_speech_marks *slot = &p->marks[p->marks_fed % MARK_SLOTS];
        if (!p->have_held) {
            memset(slot, 0, sizeof *slot);
            int speech = ls_speech_queue_pop(p->cfg.speech, p->held, slot);
            p->held_type = speech ? LS_AUDIOTYPE_SPEECH : LS_AUDIOTYPE_SILENCE;
            p->have_held = 1;
            if (speech && !p->in_speech)
                begin_utterance(p);
            p->in_speech = speech;
        }
        double begin = ls_monotonic_s();
        int rc = ls_lipsync_push(p->cfg.engine, p->held, p->held_type, slot, &err);
        if (rc == 0 && p->marks_fed == p->features_frame) {
            double end = ls_monotonic_s();
            pthread_mutex_lock(&p->stats_lock);
            p->stats.utterance.features_begin_s = begin;
            p->stats.utterance.features_end_s = end;
            pthread_mutex_unlock(&p->stats_lock);
        }
        if (rc != 0) {   /* full (pop first) or out of memory: keep the frame for later */
            if (rc < 0)
                fprintf(stderr, "lipstream: producer: %s\n", err.msg);
            return;
        }
        p->have_held = 0;
        p->marks_fed++;
    }
}

/* Reports the speech events of the audio frames just sent. */
static void release_marks(ls_producer *p, const ls_lipsync_frame *f)
{
    for (int i = 0; i < 2; i++) {
        ls_speech_marks *m = f->events[i];
        if (!m)
            continue;
        ls_speech_queue_sent(p->cfg.speech, m);
        p->marks_done++;
    }
}

static void produce_frame(ls_producer *p, int64_t n)
{
    ls_lipsync_frame f;
    ls_error err;
    feed(p);
    double pop_begin = ls_monotonic_s();
    int rc = ls_lipsync_pop(p->cfg.engine, 1, &f, &err);
    double pop_end = ls_monotonic_s();
    if (rc != 1) {   /* nothing to show yet: this frame number stays empty */
        if (rc < 0)
            fprintf(stderr, "lipstream: producer: %s\n", err.msg);
        __atomic_add_fetch(&p->skipped, 1, __ATOMIC_RELAXED);
        return;
    }
    pthread_mutex_lock(&p->sinks_lock);
    for (int i = 0; i < p->nsinks; i++)
        if (!p->sinks[i].broken && ls_media_sink_push_frame(p->sinks[i].sink, f.image, f.audio, n) < 0)
            p->sinks[i].broken = 1;
    pthread_mutex_unlock(&p->sinks_lock);
    release_marks(p, &f);
    __atomic_add_fetch(&p->frames, 1, __ATOMIC_RELAXED);
    if (f.lipsynced)
        __atomic_add_fetch(&p->lipsynced, 1, __ATOMIC_RELAXED);
    account_frame(p, &f, n, pop_begin, pop_end);
    feed(p);
}

static void *run(void *arg)
{
    ls_producer *p = arg;
    int64_t n = 0;
    for (;;) {
        int stopped = 0;
        GstClockTimeDiff late = wait_for_frame(p, n, &stopped);
        if (stopped)
            break;
        if (late > MAX_LATE_NS) {
            int64_t skip = late / LS_MEDIA_FRAME_NS;
            __atomic_add_fetch(&p->skipped, skip, __ATOMIC_RELAXED);
            n += skip;
        }
        produce_frame(p, n);
        n++;
    }
    return NULL;
}

int ls_producer_start(const ls_producer_config *cfg, ls_producer **out, ls_error *err)
{
    if (cfg->lookahead < 1)
        return ls_error_set(err, "producer: lookahead %d (at least 1)", cfg->lookahead);
    if (cfg->nsinks < 0 || cfg->nsinks > LS_PRODUCER_MAX_SINKS)
        return ls_error_set(err, "producer: %d sinks (at most %d)", cfg->nsinks, LS_PRODUCER_MAX_SINKS);
    ls_producer *p = calloc(1, sizeof *p);
    if (!p)
        return ls_error_set(err, "out of memory");
    p->cfg = *cfg;
    if (cfg->frame_log > 0 && ls_frame_log_init(&p->stats.log, cfg->frame_log, err) < 0) {
        free(p);
        return -1;
    }
    gst_object_ref(p->cfg.clock);
    ls_speech_queue_ref(p->cfg.speech);
    pthread_mutex_init(&p->lock, NULL);
    pthread_mutex_init(&p->sinks_lock, NULL);
    pthread_mutex_init(&p->stats_lock, NULL);
    double now = ls_monotonic_s();
    ls_rate_meter_init(&p->stats.output, now);
    ls_rate_meter_init(&p->stats.lipsync, now);
    clear_frame_times(&p->stats.utterance.first_speaking);
    clear_frame_times(&p->stats.utterance.first_lipsynced);
    p->features_frame = -1;
    for (int i = 0; i < cfg->nsinks; i++)
        p->sinks[i].sink = cfg->sinks[i];
    p->nsinks = cfg->nsinks;
    p->started = pthread_create(&p->thread, NULL, run, p) == 0;
    if (!p->started) {
        ls_producer_stop(p);
        return ls_error_set(err, "producer: cannot start its thread");
    }
    *out = p;
    return 0;
}

void ls_producer_stop(ls_producer *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    if (p->wait_id)
        gst_clock_id_unschedule(p->wait_id);
    pthread_mutex_unlock(&p->lock);
    if (p->started)
        pthread_join(p->thread, NULL);
    /* the speech inside the engine (and a frame it refused) will not go out */
    for (int64_t k = p->marks_done; k < p->marks_fed + p->have_held; k++)
        ls_speech_queue_unsent(p->cfg.speech, &p->marks[k % MARK_SLOTS]);
    ls_speech_queue_unref(p->cfg.speech);
    gst_object_unref(p->cfg.clock);
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->sinks_lock);
    pthread_mutex_destroy(&p->stats_lock);
    ls_frame_log_clear(&p->stats.log);
    free(p);
}

int ls_producer_add_sink(ls_producer *p, ls_media_sink *sink, ls_error *err)
{
    pthread_mutex_lock(&p->sinks_lock);
    int full = p->nsinks == LS_PRODUCER_MAX_SINKS;
    if (!full) {
        p->sinks[p->nsinks].sink = sink;
        p->sinks[p->nsinks].broken = 0;
        p->nsinks++;
    }
    pthread_mutex_unlock(&p->sinks_lock);
    return full ? ls_error_set(err, "producer: already %d sinks", LS_PRODUCER_MAX_SINKS) : 0;
}

void ls_producer_remove_sink(ls_producer *p, ls_media_sink *sink)
{
    pthread_mutex_lock(&p->sinks_lock);
    for (int i = 0; i < p->nsinks; i++) {
        if (p->sinks[i].sink == sink) {
            p->sinks[i] = p->sinks[--p->nsinks];
            break;
        }
    }
    pthread_mutex_unlock(&p->sinks_lock);
}

void ls_producer_remove_all_sinks(ls_producer *p)
{
    pthread_mutex_lock(&p->sinks_lock);
    p->nsinks = 0;
    pthread_mutex_unlock(&p->sinks_lock);
}

int64_t ls_producer_frames(ls_producer *p)
{
    return __atomic_load_n(&p->frames, __ATOMIC_RELAXED);
}

int64_t ls_producer_skipped(ls_producer *p)
{
    return __atomic_load_n(&p->skipped, __ATOMIC_RELAXED);
}

int64_t ls_producer_lipsynced(ls_producer *p)
{
    return __atomic_load_n(&p->lipsynced, __ATOMIC_RELAXED);
}

void ls_producer_stats_get(ls_producer *p, ls_producer_stats *out)
{
    double now = ls_monotonic_s();
    out->frames = ls_producer_frames(p);
    out->lipsynced = ls_producer_lipsynced(p);
    out->skipped = ls_producer_skipped(p);
    pthread_mutex_lock(&p->stats_lock);
    out->output_fps = ls_rate_meter_rate(&p->stats.output, now, LS_PRODUCER_RATE_WINDOW_S);
    out->lipsync_fps = ls_rate_meter_rate(&p->stats.lipsync, now, LS_PRODUCER_RATE_WINDOW_S);
    out->lag_s = p->stats.lag_s;
    out->engine_frames = p->stats.engine_frames;
    out->engine_batches = p->stats.engine_batches;
    out->speech_queue_ms = ls_speech_queue_buffered_ms(p->cfg.speech);
    out->utterance = p->stats.utterance;
    pthread_mutex_unlock(&p->stats_lock);
}

void ls_producer_frame_log(ls_producer *p, void (*fn)(void *user, const ls_frame_record *r), void *user)
{
    pthread_mutex_lock(&p->stats_lock);
    int n = p->cfg.frame_log > 0 ? ls_frame_log_count(&p->stats.log) : 0;
    for (int i = 0; i < n; i++)
        fn(user, ls_frame_log_get(&p->stats.log, i));
    pthread_mutex_unlock(&p->stats_lock);
}
