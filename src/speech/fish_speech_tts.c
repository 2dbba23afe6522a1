/*
 * fish_speech_tts.c - the Fish Speech engine (see fish_speech_tts.h).
 *
 * The configured voice's part of the request (a reference in base64 can be
 * large) is written once, at start-up, into `voice_json`; an override's is
 * written for each of its chunks.
 */
#include "speech/fish_speech_tts.h"

#include <stdlib.h>
#include <string.h>

#include "media/audio_decoder.h"
#include "server/json_out.h"

typedef struct fish_speech_tts {
    ls_tts_engine base;
    ls_http_tts http;
    char *url;
    char *ref_id, *ref_text;   /* --REF_FILE when a voice id, or NULL; --REF_TEXT, or NULL */
    GBytes *ref_audio;         /* --REF_FILE when a file, or NULL */
    char *voice_json;          /* the configured voice's members (append_voice) */
} fish_speech_tts;

/* Appends the voice's members: a reference file's audio (base64) with its
 * words, else a voice id, else nothing (the server's own voice). */
static void append_voice(GString *json, const char *ref_id, GBytes *ref_audio, const char *ref_text)
{
    if (ref_audio) {
        gsize n;
        const guchar *data = g_bytes_get_data(ref_audio, &n);
        char *base64 = g_base64_encode(data, n);
        g_string_append_printf(json, ", \"references\": [{\"audio\": \"%s\", \"text\": ", base64);
        ls_json_append_string(json, ref_text);
        g_string_append(json, "}]");
        g_free(base64);
    } else if (ref_id) {
        g_string_append(json, ", \"reference_id\": ");
        ls_json_append_string(json, ref_id);
    }
}

/* An override's members: its file or id, else the configured reference;
 * its words, else the configured ones. */
static int append_override(fish_speech_tts *t, GString *json, const ls_tts_voice *voice, ls_error *err)
{
    GBytes *audio = voice->ref_audio ? voice->ref_audio : voice->ref_file ? NULL : t->ref_audio;
    const char *id = voice->ref_file ? voice->ref_file : t->ref_id;
    const char *words = voice->ref_text ? voice->ref_text : t->ref_text;
    if (audio && !words)
        return ls_error_set(err, "fishtts: the reference file '%.200s' needs its words (tts.ref_text or --REF_TEXT)",
                            voice->ref_file ? voice->ref_file : "--REF_FILE");
    append_voice(json, id, audio, words);
    return 0;
}

static int synthesize(ls_tts_engine *e, const char *text, const ls_tts_voice *voice, ls_tts_output_fn out,
                      void *user, ls_error *err)
{
    fish_speech_tts *t = (fish_speech_tts *)e;
    GString *body = g_string_new("{\"text\": ");
    ls_json_append_string(body, text);
    if (!voice) {
        g_string_append(body, t->voice_json);
    } else if (append_override(t, body, voice, err) < 0) {
        g_string_free(body, TRUE);
        return -1;
    }
    g_string_append(body, ", \"format\": \"wav\", \"streaming\": true, \"use_memory_cache\": \"on\"}");
    SoupMessage *msg = ls_http_tts_post_json(t->url, body);
    return ls_http_tts_run(&t->http, msg, LS_PCM_ENCODED, e->rate, "fishtts", e->cancel, out, user, err);
}

static void free_engine(ls_tts_engine *e)
{
    fish_speech_tts *t = (fish_speech_tts *)e;
    ls_http_tts_clear(&t->http);
    g_free(t->url);
    g_free(t->ref_id);
    g_free(t->ref_text);
    if (t->ref_audio)
        g_bytes_unref(t->ref_audio);
    g_free(t->voice_json);
    free(t);
}

/* The configured voice: a file read now (with its words), or a voice id. */
static int configure_voice(fish_speech_tts *t, const ls_clone_tts_config *config, ls_error *err)
{
    const char *ref = config->ref_file;
    t->ref_text = config->ref_text && config->ref_text[0] ? g_strdup(config->ref_text) : NULL;
    if (ref && ref[0] && !ls_tts_ref_is_file(ref)) {
        t->ref_id = g_strdup(ref);
    } else if (ref && ref[0]) {
        if (!t->ref_text)
            return ls_error_set(err, "--tts fishtts with a --REF_FILE file needs --REF_TEXT, the words spoken in it");
        if (!(t->ref_audio = ls_http_tts_read_ref(ref, "fishtts", err)))
            return -1;
    }
    GString *json = g_string_new("");
    append_voice(json, t->ref_id, t->ref_audio, t->ref_text);
    t->voice_json = g_string_free(json, FALSE);
    return 0;
}

int ls_fish_speech_tts_new(const ls_clone_tts_config *config, ls_tts_engine **out, ls_error *err)
{
    fish_speech_tts *t = calloc(1, sizeof *t);
    if (!t)
        return ls_error_set(err, "out of memory");
    t->base = (ls_tts_engine){ LS_AUDIO_DECODER_RATE, synthesize, free_engine, NULL, LS_TTS_REF_FILE_OR_ID };
    t->http.timeout_s = config->timeout_s;
    if (!(t->url = ls_http_tts_url(config->server, "v1/tts", "fishtts", err)) || configure_voice(t, config, err) < 0) {
        free_engine(&t->base);
        return -1;
    }
    *out = &t->base;
    return 0;
}
