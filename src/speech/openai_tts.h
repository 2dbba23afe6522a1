/*
 * openai_tts.h - speech from an OpenAI-compatible /v1/audio/speech service
 * (OpenAI itself, or a local server with the same API).
 *
 * Each chunk is one POST <server>/v1/audio/speech with
 * {"model", "input": text, "voice", "response_format": "pcm"}; the answer,
 * raw 24 kHz 16-bit mono PCM, is streamed (speech/http_tts.h). The API key
 * is read from the environment variable named in the config at each
 * request (unset or empty: none sent). A voice override (tts_voice.h) is
 * ignored: the voice is the configured one.
 */
#ifndef LS_SPEECH_OPENAI_TTS_H
#define LS_SPEECH_OPENAI_TTS_H

#include "speech/tts_engine.h"

#define LS_OPENAI_TTS_RATE 24000

typedef struct ls_openai_tts_config {
    const char *server;        /* "http://host:port" (TTS_SERVER) */
    const char *model;         /* NULL: "tts-1" */
    const char *voice;         /* NULL: "alloy" */
    const char *api_key_env;   /* NULL: "OPENAI_API_KEY" */
    int timeout_s;
} ls_openai_tts_config;

/* Fails when the server URL is not http(s). */
int ls_openai_tts_new(const ls_openai_tts_config *config, ls_tts_engine **out, ls_error *err);

#endif
