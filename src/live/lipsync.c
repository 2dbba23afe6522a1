/*
 * lipsync.c - the session engine of lipsync.h.
 *
 * Pending output frames wait in a ring, oldest first, each in a stage:
 *   AWAIT_AUDIO  its second audio frame has not come yet;
 *   AWAIT_BATCH  its batch's features wait for the right context;
 *   INFER        its batch went to the worker in a slot;
 *   READY        nothing to wait for.
 * A slot holds one batch's worker job and buffers (chunks, latent pointers,
 * faces); there are max_in_flight of them. A slot is busy from submission
 * until its job is taken back from the worker, and in use until every frame
 * of its batch has been popped.
 */
#include "live/lipsync.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "live/compose.h"

typedef enum frame_stage { AWAIT_AUDIO, AWAIT_BATCH, INFER, READY } frame_stage;

typedef struct slot {
    ls_infer_job job;        /* first member: a job pointer is its slot's */
    const float **latents;   /* (B) avatar latents, NULL for frames not inferred */
    float *chunks;           /* (B, tokens, dim) */
    uint8_t *faces;          /* (B, face_height, face_width, 3), or with the worker's
                                paste (B, avatar height, width, 3): whole frames */
    int *frame_index;        /* (B) avatar frames, for the paste */
    uint8_t *device_frames;  /* (B, avatar frame) the worker's backend memory, for the paste */
    int busy;                /* at the worker, not yet taken back */
    int unpopped;            /* frames of its batch still pending */
} slot;

typedef struct pending {
    int16_t audio[LS_LIPSYNC_AUDIO];
    int types[2];
    void *events[2];
    ls_frame_choice choice;
    frame_stage stage;
    slot *slot;
    int index;               /* in the slot's batch */
} pending;

#define NO_REQUEST 0
#define REQUEST_INTERRUPT (-1)

struct ls_lipsync {
    ls_lipsync_config config;
    ls_frame_plan *plan;
    ls_compose *compose;
    ls_stream_features *features;   /* NULL without models */
    nn_ctx *ctx;                    /* the whisper encoder's */
    ls_infer_client *client;
    slot *slots;
    int face_height, face_width;
    int64_t face_bytes;             /* of a slot's face: a whole frame with the paste */
    const nn_backend *paste_on;     /* the worker's backend when it pastes, else NULL */
    pending *ring;
    int capacity, head, count;
    int64_t audio_frames, batches, popped;
    ls_lipsync_stats stats;
    pthread_mutex_t request_lock;
    int request;                    /* NO_REQUEST, REQUEST_INTERRUPT or an audiotype */
    int silence_next_speech;        /* an interrupt was carried out before the next push */
};

/* --- set-up ---------------------------------------------------------------- */

static int check_models(const ls_lipsync_config *cf, ls_error *err)
{
    if (!cf->whisper != !cf->worker)
        return ls_error_set(err, "lipsync: the whisper encoder and the worker go together");
    if (!cf->worker)
        return 0;
    const ls_infer_config *wc = ls_infer_worker_config(cf->worker);
    if (!cf->avatar->latents)
        return ls_error_set(err, "avatar %s has no latents (make them with `lipstream avatar "
                            "create --weights_dir`)", cf->avatar->dir ? cf->avatar->dir : "");
    if (wc->latent_channels != LS_AVATAR_LATENT_CHANNELS ||
        wc->latent_height != LS_AVATAR_LATENT_SIDE || wc->latent_width != LS_AVATAR_LATENT_SIDE)
        return ls_error_set(err, "lipsync: the worker takes (%d, %d, %d) latents, avatars have "
                            "(%d, %d, %d)", wc->latent_channels, wc->latent_height,
                            wc->latent_width, LS_AVATAR_LATENT_CHANNELS, LS_AVATAR_LATENT_SIDE,
                            LS_AVATAR_LATENT_SIDE);
    if (wc->paste && !cf->avatar->device)
        return ls_error_set(err, "avatar %s is not on the worker's device (ls_avatar_upload)",
                            cf->avatar->dir ? cf->avatar->dir : "");
    if (wc->tokens != LS_CHUNK_STEPS * ls_whisper_n_states(cf->whisper) ||
        wc->dim != cf->whisper->n_state)
        return ls_error_set(err, "lipsync: the worker takes (%d, %d) audio chunks, the whisper "
                            "encoder makes (%d, %d)", wc->tokens, wc->dim,
                            LS_CHUNK_STEPS * ls_whisper_n_states(cf->whisper),
                            cf->whisper->n_state);
    return 0;
}

/* " (device memory: U of T MiB in use)" where the backend can say, else "". */
static const char *device_memory_note(const nn_backend *be, char *buf, size_t size)
{
    size_t used, total;
    if (!be->memory_info || be->memory_info(&used, &total) != 0)
        return "";
    snprintf(buf, size, " (device memory: %zu of %zu MiB in use)", used >> 20, total >> 20);
    return buf;
}

static int make_slots(ls_lipsync *s, ls_error *err)
{
    const ls_lipsync_config *cf = &s->config;
    const ls_infer_config *wc = ls_infer_worker_config(cf->worker);
    ls_infer_face_shape(cf->worker, &s->face_height, &s->face_width);
    s->face_bytes = (int64_t)s->face_height * s->face_width * 3;
    if (wc->paste) {
        s->paste_on = ls_infer_worker_backend(cf->worker);
        s->face_bytes = (int64_t)cf->avatar->width * cf->avatar->height * 3;
    }
    s->slots = calloc((size_t)cf->max_in_flight, sizeof *s->slots);
    if (!s->slots)
        return ls_error_set(err, "lipsync: out of memory");
    for (int k = 0; k < cf->max_in_flight; k++) {
        slot *sl = &s->slots[k];
        sl->latents = calloc((size_t)cf->batch_size, sizeof *sl->latents);
        sl->chunks = malloc((size_t)cf->batch_size * wc->tokens * wc->dim * sizeof *sl->chunks);
        sl->faces = nn_host_alloc(s->paste_on, (size_t)(cf->batch_size * s->face_bytes));
        if (!sl->latents || !sl->chunks || !sl->faces)
            return ls_error_set(err, "lipsync: out of memory");
        if (s->paste_on &&
            (!(sl->frame_index = calloc((size_t)cf->batch_size, sizeof *sl->frame_index)) ||
             !(sl->device_frames = s->paste_on->alloc((size_t)(cf->batch_size * s->face_bytes)))))
            return ls_error_exhausted(err, "lipsync: out of %s memory for %d frames of %dx%d",
                                      s->paste_on->name, cf->batch_size, cf->avatar->width,
                                      cf->avatar->height);
    }
    if (ls_stream_features_new(cf->whisper, cf->batch_size, cf->window, &s->features, err) != 0)
        return -1;
    const nn_backend *be = ls_whisper_backend(cf->whisper);
    s->ctx = nn_ctx_new(be);
    char memory[64];
    if (!s->ctx)
        return ls_error_exhausted(err, "lipsync: cannot make a %s context for another session's whisper "
                                  "encoder%s", be->name, device_memory_note(be, memory, sizeof memory));
    if (cf->reserve_bytes && nn_arena_reserve(s->ctx->arena, cf->reserve_bytes) != 0)
        return ls_error_exhausted(err, "lipsync: no %s memory left for another session's whisper "
                                  "encoder (%zu MiB)%s", be->name, cf->reserve_bytes >> 20,
                                  device_memory_note(be, memory, sizeof memory));
    return ls_infer_client_new(cf->worker, cf->max_in_flight, NULL, NULL, &s->client, err);
}

int ls_lipsync_measure(const ls_whisper *whisper, int batch_size, ls_stream_window window,
                       size_t *bytes, ls_error *err)
{
    *bytes = 0;
    ls_stream_features *features = NULL;
    if (ls_stream_features_new(whisper, batch_size, window, &features, err) != 0)
        return -1;
    const nn_backend *be = ls_whisper_backend(whisper);
    nn_ctx *ctx = nn_ctx_new(be);
    size_t chunk_floats = (size_t)ls_stream_features_tokens(features) *
                          (size_t)ls_stream_features_dim(features);
    float *chunks = malloc((size_t)batch_size * chunk_floats * sizeof *chunks);
    int rc = -1;
    if (!ctx || !chunks) {
        ls_error_set(err, "lipsync: out of memory measuring a session");
        goto done;
    }
    static const float silence[LS_STREAM_FRAME];
    while (!ls_stream_features_push(features, silence))
        ;
    if (ls_stream_features_take(features, ctx, NULL, chunks, NULL, err) != 0)
        goto done;
    *bytes = nn_arena_peak(ctx->arena);
    rc = 0;
done:
    free(chunks);
    nn_ctx_free(ctx);
    ls_stream_features_free(features);
    return rc;
}

int ls_lipsync_new(const ls_lipsync_config *config, ls_lipsync **out, ls_error *err)
{
    *out = NULL;
    if (config->batch_size < 1 || config->max_in_flight < 1 || config->avatar->nframes < 1)
        return ls_error_set(err, "lipsync: the batch size, max_in_flight and the avatar's frame "
                            "count must be positive");
    if (check_models(config, err) != 0)
        return -1;
    ls_lipsync *s = calloc(1, sizeof *s);
    if (!s)
        return ls_error_set(err, "lipsync: out of memory");
    s->config = *config;
    pthread_mutex_init(&s->request_lock, NULL);
    /* frames waiting for their batch (B + the right context), the batches at
     * the worker, and one batch being popped */
    s->capacity = (config->max_in_flight + 2) * config->batch_size + LS_STREAM_CONTEXT / 2 + 1;
    s->ring = calloc((size_t)s->capacity, sizeof *s->ring);
    int transition = (int)lround(config->transition_ms / 1000.0 * LS_STREAM_FPS);
    if (!s->ring) {
        ls_error_set(err, "lipsync: out of memory");
        goto fail;
    }
    if (ls_frame_plan_new(config->clips, config->avatar->nframes, &s->plan, err) != 0 ||
        ls_compose_new(config->avatar, transition, &s->compose, err) != 0 ||
        (config->worker && make_slots(s, err) != 0))
        goto fail;
    *out = s;
    return 0;
fail:
    ls_lipsync_free(s);
    return -1;
}

void ls_lipsync_free(ls_lipsync *s)
{
    if (!s)
        return;
    ls_infer_client_free(s->client);
    for (int k = 0; s->slots && k < s->config.max_in_flight; k++) {
        free(s->slots[k].latents);
        free(s->slots[k].chunks);
        nn_host_free(s->paste_on, s->slots[k].faces);
        free(s->slots[k].frame_index);
        if (s->slots[k].device_frames)
            s->paste_on->free(s->slots[k].device_frames);
    }
    free(s->slots);
    nn_ctx_free(s->ctx);
    ls_stream_features_free(s->features);
    ls_compose_free(s->compose);
    ls_frame_plan_free(s->plan);
    free(s->ring);
    pthread_mutex_destroy(&s->request_lock);
    free(s);
}

/* --- requests from other threads -------------------------------------------- */

int ls_lipsync_set_audiotype(ls_lipsync *s, int audiotype, ls_error *err)
{
    if (audiotype < 2 || !ls_action_clips_find(s->config.clips, audiotype))
        return ls_error_set(err, "no action clip for audiotype %d", audiotype);
    pthread_mutex_lock(&s->request_lock);
    s->request = audiotype;
    pthread_mutex_unlock(&s->request_lock);
    return 0;
}

void ls_lipsync_abandon(ls_lipsync *s)
{
    if (s && s->client)
        ls_infer_client_close(s->client);
}

void ls_lipsync_interrupt(ls_lipsync *s)
{
    pthread_mutex_lock(&s->request_lock);
    s->request = REQUEST_INTERRUPT;
    pthread_mutex_unlock(&s->request_lock);
}

static int take_request(ls_lipsync *s, int interrupt_only)
{
    pthread_mutex_lock(&s->request_lock);
    int request = s->request;
    if (!interrupt_only || request == REQUEST_INTERRUPT)
        s->request = NO_REQUEST;
    pthread_mutex_unlock(&s->request_lock);
    return interrupt_only && request != REQUEST_INTERRUPT ? NO_REQUEST : request;
}

static void flush_speech(ls_lipsync *s);

/* Before a push: starts a requested clip, or carries out an interrupt. */
static void apply_request(ls_lipsync *s)
{
    int request = take_request(s, 0);
    if (request == REQUEST_INTERRUPT)
        flush_speech(s);
    else if (request != NO_REQUEST)
        ls_frame_plan_set_audiotype(s->plan, request, NULL);   /* checked when asked */
}

/* --- batches ----------------------------------------------------------------- */

static pending *frame_at(ls_lipsync *s, int64_t frame)
{
    return &s->ring[(s->head + (frame - s->popped)) % s->capacity];
}

static const float *latent_of(const ls_lipsync *s, const pending *p)
{
    return p->choice.kind == LS_FRAME_SPEAK ? ls_avatar_latent(s->config.avatar,
                                                               p->choice.avatar_index)
                                            : NULL;
}

/* Takes finished jobs back from the worker (waiting for `until` when given). */
static void reap(ls_lipsync *s, const slot *until)
{
    ls_infer_job *job;
    while (s->client && (job = ls_infer_take(s->client, until && until->busy)) != NULL)
        ((slot *)job)->busy = 0;
}

static slot *free_slot(ls_lipsync *s)
{
    for (int k = 0; s->slots && k < s->config.max_in_flight; k++)
        if (!s->slots[k].busy && s->slots[k].unpopped == 0)
            return &s->slots[k];
    return NULL;
}

static int batch_needs_inference(ls_lipsync *s, int64_t batch)
{
    for (int m = 0; m < s->config.batch_size; m++)
        if (latent_of(s, frame_at(s, batch * s->config.batch_size + m)))
            return 1;
    return 0;
}

/* The ready batch: to the worker when it has frames to infer and a slot is
 * free; otherwise its frames are shown without inference. */
static int form_batch(ls_lipsync *s, ls_error *err)
{
    int B = s->config.batch_size;
    int64_t first = s->batches * B;
    slot *sl = batch_needs_inference(s, s->batches) ? free_slot(s) : NULL;
    if (ls_stream_features_take(s->features, s->ctx, NULL, sl ? sl->chunks : NULL, NULL, err) != 0)
        return -1;
    for (int m = 0; m < B; m++) {
        pending *p = frame_at(s, first + m);
        p->stage = sl ? INFER : READY;
        p->slot = sl;
        p->index = m;
        if (sl) {
            sl->latents[m] = latent_of(s, p);
            if (sl->frame_index)
                sl->frame_index[m] = p->choice.avatar_index;
        }
    }
    if (sl) {
        sl->job = (ls_infer_job){ .n = B, .latents = sl->latents, .chunks = sl->chunks,
                                  .faces = sl->faces, .avatar = s->config.avatar,
                                  .frame_index = sl->frame_index,
                                  .device_frames = sl->device_frames };
        sl->busy = 1;
        sl->unpopped = B;
        ls_infer_submit(s->client, &sl->job, 0);   /* never refused: one job per slot */
    }
    s->batches++;
    return 0;
}

/* --- interrupt ------------------------------------------------------------------ */

/* A pending frame stops speaking: its speech audio becomes silence, its
 * picture the idle avatar frame, and its face is no longer awaited. */
static void silence_frame(ls_lipsync *s, pending *p, int halves)
{
    int spoke = 0;
    for (int h = 0; h < halves; h++) {
        if (p->types[h] != LS_AUDIOTYPE_SPEECH)
            continue;
        memset(p->audio + h * LS_STREAM_FRAME, 0, LS_STREAM_FRAME * sizeof *p->audio);
        p->types[h] = LS_AUDIOTYPE_SILENCE;
        spoke = 1;
    }
    if (!spoke || p->stage == AWAIT_AUDIO)
        return;   /* a half-pushed frame gets its picture with its second half */
    if (p->choice.kind == LS_FRAME_SPEAK)
        p->choice.kind = LS_FRAME_IDLE;
    if (p->stage == INFER) {
        slot *sl = p->slot;
        ls_infer_skip_frame(s->client, &sl->job, p->index);
        if (--sl->unpopped == 0 && sl->busy)
            ls_infer_cancel(s->client, &sl->job);
        p->slot = NULL;
        p->stage = READY;
    }
}

/* Interrupt: the speech already pushed is dropped, so that the next frame
 * popped is silent and the avatar idle; the next speech frame pushed (one
 * taken from the speech queue before its interrupt) is silenced too. */
static void flush_speech(ls_lipsync *s)
{
    ls_frame_plan_interrupt(s->plan);
    int64_t pushed = s->popped + s->count;
    for (int64_t n = s->popped; n < pushed; n++) {
        pending *p = frame_at(s, n);
        silence_frame(s, p, n < s->audio_frames / 2 ? 2 : (int)(s->audio_frames % 2));
    }
    s->silence_next_speech = 1;
}

/* --- push -------------------------------------------------------------------- */

/* 1 when the next audio frame must wait (see lipsync.h). */
static int full(ls_lipsync *s)
{
    if (s->audio_frames % 2 == 0 && s->count == s->capacity)
        return 1;
    if (!s->features || s->config.lag_policy == LS_LAG_SKIP)
        return 0;
    int64_t ready_at = 2 * (s->batches + 1) * s->config.batch_size + LS_STREAM_CONTEXT;
    return s->audio_frames + 1 == ready_at && batch_needs_inference(s, s->batches) &&
           !free_slot(s);
}

int ls_lipsync_push(ls_lipsync *s, const int16_t *samples, int type, void *event, ls_error *err)
{
    reap(s, NULL);
    if (full(s))
        return 1;
    apply_request(s);
    int half = (int)(s->audio_frames % 2);
    if (!half)
        s->count++;
    pending *p = frame_at(s, s->audio_frames / 2);
    int16_t *audio = p->audio + half * LS_STREAM_FRAME;
    if (s->silence_next_speech && type == LS_AUDIOTYPE_SPEECH) {
        memset(audio, 0, LS_STREAM_FRAME * sizeof *audio);
        type = LS_AUDIOTYPE_SILENCE;
    } else {
        memcpy(audio, samples, LS_STREAM_FRAME * sizeof *audio);
    }
    s->silence_next_speech = 0;
    p->types[half] = ls_frame_plan_audio(s->plan, type, audio, LS_STREAM_FRAME);
    p->events[half] = event;
    p->stage = AWAIT_AUDIO;
    if (half) {
        p->choice = ls_frame_plan_next(s->plan, p->types[0], p->types[1]);
        p->stage = s->features ? AWAIT_BATCH : READY;
    }
    s->audio_frames++;
    if (!s->features)
        return 0;
    float frame[LS_STREAM_FRAME];
    for (int i = 0; i < LS_STREAM_FRAME; i++)
        frame[i] = audio[i] / 32768.0f;
    if (ls_stream_features_push(s->features, frame) && form_batch(s, err) != 0)
        return -1;
    return 0;
}

/* --- pop --------------------------------------------------------------------- */

/* The face of a frame at the worker, or NULL when it is not there in time. */
static const uint8_t *face_of(ls_lipsync *s, pending *p, int due)
{
    slot *sl = p->slot;
    if (sl->busy && due && s->config.lag_policy == LS_LAG_WAIT)
        reap(s, sl);
    const uint8_t *face = !sl->busy && sl->latents[p->index] && !sl->job.cancelled
                              ? sl->faces + p->index * s->face_bytes
                              : NULL;
    if (--sl->unpopped == 0 && sl->busy)
        ls_infer_cancel(s->client, &sl->job);   /* nobody will show its faces */
    return face;
}

int ls_lipsync_pop(ls_lipsync *s, int due, ls_lipsync_frame *out, ls_error *err)
{
    if (take_request(s, 1) == REQUEST_INTERRUPT)   /* not held up by a full engine */
        flush_speech(s);
    reap(s, NULL);
    if (s->count == 0)
        return 0;
    pending *p = &s->ring[s->head];
    if (p->stage == AWAIT_AUDIO || p->stage == AWAIT_BATCH)
        return 0;
    if (p->stage == INFER && p->slot->busy && !due)
        return 0;
    const uint8_t *face = p->stage == INFER ? face_of(s, p, due) : NULL;
    int rc = face && s->paste_on
                 ? ls_compose_pasted(s->compose, &p->choice, face, &out->image, err)
                 : ls_compose_frame(s->compose, &p->choice, face, s->face_height, s->face_width,
                                    &out->image, err);
    if (rc != 0)
        return -1;
    out->n = s->popped;
    memcpy(out->audio, p->audio, sizeof out->audio);
    memcpy(out->types, p->types, sizeof out->types);
    memcpy(out->events, p->events, sizeof out->events);
    out->kind = p->choice.kind;
    out->lipsynced = face != NULL;
    s->stats.frames++;
    s->stats.lipsynced += out->lipsynced;
    s->stats.skipped += s->features && !face && latent_of(s, p) != NULL;
    s->head = (s->head + 1) % s->capacity;
    s->count--;
    s->popped++;
    return 1;
}

void ls_lipsync_stats_get(const ls_lipsync *s, ls_lipsync_stats *out)
{
    *out = s->stats;
    out->pending = s->count;
    out->in_flight = s->client ? ls_infer_in_flight(s->client) : 0;
}
