/*
 * espeak_tts.h - the built-in speech engine: libespeak-ng, no network.
 *
 * espeak-ng runs in its synchronous mode: espeak_Synth returns when the
 * chunk is done, calling back with about 50 ms of audio (22050 Hz) at a
 * time, which the engine passes on as it comes. The voice is `voice` when
 * given (an espeak-ng voice name such as "en-us", "cmn", "de"), otherwise
 * chosen per chunk from its script: Mandarin ("cmn") when it holds CJK
 * ideographs, English ("en-us") otherwise; a voice override (tts_voice.h)
 * is ignored, as espeak-ng clones no voice. espeak-ng keeps global state and
 * is not thread-safe: use engines from one thread at a time (the speech
 * service's). It is initialised by the first ls_espeak_new and stays so
 * until the process exits.
 */
#ifndef LS_SPEECH_ESPEAK_TTS_H
#define LS_SPEECH_ESPEAK_TTS_H

#include "speech/tts_engine.h"

/* Fails when espeak-ng's data or the voice cannot be found. */
int ls_espeak_new(const char *voice, ls_tts_engine **out, ls_error *err);

/* The voice chosen for `text` when none is fixed: "cmn" or "en-us". */
const char *ls_espeak_voice_for(const char *text);

#endif
