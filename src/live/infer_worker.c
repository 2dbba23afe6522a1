/*
 * infer_worker.c - the shared inference thread of infer_worker.h.
 *
 * One lock guards the job queue (a list in submission order across
 * clients), every client's list of jobs not yet taken, and the statistics.
 * The thread gathers a batch under the lock (walking the queue from its
 * head, so a job leaves the queue once all its frames are assigned), renders
 * without the lock, then, under the lock again, finishes the jobs whose
 * last frames were in the batch and wakes everyone waiting ("progress").
 * A frame's latent pointer is read under the lock, when the frame joins a
 * batch (ls_infer_skip_frame may clear it meanwhile).
 */
#include "live/infer_worker.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "avatar/avatar_device.h"
#include "avatar/paste.h"
#include "live/rate_meter.h"
#include "nn/nn.h"

typedef struct batch_slot {
    ls_infer_job *job;
    int frame;
    const float *latent;     /* the frame's latent when it joined the batch */
} batch_slot;

struct ls_infer_worker {
    const ls_musetalk *model;
    ls_infer_config config;
    nn_ctx *ctx;
    int face_height, face_width;
    int64_t latent_floats, chunk_floats, face_bytes;
    float *latents;          /* (batch_size, C, H, W) */
    float *chunks;           /* (batch_size, tokens, dim) */
    uint8_t *faces;          /* (batch_size, face_bytes), without paste */
    nn_paste *pastes;        /* (batch_size), with paste */
    batch_slot *slots;       /* (batch_size) where each batch frame came from */

    pthread_t thread;
    int started;              /* the thread runs */
    pthread_mutex_t lock;
    pthread_cond_t work;      /* a job was queued, or stop */
    pthread_cond_t progress;  /* jobs finished */
    ls_infer_job *head, *tail;
    int clients;
    int stop;
    ls_infer_stats stats;
    uint64_t started_layout;        /* the arena's layout once started (nn_arena_layout) */
    ls_rate_meter rendered, busy;   /* frames and busy seconds, by the end of each call */
};

struct ls_infer_client {
    ls_infer_worker *worker;
    int max_in_flight, in_flight;
    int closed;                      /* ls_infer_client_close: every job cancelled on arrival */
    ls_infer_job *oldest, *newest;   /* submitted, not taken */
    void (*notify)(void *user);
    void *user;
};

/* --- the queue (lock held) ------------------------------------------------ */

static void finish(ls_infer_job *job)
{
    job->priv.finished = 1;
    ls_infer_client *c = job->priv.client;
    c->in_flight--;
    if (c->notify)
        c->notify(c->user);
}

static void unlink_job(ls_infer_worker *w, ls_infer_job *job)
{
    ls_infer_job *prev = NULL;
    for (ls_infer_job *j = w->head; j && j != job; j = j->priv.queue_next)
        prev = j;
    if (prev)
        prev->priv.queue_next = job->priv.queue_next;
    else
        w->head = job->priv.queue_next;
    if (w->tail == job)
        w->tail = prev;
    job->priv.queue_next = NULL;
}

/* Assigns up to batch_size frames from the head of the queue. */
static int gather_batch(ls_infer_worker *w)
{
    int count = 0;
    while (w->head && count < w->config.batch_size) {
        ls_infer_job *job = w->head;
        while (job->priv.next < job->n && count < w->config.batch_size) {
            int i = job->priv.next++;
            if (!job->latents[i]) {
                w->stats.skipped++;
                continue;
            }
            w->slots[count++] = (batch_slot){ job, i, job->latents[i] };
            job->priv.rendering++;
        }
        if (job->priv.next < job->n)
            break;
        unlink_job(w, job);   /* all assigned */
        if (job->priv.rendering == 0)
            finish(job);
    }
    return count;
}

/* --- the thread ----------------------------------------------------------- */

/* The statistics of the context's memory and recordings (the worker's
 * thread, or before it starts; lock held once it runs). */
static void note_context(ls_infer_worker *w)
{
    const nn_arena *arena = w->ctx->arena;
    w->stats.activation_bytes = nn_arena_size(arena);
    w->stats.activation_growths = (int64_t)(nn_arena_layout(arena) - w->started_layout);
    w->stats.passes = nn_recording_stats_of(w->ctx);
}

/* The statistics of a render call of `count` frames (lock held). */
static void count_batch(ls_infer_worker *w, int count, double start, double end)
{
    ls_infer_stats *st = &w->stats;
    int jobs = 0, clients = 0;
    for (int k = 0; k < count; k++) {
        int job_seen = 0, client_seen = 0;
        for (int j = 0; j < k; j++) {
            job_seen |= w->slots[j].job == w->slots[k].job;
            client_seen |= w->slots[j].job->priv.client == w->slots[k].job->priv.client;
        }
        jobs += !job_seen;
        clients += !client_seen;
    }
    st->busy_s += end - start;
    st->frames += count;
    st->batches++;
    st->merged += clients > 1;
    st->multi_job += jobs > 1;
    if (count > st->largest_batch)
        st->largest_batch = count;
    if (st->nrecent == LS_INFER_RECENT)
        memmove(st->recent, st->recent + 1, (LS_INFER_RECENT - 1) * sizeof *st->recent);
    else
        st->nrecent++;
    st->recent[st->nrecent - 1] = (ls_infer_batch){ start, end, count, jobs, clients };
    ls_rate_meter_add(&w->rendered, end, count);
    ls_rate_meter_add(&w->busy, end, end - start);
    note_context(w);
}

/* Bytes of one of the job's frames (with paste). */
static int64_t frame_bytes(const ls_infer_job *job)
{
    return (int64_t)job->avatar->width * job->avatar->height * 3;
}

/* The batch's faces pasted into their frames on the device, each frame
 * downloaded into its job. */
static void render_pasted(ls_infer_worker *w, int count, const nn_tensor *latents,
                          const nn_tensor *audio)
{
    nn_ctx *c = w->ctx;
    nn_arena_mark mark = nn_arena_get_mark(c->arena);
    nn_tensor x = ls_musetalk_generate(w->model, c, latents, audio);
    for (int k = 0; k < count; k++) {
        const ls_infer_job *job = w->slots[k].job;
        int i = w->slots[k].frame;
        w->pastes[k] = ls_avatar_paste(job->avatar, job->frame_index[i],
                                       job->device_frames + i * frame_bytes(job));
    }
    ls_paste_faces(c, &x, w->pastes);
    /* one copy per run of a job's consecutive frames (a batch is mostly one or two runs) */
    for (int k = 0, run; k < count; k += run) {
        const ls_infer_job *job = w->slots[k].job;
        for (run = 1; k + run < count && w->slots[k + run].job == job &&
                      w->slots[k + run].frame == w->slots[k].frame + run;
             run++)
            ;
        int64_t bytes = frame_bytes(job), at = w->slots[k].frame * bytes;
        c->be->download(c, job->faces + at, job->device_frames + at, (size_t)(bytes * run));
    }
    nn_arena_release(c->arena, mark);
}

static void render(ls_infer_worker *w, int count)
{
    for (int k = 0; k < count; k++) {
        const ls_infer_job *job = w->slots[k].job;
        int i = w->slots[k].frame;
        memcpy(w->latents + k * w->latent_floats, w->slots[k].latent,
               (size_t)w->latent_floats * sizeof *w->latents);
        memcpy(w->chunks + k * w->chunk_floats, job->chunks + i * w->chunk_floats,
               (size_t)w->chunk_floats * sizeof *w->chunks);
    }
    const ls_infer_config *cf = &w->config;
    nn_tensor latents = nn_view4(w->latents, count, cf->latent_channels, cf->latent_height,
                                 cf->latent_width);
    nn_tensor audio = nn_view3(w->chunks, count, cf->tokens, cf->dim);
    if (cf->paste) {
        render_pasted(w, count, &latents, &audio);
        return;
    }
    ls_musetalk_render(w->model, w->ctx, &latents, &audio, w->faces);
    for (int k = 0; k < count; k++) {
        ls_infer_job *job = w->slots[k].job;
        memcpy(job->faces + w->slots[k].frame * w->face_bytes, w->faces + k * w->face_bytes,
               (size_t)w->face_bytes);
    }
}

static void *worker_main(void *arg)
{
    ls_infer_worker *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->stop && !w->head)
            pthread_cond_wait(&w->work, &w->lock);
        if (w->stop)
            break;
        int count = gather_batch(w);
        if (count > 0) {
            pthread_mutex_unlock(&w->lock);
            double start = ls_monotonic_s();
            render(w, count);
            double end = ls_monotonic_s();
            pthread_mutex_lock(&w->lock);
            count_batch(w, count, start, end);
            for (int k = 0; k < count; k++) {
                ls_infer_job *job = w->slots[k].job;
                job->inferred++;
                if (--job->priv.rendering == 0 && job->priv.next == job->n)
                    finish(job);
            }
        }
        pthread_cond_broadcast(&w->progress);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* --- the worker ----------------------------------------------------------- */

/* `count` of the zero frames through the model, results dropped. */
static void warm_up_pass(ls_infer_worker *w, int count)
{
    const ls_infer_config *cf = &w->config;
    nn_tensor latents = nn_view4(w->latents, count, cf->latent_channels, cf->latent_height,
                                 cf->latent_width);
    nn_tensor audio = nn_view3(w->chunks, count, cf->tokens, cf->dim);
    nn_ctx *c = w->ctx;
    nn_arena_mark mark = nn_arena_get_mark(c->arena);
    ls_musetalk_generate(w->model, c, &latents, &audio);
    nn_arena_release(c->arena, mark);
}

/* The start-up passes of ls_infer_worker_new. The batches a session makes
 * start from the arena's beginning, like these: they find the same layout
 * and addresses, so the recordings made here are theirs. */
static void warm_up(ls_infer_worker *w)
{
    const ls_infer_config *cf = &w->config;
    double start = ls_monotonic_s();
    memset(w->latents, 0, (size_t)cf->batch_size * w->latent_floats * sizeof *w->latents);
    memset(w->chunks, 0, (size_t)cf->batch_size * w->chunk_floats * sizeof *w->chunks);
    nn_ctx *c = w->ctx;
    warm_up_pass(w, cf->batch_size);
    c->be->synchronize(c);
    nn_arena_reset(c->arena);
    /* each size until it is recorded (the largest sizes, as many as a context keeps):
       its first pass on a new layout runs as it is, the next records */
    int smallest = cf->batch_size > NN_RECORDINGS ? cf->batch_size - NN_RECORDINGS + 1 : 1;
    for (int count = cf->batch_size; c->be->record_begin && count >= smallest; count--) {
        nn_recording_stats before = nn_recording_stats_of(c), now = before;
        for (int run = 0; run < 2 && now.recorded + now.failed == before.recorded + before.failed;
             run++) {
            warm_up_pass(w, count);
            now = nn_recording_stats_of(c);
        }
    }
    c->be->synchronize(c);
    w->stats.warm_up_s = ls_monotonic_s() - start;
}

int ls_infer_worker_new(const ls_musetalk *m, const ls_infer_config *config,
                        ls_infer_worker **out, ls_error *err)
{
    *out = NULL;
    const ls_infer_config *cf = config;
    if (cf->batch_size < 1 || cf->latent_channels < 1 || cf->latent_height < 1 ||
        cf->latent_width < 1 || cf->tokens < 1 || cf->dim < 1)
        return ls_error_set(err, "inference worker: batch size and shapes must be positive");
    nn_tensor latents = { .ndim = 4, .shape = { 1, cf->latent_channels, cf->latent_height,
                                                 cf->latent_width } };
    nn_tensor audio = { .ndim = 3, .shape = { 1, cf->tokens, cf->dim } };
    if (ls_musetalk_check_inputs(m, &latents, &audio, err) != 0)
        return ls_error_prefix(err, "inference worker");
    ls_infer_worker *w = calloc(1, sizeof *w);
    if (!w)
        return ls_error_set(err, "inference worker: out of memory");
    w->model = m;
    w->config = *cf;
    w->latent_floats = (int64_t)cf->latent_channels * cf->latent_height * cf->latent_width;
    w->chunk_floats = (int64_t)cf->tokens * cf->dim;
    w->face_height = (int)ls_musetalk_face_size(m, cf->latent_height);
    w->face_width = (int)ls_musetalk_face_size(m, cf->latent_width);
    w->face_bytes = (int64_t)w->face_height * w->face_width * 3;
    w->ctx = nn_ctx_new(cf->backend ? cf->backend : nn_backend_cpu());
    w->latents = malloc((size_t)cf->batch_size * w->latent_floats * sizeof *w->latents);
    w->chunks = malloc((size_t)cf->batch_size * w->chunk_floats * sizeof *w->chunks);
    w->faces = cf->paste ? NULL : malloc((size_t)cf->batch_size * w->face_bytes);
    w->slots = malloc((size_t)cf->batch_size * sizeof *w->slots);
    w->pastes = cf->paste ? malloc((size_t)cf->batch_size * sizeof *w->pastes) : NULL;
    ls_rate_meter_init(&w->rendered, ls_monotonic_s());
    ls_rate_meter_init(&w->busy, ls_monotonic_s());
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->work, NULL);
    pthread_cond_init(&w->progress, NULL);
    if (!w->ctx || !w->latents || !w->chunks || !w->slots ||
        (cf->paste ? !w->pastes : !w->faces)) {
        ls_infer_worker_free(w);
        return ls_error_set(err, "inference worker: out of memory");
    }
    if (cf->warm_up)
        warm_up(w);
    w->started_layout = nn_arena_layout(w->ctx->arena);
    note_context(w);
    w->started = pthread_create(&w->thread, NULL, worker_main, w) == 0;
    if (!w->started) {
        ls_infer_worker_free(w);
        return ls_error_set(err, "inference worker: cannot start its thread");
    }
    *out = w;
    return 0;
}

void ls_infer_worker_free(ls_infer_worker *w)
{
    if (!w)
        return;
    NN_CHECK(w->clients == 0, "inference worker freed with clients attached");
    if (w->started) {
        pthread_mutex_lock(&w->lock);
        w->stop = 1;
        pthread_cond_signal(&w->work);
        pthread_mutex_unlock(&w->lock);
        pthread_join(w->thread, NULL);
    }
    pthread_cond_destroy(&w->progress);
    pthread_cond_destroy(&w->work);
    pthread_mutex_destroy(&w->lock);
    nn_ctx_free(w->ctx);
    free(w->latents);
    free(w->chunks);
    free(w->faces);
    free(w->pastes);
    free(w->slots);
    free(w);
}

const ls_infer_config *ls_infer_worker_config(const ls_infer_worker *w)
{
    return &w->config;
}

const nn_backend *ls_infer_worker_backend(const ls_infer_worker *w)
{
    return w->ctx->be;
}

void ls_infer_face_shape(const ls_infer_worker *w, int *height, int *width)
{
    *height = w->face_height;
    *width = w->face_width;
}

void ls_infer_worker_stats(ls_infer_worker *w, ls_infer_stats *out)
{
    double now = ls_monotonic_s();
    pthread_mutex_lock(&w->lock);
    *out = w->stats;
    out->clients = w->clients;
    out->recent_fps = ls_rate_meter_rate(&w->rendered, now, LS_INFER_RATE_WINDOW_S);
    out->busy_fraction = ls_rate_meter_rate(&w->busy, now, LS_INFER_RATE_WINDOW_S);
    out->queued_jobs = out->queued_frames = 0;
    for (const ls_infer_job *j = w->head; j; j = j->priv.queue_next) {
        out->queued_jobs++;
        for (int i = j->priv.next; i < j->n; i++)
            out->queued_frames += j->latents[i] != NULL;
    }
    pthread_mutex_unlock(&w->lock);
    out->fps = out->busy_s > 0 ? out->frames / out->busy_s : 0;
}

/* --- clients -------------------------------------------------------------- */

int ls_infer_client_new(ls_infer_worker *w, int max_in_flight, void (*notify)(void *user),
                        void *user, ls_infer_client **out, ls_error *err)
{
    *out = NULL;
    if (max_in_flight < 1)
        return ls_error_set(err, "inference client: max_in_flight must be at least 1");
    ls_infer_client *c = calloc(1, sizeof *c);
    if (!c)
        return ls_error_set(err, "inference client: out of memory");
    c->worker = w;
    c->max_in_flight = max_in_flight;
    c->notify = notify;
    c->user = user;
    pthread_mutex_lock(&w->lock);
    w->clients++;
    pthread_mutex_unlock(&w->lock);
    *out = c;
    return 0;
}

/* Stops a job's unstarted frames (lock held). */
static void cancel_locked(ls_infer_worker *w, ls_infer_job *job)
{
    if (job->priv.finished || job->priv.next == job->n)
        return;
    job->priv.next = job->n;
    job->cancelled = 1;
    unlink_job(w, job);
    if (job->priv.rendering == 0) {
        finish(job);
        pthread_cond_broadcast(&w->progress);   /* someone may be waiting to take it */
    }
}

static void cancel_all_locked(ls_infer_worker *w, ls_infer_client *c)
{
    for (ls_infer_job *j = c->oldest; j; j = j->priv.client_next)
        cancel_locked(w, j);
}

void ls_infer_client_close(ls_infer_client *c)
{
    pthread_mutex_lock(&c->worker->lock);
    c->closed = 1;
    cancel_all_locked(c->worker, c);
    pthread_mutex_unlock(&c->worker->lock);
}

void ls_infer_client_free(ls_infer_client *c)
{
    if (!c)
        return;
    ls_infer_worker *w = c->worker;
    pthread_mutex_lock(&w->lock);
    cancel_all_locked(w, c);
    while (c->in_flight > 0)
        pthread_cond_wait(&w->progress, &w->lock);
    w->clients--;
    pthread_mutex_unlock(&w->lock);
    free(c);
}

int ls_infer_submit(ls_infer_client *c, ls_infer_job *job, int wait)
{
    ls_infer_worker *w = c->worker;
    pthread_mutex_lock(&w->lock);
    while (c->in_flight >= c->max_in_flight) {
        if (!wait) {
            pthread_mutex_unlock(&w->lock);
            return 1;
        }
        pthread_cond_wait(&w->progress, &w->lock);
    }
    job->inferred = 0;
    job->cancelled = 0;
    memset(&job->priv, 0, sizeof job->priv);
    job->priv.client = c;
    if (c->newest)
        c->newest->priv.client_next = job;
    else
        c->oldest = job;
    c->newest = job;
    if (w->tail)
        w->tail->priv.queue_next = job;
    else
        w->head = job;
    w->tail = job;
    c->in_flight++;
    w->stats.jobs++;
    if (c->closed)
        cancel_locked(w, job);
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->lock);
    return 0;
}

ls_infer_job *ls_infer_take(ls_infer_client *c, int wait)
{
    ls_infer_worker *w = c->worker;
    pthread_mutex_lock(&w->lock);
    ls_infer_job *job = c->oldest;
    while (job && !job->priv.finished && wait)
        pthread_cond_wait(&w->progress, &w->lock);
    if (job && job->priv.finished) {
        c->oldest = job->priv.client_next;
        if (!c->oldest)
            c->newest = NULL;
        job->priv.client_next = NULL;
    } else {
        job = NULL;
    }
    pthread_mutex_unlock(&w->lock);
    return job;
}

void ls_infer_cancel(ls_infer_client *c, ls_infer_job *job)
{
    pthread_mutex_lock(&c->worker->lock);
    cancel_locked(c->worker, job);
    pthread_mutex_unlock(&c->worker->lock);
}

void ls_infer_skip_frame(ls_infer_client *c, ls_infer_job *job, int i)
{
    pthread_mutex_lock(&c->worker->lock);
    job->latents[i] = NULL;
    pthread_mutex_unlock(&c->worker->lock);
}

int ls_infer_in_flight(ls_infer_client *c)
{
    pthread_mutex_lock(&c->worker->lock);
    int n = c->in_flight;
    pthread_mutex_unlock(&c->worker->lock);
    return n;
}
