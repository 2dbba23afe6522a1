/*
 * openai_tts.c - the OpenAI-compatible speech engine (see openai_tts.h).
 */
#include "speech/openai_tts.h"

#include <stdlib.h>

#include "server/json_out.h"
#include "speech/http_tts.h"

typedef struct openai_tts {
    ls_tts_engine base;
    ls_http_tts http;
    char *url, *model, *voice, *api_key_env;
} openai_tts;

static int synthesize(ls_tts_engine *e, const char *text, const ls_tts_voice *voice, ls_tts_output_fn out,
                      void *user, ls_error *err)
{
    openai_tts *t = (openai_tts *)e;
    GString *body = g_string_new("{\"model\": ");
    ls_json_append_string(body, t->model);
    g_string_append(body, ", \"input\": ");
    ls_json_append_string(body, text);
    g_string_append(body, ", \"voice\": ");
    ls_json_append_string(body, t->voice);
    g_string_append(body, ", \"response_format\": \"pcm\"}");
    SoupMessage *msg = ls_http_tts_post_json(t->url, body);
    const char *key = getenv(t->api_key_env);
    if (key && *key) {
        char *auth = g_strconcat("Bearer ", key, NULL);
        soup_message_headers_append(soup_message_get_request_headers(msg), "Authorization", auth);
        g_free(auth);
    }
    return ls_http_tts_run(&t->http, msg, LS_PCM_RAW, e->rate, "openai speech", e->cancel, out, user, err);
}

static void free_engine(ls_tts_engine *e)
{
    openai_tts *t = (openai_tts *)e;
    ls_http_tts_clear(&t->http);
    g_free(t->url);
    g_free(t->model);
    g_free(t->voice);
    g_free(t->api_key_env);
    free(t);
}

int ls_openai_tts_new(const ls_openai_tts_config *config, ls_tts_engine **out, ls_error *err)
{
    char *url = ls_http_tts_url(config->server, "v1/audio/speech", "openai", err);
    openai_tts *t = url ? calloc(1, sizeof *t) : NULL;
    if (!t) {
        g_free(url);
        return url ? ls_error_set(err, "out of memory") : -1;
    }
    t->base = (ls_tts_engine){ LS_OPENAI_TTS_RATE, synthesize, free_engine, NULL, LS_TTS_REF_NONE };
    t->http.timeout_s = config->timeout_s;
    t->url = url;
    t->model = g_strdup(config->model ? config->model : "tts-1");
    t->voice = g_strdup(config->voice ? config->voice : "alloy");
    t->api_key_env = g_strdup(config->api_key_env ? config->api_key_env : "OPENAI_API_KEY");
    *out = &t->base;
    return 0;
}
