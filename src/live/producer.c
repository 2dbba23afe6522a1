/*
 * producer.c - the per-session output loop (see producer.h).
 *
 * The clock wait is a single-shot GstClockID kept under `lock` so that
 * ls_producer_stop can unschedule it: the thread then wakes at once with
 * GST_CLOCK_UNSCHEDULED and sees `stop`. The sinks are guarded by their own
 * `sinks_lock`, held while a frame is pushed (pushes never block), so that
 * removing a sink waits for a push in progress.
 */
#include "live/producer.h"

#include <pthread.h>
#include <stdlib.h>

#define LEAD_NS (10 * GST_MSECOND)        /* push this much ahead of the frame's time */
#define MAX_LATE_NS (200 * GST_MSECOND)   /* later than this: skip frame numbers */

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
    int64_t frames, skipped;
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

static void produce_frame(ls_producer *p, int64_t n)
{
    int16_t audio[LS_MEDIA_AUDIO_PER_VIDEO];
    ls_speech_marks marks = { 0 };
    ls_speech_queue_pop(p->cfg.speech, audio, &marks);
    ls_speech_queue_pop(p->cfg.speech, audio + LS_SPEECH_FRAME, &marks);
    const ls_image *image = p->cfg.video->frame(p->cfg.video, n, audio);
    pthread_mutex_lock(&p->sinks_lock);
    for (int i = 0; i < p->nsinks; i++)
        if (!p->sinks[i].broken && ls_media_sink_push_frame(p->sinks[i].sink, image, audio, n) < 0)
            p->sinks[i].broken = 1;
    pthread_mutex_unlock(&p->sinks_lock);
    ls_speech_queue_sent(p->cfg.speech, &marks);
    __atomic_add_fetch(&p->frames, 1, __ATOMIC_RELAXED);
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
    if (cfg->nsinks < 0 || cfg->nsinks > LS_PRODUCER_MAX_SINKS)
        return ls_error_set(err, "producer: %d sinks (at most %d)", cfg->nsinks, LS_PRODUCER_MAX_SINKS);
    ls_producer *p = calloc(1, sizeof *p);
    if (!p)
        return ls_error_set(err, "out of memory");
    p->cfg = *cfg;
    gst_object_ref(p->cfg.clock);
    ls_speech_queue_ref(p->cfg.speech);
    pthread_mutex_init(&p->lock, NULL);
    pthread_mutex_init(&p->sinks_lock, NULL);
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
    ls_speech_queue_unref(p->cfg.speech);
    gst_object_unref(p->cfg.clock);
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->sinks_lock);
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

int64_t ls_producer_frames(ls_producer *p)
{
    return __atomic_load_n(&p->frames, __ATOMIC_RELAXED);
}

int64_t ls_producer_skipped(ls_producer *p)
{
    return __atomic_load_n(&p->skipped, __ATOMIC_RELAXED);
}
