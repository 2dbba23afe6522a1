/*
 * speech_queue.h - one session's speech: text waiting for synthesis, and
 * 20 ms audio frames (16 kHz mono) waiting to be sent, with their events.
 *
 * Writers add items: a text chunk (to be synthesised by the speech service,
 * speech/speech_service.h, with its request's voice override, if any) or
 * decoded audio (an upload). The service takes
 * items in order and writes each one's audio as a "chunk": begin, append
 * (any number of samples, as they are synthesised), end. Samples are cut into
 * 20 ms frames; the last frame is padded with silence. The first frame of a
 * chunk carries its start mark, the last its end mark (the queue holds one
 * finished frame back until it knows whether the chunk goes on, so the end
 * mark is never late).
 *
 * The producer (live/producer.h) pops frames - silence when nothing is
 * queued - and, once it has sent them, reports them back with
 * ls_speech_queue_sent(): that is when the events fire (`start` when a
 * chunk's first frame went out, `end` after its last), through the callback
 * given at creation, called with the queue's lock held, in order.
 *
 * Interrupt clears everything at once: queued items, audio, the chunk being
 * written (the writer sees its generation go stale and stops), and, when a
 * chunk was playing, fires its `end`. Frames popped before the interrupt and
 * reported after it fire nothing, so every `start` has exactly one `end`.
 *
 * Thread-safe; reference counted (the session and the speech service).
 */
#ifndef LS_SPEECH_SPEECH_QUEUE_H
#define LS_SPEECH_SPEECH_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "speech/tts_voice.h"
#include "util/error.h"

#define LS_SPEECH_RATE 16000
#define LS_SPEECH_FRAME 320                  /* samples in 20 ms */
#define LS_SPEECH_MAX_PENDING_TEXT (256 * 1024)   /* bytes of text waiting for synthesis */
#define LS_SPEECH_MAX_PENDING_AUDIO_S 1200         /* seconds of uploaded audio waiting to play */
#define LS_SPEECH_MAX_CHUNK_S 600                  /* seconds of audio one text chunk may make */

typedef struct ls_speech_queue ls_speech_queue;
typedef struct ls_speech_chunk ls_speech_chunk;

typedef enum ls_speech_event_kind {
    LS_SPEECH_START,
    LS_SPEECH_END,
} ls_speech_event_kind;

typedef void (*ls_speech_event_fn)(void *user, ls_speech_event_kind kind, const char *text);

/* Events of frames popped but not yet reported sent (up to two per frame). */
typedef struct ls_speech_marks {
    int n;
    struct {
        ls_speech_event_kind kind;
        ls_speech_chunk *chunk;
        uint64_t generation;
    } mark[8];
} ls_speech_marks;

/* An item taken by the speech service: text to synthesise, or ready audio. */
typedef struct ls_speech_item {
    char *text;          /* the text (synthesis) or a label (audio); the events' text */
    int16_t *audio;      /* NULL for text; else n 16 kHz samples */
    size_t n;
    ls_tts_voice *voice; /* text: its voice override (a reference held), or NULL */
    uint64_t generation;
} ls_speech_item;

ls_speech_queue *ls_speech_queue_new(ls_speech_event_fn on_event, void *user);
ls_speech_queue *ls_speech_queue_ref(ls_speech_queue *q);
void ls_speech_queue_unref(ls_speech_queue *q);

/* Queues text to speak (one chunk) with the configured voice, or with
 * `voice` (a reference is taken; NULL: the configured voice); -1 when the
 * queue holds too much text. */
int ls_speech_queue_add_text(ls_speech_queue *q, const char *text, ls_error *err);
int ls_speech_queue_add_voiced_text(ls_speech_queue *q, const char *text, ls_tts_voice *voice, ls_error *err);
/* Queues audio to play as one chunk (samples copied); `label` is its events' text.
 * -1 when the queue would hold more than LS_SPEECH_MAX_PENDING_AUDIO_S of
 * audio not yet playing (err kind LS_ERROR_EXHAUSTED), or out of memory. */
int ls_speech_queue_add_audio(ls_speech_queue *q, const int16_t *samples, size_t n, const char *label,
                              ls_error *err);

/* Called (outside the lock) whenever an item is added or the queue is
 * interrupted; set by the service. */
void ls_speech_queue_set_wake(ls_speech_queue *q, void (*wake)(void *), void *user);

/* Takes the next item if there is one and no more than `max_buffered_ms` of
 * audio is waiting (1; free it with ls_speech_item_clear), else 0. */
int ls_speech_queue_take(ls_speech_queue *q, int max_buffered_ms, ls_speech_item *item);
void ls_speech_item_clear(ls_speech_item *item);

/* Writing a chunk; each returns -1 (and does nothing) once `generation` is
 * stale, i.e. after an interrupt: the writer should stop. */
int ls_speech_queue_begin(ls_speech_queue *q, uint64_t generation, const char *text);
int ls_speech_queue_append(ls_speech_queue *q, uint64_t generation, const int16_t *samples, size_t n);
int ls_speech_queue_end(ls_speech_queue *q, uint64_t generation);
/* 1 while `generation` is current (no interrupt since), else 0. */
int ls_speech_queue_current(ls_speech_queue *q, uint64_t generation);

/* The next frame into out (silence when none is queued; returns 1 for
 * speech, 0 for silence); its marks are added to `marks`, which must start
 * zeroed. Report with ls_speech_queue_sent() once the audio went out. */
int ls_speech_queue_pop(ls_speech_queue *q, int16_t out[LS_SPEECH_FRAME], ls_speech_marks *marks);
void ls_speech_queue_sent(ls_speech_queue *q, ls_speech_marks *marks);
/* Drops the marks of frames that will never go out (their producer
 * stopped first), without events. */
void ls_speech_queue_unsent(ls_speech_queue *q, ls_speech_marks *marks);

/* Clears all speech now (see above). */
void ls_speech_queue_interrupt(ls_speech_queue *q);

/* Audio waiting to be popped, in ms. */
int ls_speech_queue_buffered_ms(ls_speech_queue *q);

/* 1 between a chunk's start and its end. */
int ls_speech_queue_speaking(ls_speech_queue *q);

#endif
