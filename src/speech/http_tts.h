/*
 * http_tts.h - what the HTTP speech engines share: one request, its
 * streamed audio decoded and handed on as it arrives.
 *
 * The request is sent synchronously on the calling thread (the speech
 * service's) with a session made on first use there. The answer must be
 * 2xx (else the error names the status and the start of the body) and its
 * body 16-bit little-endian PCM: raw at the engine's rate, or a WAV stream
 * (its data size may be a placeholder, as streaming servers write it) whose
 * rate must be the engine's; more than one channel is mixed down. Samples
 * go to `out` in the pieces they arrive in; when `out` asks to stop, the
 * request is dropped. No bytes for timeout_s is an error.
 */
#ifndef LS_SPEECH_HTTP_TTS_H
#define LS_SPEECH_HTTP_TTS_H

#include <libsoup/soup.h>

#include "speech/tts_engine.h"

typedef enum ls_pcm_container {
    LS_PCM_RAW,   /* s16le mono at the engine's rate */
    LS_PCM_WAV,
} ls_pcm_container;

typedef struct ls_http_tts {
    SoupSession *session;   /* NULL until the first request */
    int timeout_s;
} ls_http_tts;

/* Sends `msg` (taken over) and streams its answer into `out`; 0, or -1 with
 * an error naming `what` (the engine) and the URL. */
int ls_http_tts_run(ls_http_tts *h, SoupMessage *msg, ls_pcm_container container, int rate, const char *what,
                    ls_tts_output_fn out, void *user, ls_error *err);
void ls_http_tts_clear(ls_http_tts *h);

#endif
