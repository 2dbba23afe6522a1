/*
 * http_tts.h - what the HTTP speech engines share: one request, its
 * streamed audio decoded and handed on as it arrives.
 *
 * The request is sent synchronously on the calling thread (the speech
 * service's) with a session made on first use there. The answer must be
 * 2xx (else the error names the status and the start of the body). Its
 * body is one of three containers:
 *   raw      16-bit little-endian mono PCM at the engine's rate;
 *   wav      a 16-bit PCM WAV stream (its data size may be a placeholder, as
 *            streaming servers write it) whose rate must be the engine's;
 *            more than one channel is mixed down;
 *   encoded  anything media/audio_decoder.h reads (Ogg, MP3, WAV of any rate
 *            and width, ...), decoded as the bytes arrive; the engine's rate
 *            is then LS_AUDIO_DECODER_RATE (16 kHz).
 * Samples go to `out` in the pieces they arrive in; when `out` asks to stop,
 * the request is dropped. No bytes for timeout_s is an error. A request
 * whose `cancel` is cancelled (from any thread) is dropped at once, and the
 * call returns as if `out` had asked to stop.
 *
 * The voice-cloning engines (gpt_sovits_tts.h, cosyvoice_tts.h,
 * fish_speech_tts.h, xtts_tts.h) take the same configuration, after
 * LiveTalking's --TTS_SERVER, --REF_FILE and --REF_TEXT.
 */
#ifndef LS_SPEECH_HTTP_TTS_H
#define LS_SPEECH_HTTP_TTS_H

#include <libsoup/soup.h>

#include "speech/tts_engine.h"

typedef enum ls_pcm_container {
    LS_PCM_RAW,
    LS_PCM_WAV,
    LS_PCM_ENCODED,
} ls_pcm_container;

typedef struct ls_http_tts {
    SoupSession *session;   /* NULL until the first request */
    int timeout_s;
} ls_http_tts;

typedef struct ls_clone_tts_config {
    const char *server;     /* "http://host:port" (TTS_SERVER) */
    const char *ref_file;   /* the reference voice (REF_FILE) */
    const char *ref_text;   /* what is said in it (REF_TEXT) */
    const char *lang;       /* language of the text; NULL: the engine's default */
    int rate;               /* rate of raw PCM answers; 0: the engine's default */
    int timeout_s;
} ls_clone_tts_config;

/* Sends `msg` (taken over) and streams its answer into `out`; 0, or -1 with
 * an error naming `what` (the engine) and the URL. */
int ls_http_tts_run(ls_http_tts *h, SoupMessage *msg, ls_pcm_container container, int rate, const char *what,
                    GCancellable *cancel, ls_tts_output_fn out, void *user, ls_error *err);
/* Sends `msg` (taken over) and reads its whole answer (up to max_bytes) into
 * *body: 0, 1 when cancelled, -1 error. */
int ls_http_tts_fetch(ls_http_tts *h, SoupMessage *msg, size_t max_bytes, const char *what, GCancellable *cancel,
                      GBytes **body, ls_error *err);
void ls_http_tts_clear(ls_http_tts *h);

/* A POST of the JSON text `body` (taken over) to `url`. */
SoupMessage *ls_http_tts_post_json(const char *url, GString *body);

/* server + path (server given as http(s)://host:port[/prefix]), g_free'd;
 * NULL with an error for `engine` when the server is not an http(s) URL. */
char *ls_http_tts_url(const char *server, const char *path, const char *engine, ls_error *err);
/* The reference voice file, for engines that upload it; NULL with an error
 * naming the file and `engine`. */
GBytes *ls_http_tts_read_ref(const char *path, const char *engine, ls_error *err);

#endif
