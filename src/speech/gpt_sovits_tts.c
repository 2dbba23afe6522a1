/*
 * gpt_sovits_tts.c - the GPT-SoVITS engine (see gpt_sovits_tts.h).
 */
#include "speech/gpt_sovits_tts.h"

#include <stdlib.h>

#include "media/audio_decoder.h"
#include "server/json_out.h"

typedef struct gpt_sovits_tts {
    ls_tts_engine base;
    ls_http_tts http;
    char *url, *ref_file, *ref_text, *lang;
} gpt_sovits_tts;

static int synthesize(ls_tts_engine *e, const char *text, const ls_tts_voice *voice, ls_tts_output_fn out,
                      void *user, ls_error *err)
{
    gpt_sovits_tts *t = (gpt_sovits_tts *)e;
    GString *body = g_string_new("{\"text\": ");
    ls_json_append_string(body, text);
    g_string_append(body, ", \"text_lang\": ");
    ls_json_append_string(body, t->lang);
    g_string_append(body, ", \"ref_audio_path\": ");
    ls_json_append_string(body, voice && voice->ref_file ? voice->ref_file : t->ref_file);
    g_string_append(body, ", \"prompt_text\": ");
    ls_json_append_string(body, voice && voice->ref_text ? voice->ref_text : t->ref_text);
    g_string_append(body, ", \"prompt_lang\": ");
    ls_json_append_string(body, t->lang);
    g_string_append(body, ", \"media_type\": \"ogg\", \"streaming_mode\": true}");
    SoupMessage *msg = ls_http_tts_post_json(t->url, body);
    return ls_http_tts_run(&t->http, msg, LS_PCM_ENCODED, e->rate, "gpt-sovits", e->cancel, out, user, err);
}

static void free_engine(ls_tts_engine *e)
{
    gpt_sovits_tts *t = (gpt_sovits_tts *)e;
    ls_http_tts_clear(&t->http);
    g_free(t->url);
    g_free(t->ref_file);
    g_free(t->ref_text);
    g_free(t->lang);
    free(t);
}

int ls_gpt_sovits_tts_new(const ls_clone_tts_config *config, ls_tts_engine **out, ls_error *err)
{
    if (!config->ref_file || !config->ref_file[0])
        return ls_error_set(err, "--tts gpt-sovits needs --REF_FILE, the reference voice's path on the TTS server");
    gpt_sovits_tts *t = calloc(1, sizeof *t);
    if (!t)
        return ls_error_set(err, "out of memory");
    t->base = (ls_tts_engine){ LS_AUDIO_DECODER_RATE, synthesize, free_engine, NULL, LS_TTS_REF_SERVER_PATH };
    t->http.timeout_s = config->timeout_s;
    t->ref_file = g_strdup(config->ref_file);
    t->ref_text = g_strdup(config->ref_text ? config->ref_text : "");
    t->lang = g_strdup(config->lang ? config->lang : "zh");
    if (!(t->url = ls_http_tts_url(config->server, "tts", "gpt-sovits", err))) {
        free_engine(&t->base);
        return -1;
    }
    *out = &t->base;
    return 0;
}
