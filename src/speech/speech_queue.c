/*
 * speech_queue.c - the per-session speech queue (see speech_queue.h).
 *
 * State under one mutex: a FIFO list of items, the chunk being written
 * (partial frame + one held-back finished frame), a growable ring of
 * finished frames, and the chunk now playing. A chunk's text is shared by
 * the frames that mark it through a small reference count (also under the
 * mutex). `generation` counts interrupts: whatever carries an older one is
 * dropped.
 */
#include "speech/speech_queue.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct ls_speech_chunk {
    int refs;
    char *text;
};

typedef struct frame {
    int16_t samples[LS_SPEECH_FRAME];
    ls_speech_chunk *start, *end;   /* set on a chunk's first / last frame */
} frame;

typedef struct item_node {
    ls_speech_item item;
    struct item_node *next;
} item_node;

struct ls_speech_queue {
    pthread_mutex_t lock;
    int refs;
    uint64_t generation;
    ls_speech_event_fn on_event;
    void *user;
    void (*wake)(void *);
    void *wake_user;

    item_node *items, *items_tail;
    size_t pending_text;            /* bytes of text in `items` */
    size_t pending_audio;           /* samples of audio in `items` */

    ls_speech_chunk *writing;       /* the chunk between begin and end */
    int need_start;                 /* its next finished frame is its first */
    int16_t partial[LS_SPEECH_FRAME];
    size_t partial_n;
    frame held;                     /* its last finished frame, not yet queued */
    int has_held;

    frame *ring;
    size_t cap, head, count;

    ls_speech_chunk *playing;       /* started and not ended */
};

// --- chunks and frames (lock held) ----------------------------------------------

static ls_speech_chunk *chunk_new(const char *text)
{
    ls_speech_chunk *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->text = strdup(text ? text : "");
    if (!c->text) {
        free(c);
        return NULL;
    }
    c->refs = 1;
    return c;
}

static ls_speech_chunk *chunk_ref(ls_speech_chunk *c)
{
    if (c)
        c->refs++;
    return c;
}

static void chunk_unref(ls_speech_chunk *c)
{
    if (c && --c->refs == 0) {
        free(c->text);
        free(c);
    }
}

static void frame_release(frame *f)
{
    chunk_unref(f->start);
    chunk_unref(f->end);
    f->start = f->end = NULL;
}

/* Appends a finished frame to the ring (takes its marks); -1 out of memory. */
static int ring_push(ls_speech_queue *q, const frame *f)
{
    if (q->count == q->cap) {
        size_t cap = q->cap ? 2 * q->cap : 64;
        frame *ring = malloc(cap * sizeof *ring);
        if (!ring)
            return -1;
        for (size_t i = 0; i < q->count; i++)
            ring[i] = q->ring[(q->head + i) % q->cap];
        free(q->ring);
        q->ring = ring;
        q->cap = cap;
        q->head = 0;
    }
    q->ring[(q->head + q->count) % q->cap] = *f;
    q->count++;
    return 0;
}

/* The partial frame is full (or padded): it becomes the held frame, and the
 * previously held one is queued. */
static int finish_frame(ls_speech_queue *q)
{
    if (q->has_held && ring_push(q, &q->held) < 0)
        return -1;
    memcpy(q->held.samples, q->partial, sizeof q->partial);
    q->held.start = q->need_start ? chunk_ref(q->writing) : NULL;
    q->held.end = NULL;
    q->has_held = 1;
    q->need_start = 0;
    q->partial_n = 0;
    return 0;
}

static void drop_writing(ls_speech_queue *q)
{
    if (q->has_held)
        frame_release(&q->held);
    q->has_held = 0;
    q->partial_n = 0;
    chunk_unref(q->writing);
    q->writing = NULL;
}

static void free_items(ls_speech_queue *q)
{
    for (item_node *it = q->items, *next; it; it = next) {
        next = it->next;
        ls_speech_item_clear(&it->item);
        free(it);
    }
    q->items = q->items_tail = NULL;
    q->pending_text = q->pending_audio = 0;
}

// --- life ----------------------------------------------------------------------

ls_speech_queue *ls_speech_queue_new(ls_speech_event_fn on_event, void *user)
{
    ls_speech_queue *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    pthread_mutex_init(&q->lock, NULL);
    q->refs = 1;
    q->on_event = on_event;
    q->user = user;
    return q;
}

ls_speech_queue *ls_speech_queue_ref(ls_speech_queue *q)
{
    __atomic_add_fetch(&q->refs, 1, __ATOMIC_RELAXED);
    return q;
}

void ls_speech_queue_unref(ls_speech_queue *q)
{
    if (!q || __atomic_sub_fetch(&q->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    free_items(q);
    drop_writing(q);
    for (size_t i = 0; i < q->count; i++)
        frame_release(&q->ring[(q->head + i) % q->cap]);
    free(q->ring);
    chunk_unref(q->playing);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

void ls_speech_queue_set_wake(ls_speech_queue *q, void (*wake)(void *), void *user)
{
    pthread_mutex_lock(&q->lock);
    q->wake = wake;
    q->wake_user = user;
    pthread_mutex_unlock(&q->lock);
}

// --- items -----------------------------------------------------------------------

static int add_item(ls_speech_queue *q, item_node *node, ls_error *err)
{
    pthread_mutex_lock(&q->lock);
    size_t text = node->item.audio ? 0 : strlen(node->item.text);
    size_t audio = node->item.audio ? node->item.n : 0;
    int too_much_text = q->pending_text + text > LS_SPEECH_MAX_PENDING_TEXT;
    int too_much_audio = q->pending_audio + audio > (size_t)LS_SPEECH_MAX_PENDING_AUDIO_S * LS_SPEECH_RATE;
    if (too_much_text || too_much_audio) {
        pthread_mutex_unlock(&q->lock);
        ls_speech_item_clear(&node->item);
        free(node);
        return too_much_text ? ls_error_exhausted(err, "too much text waiting to be spoken (limit %d bytes)",
                                                  LS_SPEECH_MAX_PENDING_TEXT)
                             : ls_error_exhausted(err, "too much audio waiting to be played (limit %d s)",
                                                  LS_SPEECH_MAX_PENDING_AUDIO_S);
    }
    q->pending_text += text;
    q->pending_audio += audio;
    if (q->items_tail)
        q->items_tail->next = node;
    else
        q->items = node;
    q->items_tail = node;
    void (*wake)(void *) = q->wake;
    void *wake_user = q->wake_user;
    pthread_mutex_unlock(&q->lock);
    if (wake)
        wake(wake_user);
    return 0;
}

int ls_speech_queue_add_text(ls_speech_queue *q, const char *text, ls_error *err)
{
    return ls_speech_queue_add_voiced_text(q, text, NULL, err);
}

int ls_speech_queue_add_voiced_text(ls_speech_queue *q, const char *text, ls_tts_voice *voice, ls_error *err)
{
    item_node *node = calloc(1, sizeof *node);
    if (!node || !(node->item.text = strdup(text))) {
        free(node);
        return ls_error_set(err, "out of memory");
    }
    node->item.voice = ls_tts_voice_ref(voice);
    return add_item(q, node, err);
}

int ls_speech_queue_add_audio(ls_speech_queue *q, const int16_t *samples, size_t n, const char *label,
                              ls_error *err)
{
    item_node *node = calloc(1, sizeof *node);
    if (node) {
        node->item.text = strdup(label ? label : "");
        node->item.audio = malloc((n ? n : 1) * sizeof *samples);
        node->item.n = n;
    }
    if (!node || !node->item.text || !node->item.audio) {
        if (node)
            ls_speech_item_clear(&node->item);
        free(node);
        return ls_error_set(err, "out of memory");
    }
    memcpy(node->item.audio, samples, n * sizeof *samples);
    return add_item(q, node, err);
}

static int64_t buffered_ms_locked(const ls_speech_queue *q)
{
    return (int64_t)(q->count + q->has_held) * 1000 * LS_SPEECH_FRAME / LS_SPEECH_RATE;
}

int ls_speech_queue_buffered_ms(ls_speech_queue *q)
{
    pthread_mutex_lock(&q->lock);
    int64_t ms = buffered_ms_locked(q);
    pthread_mutex_unlock(&q->lock);
    return (int)ms;
}

int ls_speech_queue_take(ls_speech_queue *q, int max_buffered_ms, ls_speech_item *item)
{
    pthread_mutex_lock(&q->lock);
    int64_t buffered_ms = buffered_ms_locked(q);
    item_node *node = q->items;
    if (!node || buffered_ms > max_buffered_ms) {
        pthread_mutex_unlock(&q->lock);
        return 0;
    }
    q->items = node->next;
    if (!q->items)
        q->items_tail = NULL;
    if (node->item.audio)
        q->pending_audio -= node->item.n;
    else
        q->pending_text -= strlen(node->item.text);
    *item = node->item;
    item->generation = q->generation;
    pthread_mutex_unlock(&q->lock);
    free(node);
    return 1;
}

void ls_speech_item_clear(ls_speech_item *item)
{
    free(item->text);
    free(item->audio);
    ls_tts_voice_unref(item->voice);
    memset(item, 0, sizeof *item);
}

// --- writing a chunk ------------------------------------------------------------------

int ls_speech_queue_begin(ls_speech_queue *q, uint64_t generation, const char *text)
{
    pthread_mutex_lock(&q->lock);
    int rc = -1;
    if (generation == q->generation) {
        drop_writing(q);  /* a chunk left open by its writer is abandoned */
        q->writing = chunk_new(text);
        q->need_start = 1;
        rc = q->writing ? 0 : -1;
    }
    pthread_mutex_unlock(&q->lock);
    return rc;
}

int ls_speech_queue_append(ls_speech_queue *q, uint64_t generation, const int16_t *samples, size_t n)
{
    pthread_mutex_lock(&q->lock);
    int rc = generation == q->generation && q->writing ? 0 : -1;
    while (rc == 0 && n > 0) {
        size_t take = LS_SPEECH_FRAME - q->partial_n;
        if (take > n)
            take = n;
        memcpy(q->partial + q->partial_n, samples, take * sizeof *samples);
        q->partial_n += take;
        samples += take;
        n -= take;
        if (q->partial_n == LS_SPEECH_FRAME)
            rc = finish_frame(q);
    }
    pthread_mutex_unlock(&q->lock);
    return rc;
}

int ls_speech_queue_end(ls_speech_queue *q, uint64_t generation)
{
    pthread_mutex_lock(&q->lock);
    int rc = -1;
    if (generation == q->generation && q->writing) {
        rc = 0;
        /* pad the last frame; a chunk without audio still plays one silent frame */
        if (q->partial_n > 0 || !q->has_held) {
            memset(q->partial + q->partial_n, 0, (LS_SPEECH_FRAME - q->partial_n) * sizeof *q->partial);
            rc = finish_frame(q);
        }
        if (rc == 0) {
            q->held.end = chunk_ref(q->writing);
            rc = ring_push(q, &q->held);
            if (rc == 0)
                q->has_held = 0;
        }
        drop_writing(q);
    }
    pthread_mutex_unlock(&q->lock);
    return rc;
}

// --- playing -----------------------------------------------------------------------------

static void add_mark(ls_speech_marks *marks, ls_speech_event_kind kind, ls_speech_chunk *chunk,
                     uint64_t generation)
{
    int max = (int)(sizeof marks->mark / sizeof marks->mark[0]);
    if (marks->n == max) {   /* more pops than reports: the oldest marks cannot be kept */
        chunk_unref(chunk);
        return;
    }
    marks->mark[marks->n].kind = kind;
    marks->mark[marks->n].chunk = chunk;
    marks->mark[marks->n].generation = generation;
    marks->n++;
}

int ls_speech_queue_pop(ls_speech_queue *q, int16_t out[LS_SPEECH_FRAME], ls_speech_marks *marks)
{
    pthread_mutex_lock(&q->lock);
    if (q->count == 0) {
        pthread_mutex_unlock(&q->lock);
        memset(out, 0, LS_SPEECH_FRAME * sizeof *out);
        return 0;
    }
    frame *f = &q->ring[q->head];
    memcpy(out, f->samples, sizeof f->samples);
    if (f->start)
        add_mark(marks, LS_SPEECH_START, f->start, q->generation);
    if (f->end)
        add_mark(marks, LS_SPEECH_END, f->end, q->generation);
    f->start = f->end = NULL;
    q->head = (q->head + 1) % q->cap;
    q->count--;
    pthread_mutex_unlock(&q->lock);
    return 1;
}

void ls_speech_queue_sent(ls_speech_queue *q, ls_speech_marks *marks)
{
    pthread_mutex_lock(&q->lock);
    for (int i = 0; i < marks->n; i++) {
        ls_speech_chunk *c = marks->mark[i].chunk;
        if (marks->mark[i].generation == q->generation) {
            if (marks->mark[i].kind == LS_SPEECH_START) {
                chunk_unref(q->playing);
                q->playing = chunk_ref(c);
            } else if (q->playing == c) {
                chunk_unref(q->playing);
                q->playing = NULL;
            }
            if (q->on_event)
                q->on_event(q->user, marks->mark[i].kind, c->text);
        }
        chunk_unref(c);
    }
    pthread_mutex_unlock(&q->lock);
    marks->n = 0;
}

void ls_speech_queue_unsent(ls_speech_queue *q, ls_speech_marks *marks)
{
    pthread_mutex_lock(&q->lock);
    for (int i = 0; i < marks->n; i++)
        chunk_unref(marks->mark[i].chunk);
    pthread_mutex_unlock(&q->lock);
    marks->n = 0;
}

void ls_speech_queue_interrupt(ls_speech_queue *q)
{
    pthread_mutex_lock(&q->lock);
    q->generation++;
    free_items(q);
    drop_writing(q);
    for (size_t i = 0; i < q->count; i++)
        frame_release(&q->ring[(q->head + i) % q->cap]);
    q->head = q->count = 0;
    if (q->playing) {
        if (q->on_event)
            q->on_event(q->user, LS_SPEECH_END, q->playing->text);
        chunk_unref(q->playing);
        q->playing = NULL;
    }
    void (*wake)(void *) = q->wake;
    void *wake_user = q->wake_user;
    pthread_mutex_unlock(&q->lock);
    if (wake)
        wake(wake_user);
}

int ls_speech_queue_current(ls_speech_queue *q, uint64_t generation)
{
    pthread_mutex_lock(&q->lock);
    int current = generation == q->generation;
    pthread_mutex_unlock(&q->lock);
    return current;
}

int ls_speech_queue_speaking(ls_speech_queue *q)
{
    pthread_mutex_lock(&q->lock);
    int speaking = q->playing != NULL;
    pthread_mutex_unlock(&q->lock);
    return speaking;
}
