/*
 * fish_speech_tts.c - the Fish Speech engine (see fish_speech_tts.h).
 *
 * The voice's part of the request (a reference in base64 can be large) is
 * written once, at start-up, into `voice_json`.
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
    char *voice_json;   /* ", \"references\": [...]", ", \"reference_id\": ..." or "" */
} fish_speech_tts;

static int synthesize(ls_tts_engine *e, const char *text, ls_tts_output_fn out, void *user, ls_error *err)
{
    fish_speech_tts *t = (fish_speech_tts *)e;
    GString *body = g_string_new("{\"text\": ");
    ls_json_append_string(body, text);
    g_string_append(body, t->voice_json);
    g_string_append(body, ", \"format\": \"wav\", \"streaming\": true, \"use_memory_cache\": \"on\"}");
    SoupMessage *msg = ls_http_tts_post_json(t->url, body);
    return ls_http_tts_run(&t->http, msg, LS_PCM_ENCODED, e->rate, "fishtts", e->cancel, out, user, err);
}

static void free_engine(ls_tts_engine *e)
{
    fish_speech_tts *t = (fish_speech_tts *)e;
    ls_http_tts_clear(&t->http);
    g_free(t->url);
    g_free(t->voice_json);
    free(t);
}

/* A --REF_FILE that names a file rather than a voice id: a path, or a name
 * with an extension ("ref.wav"). */
static int is_file_name(const char *ref)
{
    return strchr(ref, '/') || strchr(ref, '.');
}

/* The voice's members of the request, or NULL with an error. */
static char *voice_json(const ls_clone_tts_config *config, ls_error *err)
{
    const char *ref = config->ref_file;
    GString *json = g_string_new("");
    if (ref && ref[0] && !is_file_name(ref)) {
        g_string_append(json, ", \"reference_id\": ");
        ls_json_append_string(json, ref);
    } else if (ref && ref[0]) {
        if (!config->ref_text || !config->ref_text[0]) {
            g_string_free(json, TRUE);
            ls_error_set(err, "--tts fishtts with a --REF_FILE file needs --REF_TEXT, the words spoken in it");
            return NULL;
        }
        GBytes *audio = ls_http_tts_read_ref(ref, "fishtts", err);
        if (!audio) {
            g_string_free(json, TRUE);
            return NULL;
        }
        gsize n;
        const guchar *data = g_bytes_get_data(audio, &n);
        char *base64 = g_base64_encode(data, n);
        g_string_append_printf(json, ", \"references\": [{\"audio\": \"%s\", \"text\": ", base64);
        ls_json_append_string(json, config->ref_text);
        g_string_append(json, "}]");
        g_free(base64);
        g_bytes_unref(audio);
    }
    return g_string_free(json, FALSE);
}

int ls_fish_speech_tts_new(const ls_clone_tts_config *config, ls_tts_engine **out, ls_error *err)
{
    fish_speech_tts *t = calloc(1, sizeof *t);
    if (!t)
        return ls_error_set(err, "out of memory");
    t->base = (ls_tts_engine){ LS_AUDIO_DECODER_RATE, synthesize, free_engine, NULL };
    t->http.timeout_s = config->timeout_s;
    if (!(t->url = ls_http_tts_url(config->server, "v1/tts", "fishtts", err)) ||
        !(t->voice_json = voice_json(config, err))) {
        free_engine(&t->base);
        return -1;
    }
    *out = &t->base;
    return 0;
}
