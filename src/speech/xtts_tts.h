/*
 * xtts_tts.h - speech from an XTTS streaming server (xtts-streaming-server).
 *
 * The voice is cloned once: POST <server>/clone_speaker with the --REF_FILE
 * file (read at start-up) as the form field wav_file answers the speaker's
 * {"gpt_cond_latent", "speaker_embedding"}; this is done at the first chunk
 * (on the speech thread, so start-up does not wait for the TTS server) and
 * again at the next chunk if it failed. Each chunk is then one POST
 * <server>/tts_stream with that object plus "text", "language" (`lang`,
 * "zh-cn" unless given, as LiveTalking), "stream_chunk_size": "20" and
 * "add_wav_header": true; the answer is a streamed WAV at 24 kHz. A voice
 * override (tts_voice.h) with a reference (a local WAV, read when the
 * request came) is cloned the same way at its first chunk; the speaker of
 * the last override's reference is kept, so repeating it does not clone
 * again. The override's words are not used (XTTS takes none).
 */
#ifndef LS_SPEECH_XTTS_TTS_H
#define LS_SPEECH_XTTS_TTS_H

#include "speech/http_tts.h"

#define LS_XTTS_RATE 24000

/* Fails when the server URL is not http(s) or --REF_FILE cannot be read. */
int ls_xtts_tts_new(const ls_clone_tts_config *config, ls_tts_engine **out, ls_error *err);

#endif
