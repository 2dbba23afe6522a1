/*
 * fish_speech_tts.h - speech from a Fish Speech server (its /v1/tts API).
 *
 * Each chunk is one POST <server>/v1/tts with the JSON {"text", the voice,
 * "format": "wav", "streaming": true, "use_memory_cache": "on"}. The voice:
 * when --REF_FILE names a file (a path, or a name with an extension),
 * "references": [{"audio": the file in base64, "text": --REF_TEXT}]
 * (zero-shot cloning, the file read once at start-up); otherwise it is the
 * id of a voice the server holds, sent as "reference_id" (as LiveTalking
 * does); without --REF_FILE the server's own voice. A voice override
 * (tts_voice.h) is read the same way: a file (a local WAV, read when the
 * request came) with the override's words, or --REF_TEXT when it has none,
 * or a voice id; words alone keep the configured reference. The streamed
 * WAV answer (44.1 kHz for the published models) is decoded as it arrives
 * (the "encoded" container of speech/http_tts.h), so the engine's rate is
 * 16 kHz.
 */
#ifndef LS_SPEECH_FISH_SPEECH_TTS_H
#define LS_SPEECH_FISH_SPEECH_TTS_H

#include "speech/http_tts.h"

/* Fails when the server URL is not http(s), or --REF_FILE is a file that
 * cannot be read or comes without --REF_TEXT. */
int ls_fish_speech_tts_new(const ls_clone_tts_config *config, ls_tts_engine **out, ls_error *err);

#endif
