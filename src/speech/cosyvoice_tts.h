/*
 * cosyvoice_tts.h - speech from a CosyVoice server (its FastAPI server's
 * zero-shot voice cloning).
 *
 * Each chunk is one POST <server>/inference_zero_shot, a multipart form
 * with tts_text (the chunk), prompt_text (--REF_TEXT) and prompt_wav (the
 * --REF_FILE file, read once at start-up), as LiveTalking sends it. The
 * answer is raw 16-bit mono PCM, streamed, at the model's rate: 22050 Hz for
 * CosyVoice 1 (the default), 24000 Hz for CosyVoice2 (config `rate`). A
 * voice override (tts_voice.h) replaces prompt_wav (a local WAV file, read
 * when the request came) and prompt_text, each where it is given.
 */
#ifndef LS_SPEECH_COSYVOICE_TTS_H
#define LS_SPEECH_COSYVOICE_TTS_H

#include "speech/http_tts.h"

#define LS_COSYVOICE_RATE 22050

/* Fails when the server URL is not http(s), --REF_FILE cannot be read or
 * --REF_TEXT is not given. */
int ls_cosyvoice_tts_new(const ls_clone_tts_config *config, ls_tts_engine **out, ls_error *err);

#endif
