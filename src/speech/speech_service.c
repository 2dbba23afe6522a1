/*
 * speech_service.c - the speech thread (see speech_service.h).
 *
 * Locking: the service mutex guards the list of queues, `next` (round
 * robin), the wake flag and what is being synthesised (`busy`); a queue's
 * own lock is taken inside it (take, current), never the other way round:
 * a queue calls wake() after releasing its lock. Synthesis runs with no
 * lock held, on a reference to the queue.
 *
 * Cancelling: each text chunk is synthesised with a fresh GCancellable
 * given to the engine. A queue wakes the service when it is interrupted;
 * if the chunk being synthesised is that queue's and its generation has
 * gone stale, wake() cancels it, so a network engine drops its request at
 * once instead of waiting for its next bytes.
 */
#include "speech/speech_service.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audio/resample.h"

#define MAX_AHEAD_MS 4000     /* audio waiting in a queue before it is skipped */
#define POLL_MS 100           /* re-check skipped queues this often */
#define COPY_BLOCK 4000       /* samples of an uploaded clip written at once */

struct ls_speech_service {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stop, woken;
    ls_tts_engine *engine;
    ls_resampler *resampler;          /* engine rate -> 16 kHz; NULL when equal */
    float *in, *out;                  /* resampling buffers */
    int16_t *pcm;
    int64_t in_cap, out_cap;
    ls_speech_queue **queues;
    size_t n, cap, next;
    struct {
        ls_speech_queue *queue;       /* whose chunk is being synthesised, or NULL */
        uint64_t generation;
        GCancellable *cancel;
    } busy;
};

typedef struct chunk_writer {
    ls_speech_service *s;
    ls_speech_queue *q;
    uint64_t generation;
    int64_t written;                  /* samples of this chunk, at 16 kHz */
} chunk_writer;

/* Whether the chunk has passed LS_SPEECH_MAX_CHUNK_S of audio (a TTS server
 * that never ends its answer would otherwise fill the memory). */
static int too_long(const chunk_writer *w)
{
    return w->written > (int64_t)LS_SPEECH_MAX_CHUNK_S * LS_SPEECH_RATE;
}

/* Appends n samples of the chunk; -1 when it has gone stale or too long. */
static int append(chunk_writer *w, const int16_t *pcm, int64_t n)
{
    w->written += n;
    if (too_long(w))
        return -1;
    return ls_speech_queue_append(w->q, w->generation, pcm, (size_t)n);
}

static int grow(ls_speech_service *s, int64_t n_in, int64_t n_out)
{
    if (n_in > s->in_cap) {
        float *in = realloc(s->in, (size_t)n_in * sizeof *in);
        if (!in)
            return -1;
        s->in = in;
        s->in_cap = n_in;
    }
    if (n_out > s->out_cap) {
        float *out = realloc(s->out, (size_t)n_out * sizeof *out);
        int16_t *pcm = out ? realloc(s->pcm, (size_t)n_out * sizeof *pcm) : NULL;
        if (out)
            s->out = out;
        if (!pcm)
            return -1;
        s->pcm = pcm;
        s->out_cap = n_out;
    }
    return 0;
}

/* Writes resampled samples s->out[0..n) to the queue; -1 when stale. */
static int write_resampled(chunk_writer *w, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        float v = roundf(w->s->out[i] * 32768.0f);
        w->s->pcm[i] = (int16_t)(v > 32767.0f ? 32767.0f : v < -32768.0f ? -32768.0f : v);
    }
    return append(w, w->s->pcm, n);
}

/* Engine callback: the next piece of synthesised audio. */
static int on_samples(void *user, const int16_t *samples, int n)
{
    chunk_writer *w = user;
    ls_speech_service *s = w->s;
    if (!s->resampler)
        return append(w, samples, n) < 0;
    if (grow(s, n, ls_resampler_max_output(s->resampler, n)) < 0)
        return 1;
    for (int i = 0; i < n; i++)
        s->in[i] = samples[i] / 32768.0f;
    return write_resampled(w, ls_resampler_push(s->resampler, s->in, n, s->out)) < 0;
}

/* Marks the chunk being synthesised (cancel != NULL) or clears the mark. */
static void set_busy(ls_speech_service *s, chunk_writer *w, GCancellable *cancel)
{
    pthread_mutex_lock(&s->lock);
    s->busy.queue = cancel ? w->q : NULL;
    s->busy.generation = w->generation;
    s->busy.cancel = cancel;
    pthread_mutex_unlock(&s->lock);
}

static void speak_text(ls_speech_service *s, chunk_writer *w, const char *text, const ls_tts_voice *voice)
{
    ls_error err;
    GCancellable *cancel = g_cancellable_new();
    set_busy(s, w, cancel);
    if (!ls_speech_queue_current(w->q, w->generation))   /* interrupted before wake() could see it */
        g_cancellable_cancel(cancel);
    s->engine->cancel = cancel;
    if (s->engine->synthesize(s->engine, text, voice, on_samples, w, &err) < 0)
        fprintf(stderr, "lipstream: speech: %s\n", err.msg);
    if (too_long(w))
        fprintf(stderr, "lipstream: speech: the TTS made over %d s of audio for one piece of text; cut there\n",
                LS_SPEECH_MAX_CHUNK_S);
    s->engine->cancel = NULL;
    set_busy(s, w, NULL);
    g_object_unref(cancel);
    if (s->resampler && grow(s, 0, ls_resampler_max_output(s->resampler, 0)) == 0) {
        int64_t n = ls_resampler_finish(s->resampler, s->out);  /* the tail; also resets it */
        write_resampled(w, n);
    }
}

static void speak_item(ls_speech_service *s, ls_speech_queue *q, ls_speech_item *item)
{
    chunk_writer w = { .s = s, .q = q, .generation = item->generation };
    if (ls_speech_queue_begin(q, w.generation, item->text) < 0)
        return;
    if (item->audio) {
        for (size_t i = 0; i < item->n; i += COPY_BLOCK)
            if (ls_speech_queue_append(q, w.generation, item->audio + i,
                                       item->n - i < COPY_BLOCK ? item->n - i : COPY_BLOCK) < 0)
                return;
    } else {
        speak_text(s, &w, item->text, item->voice);
    }
    ls_speech_queue_end(q, w.generation);
}

/* The next queue (round robin) with an item to take; lock held. */
static ls_speech_queue *take_next(ls_speech_service *s, ls_speech_item *item)
{
    for (size_t k = 0; k < s->n; k++) {
        size_t i = (s->next + k) % s->n;
        if (ls_speech_queue_take(s->queues[i], MAX_AHEAD_MS, item)) {
            s->next = i + 1;
            return ls_speech_queue_ref(s->queues[i]);
        }
    }
    return NULL;
}

static void *run(void *arg)
{
    ls_speech_service *s = arg;
    pthread_mutex_lock(&s->lock);
    while (!s->stop) {
        ls_speech_item item;
        s->woken = 0;
        ls_speech_queue *q = take_next(s, &item);
        if (q) {
            pthread_mutex_unlock(&s->lock);
            speak_item(s, q, &item);
            ls_speech_item_clear(&item);
            ls_speech_queue_unref(q);
            pthread_mutex_lock(&s->lock);
            continue;
        }
        if (s->woken)
            continue;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += POLL_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->cond, &s->lock, &until);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* A queue had an item added or was interrupted: take it, and cancel its
 * synthesis in flight if that has gone stale. */
static void wake(void *user)
{
    ls_speech_service *s = user;
    GCancellable *stale = NULL;
    pthread_mutex_lock(&s->lock);
    s->woken = 1;
    pthread_cond_signal(&s->cond);
    if (s->busy.queue && !ls_speech_queue_current(s->busy.queue, s->busy.generation))
        stale = g_object_ref(s->busy.cancel);
    pthread_mutex_unlock(&s->lock);
    if (stale) {   /* outside the lock: its handlers may take locks of their own */
        g_cancellable_cancel(stale);
        g_object_unref(stale);
    }
}

int ls_speech_service_start(ls_tts_engine *engine, ls_speech_service **out, ls_error *err)
{
    ls_speech_service *s = calloc(1, sizeof *s);
    if (!s)
        return ls_error_set(err, "out of memory");
    s->engine = engine;
    if (engine->rate != LS_SPEECH_RATE &&
        ls_resampler_new(engine->rate, LS_SPEECH_RATE, &s->resampler, err) < 0) {
        free(s);
        return -1;
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    if (pthread_create(&s->thread, NULL, run, s) != 0) {
        ls_resampler_free(s->resampler);
        free(s);
        return ls_error_set(err, "speech: cannot start its thread");
    }
    *out = s;
    return 0;
}

void ls_speech_service_stop(ls_speech_service *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->stop = 1;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    for (size_t i = 0; i < s->n; i++) {
        ls_speech_queue_set_wake(s->queues[i], NULL, NULL);
        ls_speech_queue_unref(s->queues[i]);
    }
    free(s->queues);
    ls_resampler_free(s->resampler);
    free(s->in);
    free(s->out);
    free(s->pcm);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

void ls_speech_service_attach(ls_speech_service *s, ls_speech_queue *q)
{
    pthread_mutex_lock(&s->lock);
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 8;
        ls_speech_queue **queues = realloc(s->queues, cap * sizeof *queues);
        if (!queues) {  /* cannot happen in practice; the session then stays silent */
            pthread_mutex_unlock(&s->lock);
            fprintf(stderr, "lipstream: speech: out of memory\n");
            return;
        }
        s->queues = queues;
        s->cap = cap;
    }
    s->queues[s->n++] = ls_speech_queue_ref(q);
    pthread_mutex_unlock(&s->lock);
    ls_speech_queue_set_wake(q, wake, s);
}

void ls_speech_service_detach(ls_speech_service *s, ls_speech_queue *q)
{
    ls_speech_queue_set_wake(q, NULL, NULL);
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->n; i++) {
        if (s->queues[i] == q) {
            s->queues[i] = s->queues[--s->n];
            ls_speech_queue_unref(q);
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
}
