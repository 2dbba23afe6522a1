/*
 * tts_voice.c - voice overrides and the checks on their local files (see
 * tts_voice.h).
 *
 * A local reference must lie inside --tts_ref_dir (util/confine.h: no
 * "..", realpath under the folder, a regular file) and be a WAV file read
 * whole within LS_TTS_MAX_REF_FILE. Messages name the file as the client
 * did, never the folder's own path.
 */
#include "speech/tts_voice.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/confine.h"
#include "util/file.h"

/* The reference's bytes, after the gates of util/confine.h and a check of
 * the content; NULL with a message. */
static GBytes *read_local_ref(const char *ref_dir, const char *ref_file, ls_error *err)
{
    char *resolved = ls_confine(ref_dir, ref_file, LS_CONFINE_FILE, "tts.ref_file", "--tts_ref_dir", err);
    if (!resolved)
        return NULL;
    struct stat st;
    void *data = NULL;
    size_t len = 0;
    int rc = -1;
    if (stat(resolved, &st) != 0 || st.st_size > LS_TTS_MAX_REF_FILE)
        ls_error_set(err, "tts.ref_file: '%.200s' is over %d MiB", ref_file, LS_TTS_MAX_REF_FILE >> 20);
    else if (ls_read_file(resolved, LS_TTS_MAX_REF_FILE, &data, &len, NULL) < 0)   /* its message shows the folder */
        ls_error_set(err, "tts.ref_file: '%.200s' cannot be read", ref_file);
    else if (len < 12 || memcmp(data, "RIFF", 4) != 0 || memcmp((char *)data + 8, "WAVE", 4) != 0)
        ls_error_set(err, "tts.ref_file: '%.200s' is not a WAV file", ref_file);
    else
        rc = 0;
    free(resolved);
    if (rc < 0) {
        free(data);
        return NULL;
    }
    return g_bytes_new_with_free_func(data, len, free, data);
}

int ls_tts_ref_is_file(const char *ref)
{
    return strchr(ref, '/') || strchr(ref, '.');
}

static int needs_local_file(ls_tts_ref_kind kind, const char *ref_file)
{
    return ref_file &&
           (kind == LS_TTS_REF_LOCAL_FILE || (kind == LS_TTS_REF_FILE_OR_ID && ls_tts_ref_is_file(ref_file)));
}

int ls_tts_voice_new(ls_tts_ref_kind kind, const char *ref_dir, const char *ref_file, const char *ref_text,
                     ls_tts_voice **out, ls_error *err)
{
    *out = NULL;
    if (ref_file && strlen(ref_file) > LS_TTS_VOICE_MAX_FIELD)
        return ls_error_set(err, "tts.ref_file: over %d bytes", LS_TTS_VOICE_MAX_FIELD);
    if (ref_text && strlen(ref_text) > LS_TTS_VOICE_MAX_FIELD)
        return ls_error_set(err, "tts.ref_text: over %d bytes", LS_TTS_VOICE_MAX_FIELD);
    ref_file = ref_file && ref_file[0] ? ref_file : NULL;   /* an empty field, as a blank form sends it: absent */
    ref_text = ref_text && ref_text[0] ? ref_text : NULL;
    if (kind == LS_TTS_REF_NONE || (!ref_file && !ref_text))
        return 0;
    GBytes *audio = NULL;
    if (needs_local_file(kind, ref_file) && !(audio = read_local_ref(ref_dir, ref_file, err)))
        return -1;
    ls_tts_voice *v = g_new0(ls_tts_voice, 1);
    v->ref_file = g_strdup(ref_file);
    v->ref_text = g_strdup(ref_text);
    v->ref_audio = audio;
    v->refs = 1;
    *out = v;
    return 0;
}

ls_tts_voice *ls_tts_voice_ref(ls_tts_voice *v)
{
    if (v)
        g_atomic_int_inc(&v->refs);
    return v;
}

void ls_tts_voice_unref(ls_tts_voice *v)
{
    if (!v || !g_atomic_int_dec_and_test(&v->refs))
        return;
    g_free(v->ref_file);
    g_free(v->ref_text);
    if (v->ref_audio)
        g_bytes_unref(v->ref_audio);
    g_free(v);
}
