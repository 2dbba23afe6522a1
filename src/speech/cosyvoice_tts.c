/*
 * cosyvoice_tts.c - the CosyVoice engine (see cosyvoice_tts.h).
 */
#include "speech/cosyvoice_tts.h"

#include <stdlib.h>

typedef struct cosyvoice_tts {
    ls_tts_engine base;
    ls_http_tts http;
    char *url, *ref_text;
    GBytes *ref_wav;
} cosyvoice_tts;

static int synthesize(ls_tts_engine *e, const char *text, const ls_tts_voice *voice, ls_tts_output_fn out,
                      void *user, ls_error *err)
{
    cosyvoice_tts *t = (cosyvoice_tts *)e;
    SoupMultipart *form = soup_multipart_new(SOUP_FORM_MIME_TYPE_MULTIPART);
    soup_multipart_append_form_string(form, "tts_text", text);
    soup_multipart_append_form_string(form, "prompt_text", voice && voice->ref_text ? voice->ref_text : t->ref_text);
    soup_multipart_append_form_file(form, "prompt_wav", "prompt_wav", "application/octet-stream",
                                    voice && voice->ref_audio ? voice->ref_audio : t->ref_wav);
    SoupMessage *msg = soup_message_new_from_multipart(t->url, form);
    soup_multipart_free(form);
    return ls_http_tts_run(&t->http, msg, LS_PCM_RAW, e->rate, "cosyvoice", e->cancel, out, user, err);
}

static void free_engine(ls_tts_engine *e)
{
    cosyvoice_tts *t = (cosyvoice_tts *)e;
    ls_http_tts_clear(&t->http);
    g_free(t->url);
    g_free(t->ref_text);
    if (t->ref_wav)
        g_bytes_unref(t->ref_wav);
    free(t);
}

int ls_cosyvoice_tts_new(const ls_clone_tts_config *config, ls_tts_engine **out, ls_error *err)
{
    if (!config->ref_text || !config->ref_text[0])
        return ls_error_set(err, "--tts cosyvoice needs --REF_TEXT, the words spoken in --REF_FILE");
    cosyvoice_tts *t = calloc(1, sizeof *t);
    if (!t)
        return ls_error_set(err, "out of memory");
    t->base = (ls_tts_engine){ config->rate ? config->rate : LS_COSYVOICE_RATE, synthesize, free_engine, NULL,
                               LS_TTS_REF_LOCAL_FILE };
    t->http.timeout_s = config->timeout_s;
    t->ref_text = g_strdup(config->ref_text);
    if (!(t->url = ls_http_tts_url(config->server, "inference_zero_shot", "cosyvoice", err)) ||
        !(t->ref_wav = ls_http_tts_read_ref(config->ref_file, "cosyvoice", err))) {
        free_engine(&t->base);
        return -1;
    }
    *out = &t->base;
    return 0;
}
