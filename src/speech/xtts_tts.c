/*
 * xtts_tts.c - the XTTS engine (see xtts_tts.h).
 *
 * The cloned speaker is kept as the text of its JSON object without the
 * closing brace (`speaker`), so each request is that text followed by the
 * chunk's own members: the latents (tens of thousands of numbers) are
 * passed on exactly as the server wrote them, never re-printed. Two
 * speakers are kept: the configured one, and the one cloned from the last
 * override's reference (found again by comparing the reference's bytes),
 * so the chunks of a request, and later requests with the same voice, clone
 * once.
 */
#include "speech/xtts_tts.h"

#include <stdlib.h>
#include <string.h>

#include "server/json_out.h"
#include "util/json.h"

#define MAX_SPEAKER_JSON (16 << 20)

typedef struct speaker {
    GBytes *wav;     /* the reference voice */
    char *json;      /* "{...latents..." without its closing brace; NULL until cloned */
} speaker;

typedef struct xtts_tts {
    ls_tts_engine base;
    ls_http_tts http;
    char *clone_url, *stream_url, *lang;
    speaker configured;   /* --REF_FILE */
    speaker last;         /* the last override's reference; wav NULL until one came */
} xtts_tts;

/* The cloning answer's object without its closing brace, or NULL with an error. */
static char *speaker_prefix(const char *url, GBytes *body, ls_error *err)
{
    gsize n;
    const char *text = g_bytes_get_data(body, &n);
    ls_json *v;
    if (ls_json_parse(text, n, &v, err) < 0) {
        ls_error_prefix(err, "xtts: %s answered", url);
        return NULL;
    }
    const ls_json *latent = ls_json_get(v, "gpt_cond_latent"), *embedding = ls_json_get(v, "speaker_embedding");
    int ok = latent && latent->kind == LS_JSON_ARRAY && embedding && embedding->kind == LS_JSON_ARRAY;
    ls_json_free(v);
    if (!ok) {
        ls_error_set(err, "xtts: %s answered no gpt_cond_latent and speaker_embedding arrays", url);
        return NULL;
    }
    while (n > 0 && text[n - 1] != '}')   /* the parse succeeded: an object ends the text */
        n--;
    return g_strndup(text, n - 1);
}

static void speaker_clear(speaker *sp)
{
    if (sp->wav)
        g_bytes_unref(sp->wav);
    g_free(sp->json);
    sp->wav = NULL;
    sp->json = NULL;
}

/* The speaker for a chunk's voice: the configured one, the last override's
 * when the reference is the same, else `last` made over for this reference. */
static speaker *speaker_for(xtts_tts *t, const ls_tts_voice *voice)
{
    GBytes *wav = voice ? voice->ref_audio : NULL;
    if (!wav || g_bytes_equal(wav, t->configured.wav))
        return &t->configured;
    if (!t->last.wav || !g_bytes_equal(wav, t->last.wav)) {
        speaker_clear(&t->last);
        t->last.wav = g_bytes_ref(wav);
    }
    return &t->last;
}

/* Clones the speaker's voice if not done yet: 0, 1 when cancelled, -1 error. */
static int clone_speaker(xtts_tts *t, speaker *sp, ls_error *err)
{
    if (sp->json)
        return 0;
    SoupMultipart *form = soup_multipart_new(SOUP_FORM_MIME_TYPE_MULTIPART);
    soup_multipart_append_form_file(form, "wav_file", "reference.wav", "audio/wav", sp->wav);
    SoupMessage *msg = soup_message_new_from_multipart(t->clone_url, form);
    soup_multipart_free(form);
    GBytes *body;
    int rc = ls_http_tts_fetch(&t->http, msg, MAX_SPEAKER_JSON, "xtts", t->base.cancel, &body, err);
    if (rc != 0)
        return rc;
    sp->json = speaker_prefix(t->clone_url, body, err);
    g_bytes_unref(body);
    return sp->json ? 0 : -1;
}

static int synthesize(ls_tts_engine *e, const char *text, const ls_tts_voice *voice, ls_tts_output_fn out,
                      void *user, ls_error *err)
{
    xtts_tts *t = (xtts_tts *)e;
    speaker *sp = speaker_for(t, voice);
    int rc = clone_speaker(t, sp, err);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    GString *body = g_string_new(sp->json);
    g_string_append(body, ", \"text\": ");
    ls_json_append_string(body, text);
    g_string_append(body, ", \"language\": ");
    ls_json_append_string(body, t->lang);
    g_string_append(body, ", \"stream_chunk_size\": \"20\", \"add_wav_header\": true}");
    SoupMessage *msg = ls_http_tts_post_json(t->stream_url, body);
    return ls_http_tts_run(&t->http, msg, LS_PCM_WAV, e->rate, "xtts", e->cancel, out, user, err);
}

static void free_engine(ls_tts_engine *e)
{
    xtts_tts *t = (xtts_tts *)e;
    ls_http_tts_clear(&t->http);
    g_free(t->clone_url);
    g_free(t->stream_url);
    g_free(t->lang);
    speaker_clear(&t->configured);
    speaker_clear(&t->last);
    free(t);
}

int ls_xtts_tts_new(const ls_clone_tts_config *config, ls_tts_engine **out, ls_error *err)
{
    xtts_tts *t = calloc(1, sizeof *t);
    if (!t)
        return ls_error_set(err, "out of memory");
    t->base = (ls_tts_engine){ LS_XTTS_RATE, synthesize, free_engine, NULL, LS_TTS_REF_LOCAL_FILE };
    t->http.timeout_s = config->timeout_s;
    t->lang = g_strdup(config->lang ? config->lang : "zh-cn");
    if (!(t->clone_url = ls_http_tts_url(config->server, "clone_speaker", "xtts", err)) ||
        !(t->stream_url = ls_http_tts_url(config->server, "tts_stream", "xtts", err)) ||
        !(t->configured.wav = ls_http_tts_read_ref(config->ref_file, "xtts", err))) {
        free_engine(&t->base);
        return -1;
    }
    *out = &t->base;
    return 0;
}
