/*
 * tts_voice.h - a voice override for one request's speech (/human's "tts":
 * {"ref_file", "ref_text"}), as the engines take it (tts_engine.h).
 *
 * Each engine says what a reference names (ls_tts_ref_kind). A reference
 * that is a local file is checked and read when the request comes, never
 * later on the speech thread: it must resolve (realpath, symbolic links
 * followed) inside the server's --tts_ref_dir, be a regular file that can
 * be read, and be a WAV file; otherwise the request is refused with a
 * message saying why. The bytes read then are what the engine sends, so the
 * file checked is the file used. A name with a ".." component, or an
 * absolute path not under the folder, is refused before the file system is
 * asked, so the answers tell nothing about files outside it. A relative
 * name is taken inside the folder. A reference on the TTS server
 * (gpt-sovits) or a voice id (fishtts) is passed on as given, its length
 * checked. Engines without a reference voice ignore the override.
 *
 * A voice is shared by every text chunk of its request: reference counted,
 * made on the main thread and dropped on the speech thread.
 */
#ifndef LS_SPEECH_TTS_VOICE_H
#define LS_SPEECH_TTS_VOICE_H

#include <glib.h>

#include "util/error.h"

#define LS_TTS_VOICE_MAX_FIELD 4096          /* bytes of ref_file or ref_text */
#define LS_TTS_MAX_REF_FILE (64 << 20)       /* bytes of a reference voice file */

/* What an engine's reference (--REF_FILE, or an override's ref_file) names. */
typedef enum ls_tts_ref_kind {
    LS_TTS_REF_NONE,          /* the engine has no reference voice (espeak, openai): ignored */
    LS_TTS_REF_SERVER_PATH,   /* a path on the TTS server, sent as is (gpt-sovits) */
    LS_TTS_REF_LOCAL_FILE,    /* a local WAV file, uploaded (cosyvoice, xtts) */
    LS_TTS_REF_FILE_OR_ID,    /* a local WAV file if ls_tts_ref_is_file, else a voice id (fishtts) */
} ls_tts_ref_kind;

typedef struct ls_tts_voice {
    char *ref_file;      /* the reference as the client named it; NULL: the engine's own */
    char *ref_text;      /* the words spoken in it; NULL: the engine's own */
    GBytes *ref_audio;   /* a local reference's bytes, read by ls_tts_voice_new; NULL: none */
    gint refs;
} ls_tts_voice;

/* The override for an engine of `kind`, local files looked for in `ref_dir`
 * (a resolved path; NULL: none allowed). *out is NULL when there is nothing
 * to override (both fields NULL or empty, or an engine without
 * references); an empty field counts as absent. -1 with a message for the
 * client naming the field. */
int ls_tts_voice_new(ls_tts_ref_kind kind, const char *ref_dir, const char *ref_file, const char *ref_text,
                     ls_tts_voice **out, ls_error *err);
/* Both take NULL. */
ls_tts_voice *ls_tts_voice_ref(ls_tts_voice *v);
void ls_tts_voice_unref(ls_tts_voice *v);

/* 1 when a fishtts reference names a file (a path, or a name with an
 * extension such as "ref.wav"), 0 when it is a voice id. */
int ls_tts_ref_is_file(const char *ref);

#endif
