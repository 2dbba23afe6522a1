/*
 * tts_engine.h - a text-to-speech backend, as the speech service uses it.
 *
 * An engine turns one chunk of text into mono 16-bit audio at its own rate,
 * handing the samples over as they are made (so the first audio can play
 * before the chunk is done) and stopping early when asked: when `out`
 * returns nonzero, or at once when the caller cancels `cancel`. Engines are
 * used by one thread at a time (the speech service's). espeak-ng is built in
 * (speech/espeak_tts.h); network engines (speech/http_tts.h) are more
 * implementations.
 *
 * A synthesis may carry a voice override (speech/tts_voice.h): an engine
 * that clones a reference voice speaks with the override's reference and
 * words where it gives them, its configured ones otherwise; `ref_kind` says
 * what the engine takes a reference to name, so that a request's override
 * can be checked before it is queued.
 */
#ifndef LS_SPEECH_TTS_ENGINE_H
#define LS_SPEECH_TTS_ENGINE_H

#include <stdint.h>

#include <gio/gio.h>

#include "speech/tts_voice.h"
#include "util/error.h"

/* Receives synthesised samples; returns nonzero to stop the synthesis. */
typedef int (*ls_tts_output_fn)(void *user, const int16_t *samples, int n);

typedef struct ls_tts_engine ls_tts_engine;
struct ls_tts_engine {
    int rate;   /* sample rate of the output, Hz */
    /* `voice`: this chunk's override, or NULL for the configured voice */
    int (*synthesize)(ls_tts_engine *e, const char *text, const ls_tts_voice *voice, ls_tts_output_fn out,
                      void *user, ls_error *err);
    void (*free)(ls_tts_engine *e);
    /* Set by the caller for the synthesis it starts, or NULL. Cancelling it
     * (from any thread) makes a network engine drop its request at once and
     * return 0; an engine that does not watch it stops at its next `out`. */
    GCancellable *cancel;
    ls_tts_ref_kind ref_kind;   /* what a reference names for this engine */
};

#endif
