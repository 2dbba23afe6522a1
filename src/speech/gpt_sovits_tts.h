/*
 * gpt_sovits_tts.h - speech from a GPT-SoVITS server (its api_v2 /tts).
 *
 * Each chunk is one POST <server>/tts with the JSON {"text", "text_lang",
 * "ref_audio_path": --REF_FILE (a path on the TTS server's machine),
 * "prompt_text": --REF_TEXT, "prompt_lang", "media_type": "ogg",
 * "streaming_mode": true}, as LiveTalking sends it. The streamed answer,
 * one small Ogg file after another (a chained Ogg stream), is decoded as it
 * arrives (the "encoded" container of speech/http_tts.h), so the engine's
 * rate is 16 kHz. The language is `lang` for the text and the prompt ("zh"
 * unless given; the server takes zh, en, ja, ko, yue, auto, ...). A voice
 * override (tts_voice.h) replaces ref_audio_path (a path on the TTS server,
 * sent as is) and prompt_text, each where it is given.
 */
#ifndef LS_SPEECH_GPT_SOVITS_TTS_H
#define LS_SPEECH_GPT_SOVITS_TTS_H

#include "speech/http_tts.h"

/* Fails when the server URL is not http(s) or --REF_FILE is not given. */
int ls_gpt_sovits_tts_new(const ls_clone_tts_config *config, ls_tts_engine **out, ls_error *err);

#endif
