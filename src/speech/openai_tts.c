/*
 * openai_tts.c - the OpenAI-compatible speech engine (see openai_tts.h).
 */
#include "speech/openai_tts.h"

#include <stdlib.h>
#include <string.h>

#include "server/json_out.h"
#include "speech/http_tts.h"

typedef struct openai_tts {
    ls_tts_engine base;
    ls_http_tts http;
    char *url, *model, *voice, *api_key_env;
} openai_tts;

static int synthesize(ls_tts_engine *e, const char *text, ls_tts_output_fn out, void *user, ls_error *err)
{
    openai_tts *t = (openai_tts *)e;
    SoupMessage *msg = soup_message_new("POST", t->url);
    GString *body = g_string_new("{\"model\": ");
    ls_json_append_string(body, t->model);
    g_string_append(body, ", \"input\": ");
    ls_json_append_string(body, text);
    g_string_append(body, ", \"voice\": ");
    ls_json_append_string(body, t->voice);
    g_string_append(body, ", \"response_format\": \"pcm\"}");
    GBytes *bytes = g_string_free_to_bytes(body);
    soup_message_set_request_body_from_bytes(msg, "application/json", bytes);
    g_bytes_unref(bytes);
    const char *key = getenv(t->api_key_env);
    if (key && *key) {
        char *auth = g_strconcat("Bearer ", key, NULL);
        soup_message_headers_append(soup_message_get_request_headers(msg), "Authorization", auth);
        g_free(auth);
    }
    return ls_http_tts_run(&t->http, msg, LS_PCM_RAW, e->rate, "openai speech", out, user, err);
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
    const char *server = config->server ? config->server : "";
    char *url = g_strconcat(server, g_str_has_suffix(server, "/") ? "" : "/", "v1/audio/speech", NULL);
    GUri *uri = g_uri_parse(url, SOUP_HTTP_URI_FLAGS, NULL);
    int ok = uri && (strcmp(g_uri_get_scheme(uri), "http") == 0 || strcmp(g_uri_get_scheme(uri), "https") == 0);
    if (uri)
        g_uri_unref(uri);
    openai_tts *t = ok ? calloc(1, sizeof *t) : NULL;
    if (!t) {
        g_free(url);
        return ok ? ls_error_set(err, "out of memory")
                  : ls_error_set(err, "--tts openai needs --TTS_SERVER http://host:port (got '%.200s')", server);
    }
    t->base = (ls_tts_engine){ LS_OPENAI_TTS_RATE, synthesize, free_engine };
    t->http.timeout_s = config->timeout_s;
    t->url = url;
    t->model = g_strdup(config->model ? config->model : "tts-1");
    t->voice = g_strdup(config->voice ? config->voice : "alloy");
    t->api_key_env = g_strdup(config->api_key_env ? config->api_key_env : "OPENAI_API_KEY");
    *out = &t->base;
    return 0;
}
