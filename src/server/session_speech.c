/*
 * session_speech.c - echo text and LLM chat replies into a session's speech
 * queue (see session_speech.h).
 *
 * The chat keeps the /human request that asked (paused, with a "finished"
 * handler in case the client leaves first) until llm_chat's on_started or
 * on_done. on_done after the start reports failures on /sse; a cancelled
 * reply (interrupt, session closing) reports nothing but answers a request
 * still waiting.
 */
#include "server/session_speech.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/http.h"
#include "server/json_out.h"
#include "server/sse.h"
#include "speech/llm_chat.h"
#include "speech/text_chunks.h"

struct ls_session_chat {
    ls_session *session;
    ls_llm_chat *llm;
    SoupServerMessage *asking;       /* the /human request waiting for the service, or NULL */
    gulong asking_finished_handler;
    ls_error last_error;             /* why the last reply failed; msg "" when it did not */
    ls_tts_voice *voice;             /* the voice of the reply being spoken, or NULL */
};

int ls_session_say(ls_session *s, const char *text, ls_tts_voice *voice, ls_error *err)
{
    ls_text_chunks chunks;
    if (ls_text_chunks_split(text, &chunks) < 0)
        return ls_error_set(err, "out of memory");
    int rc = 0;
    for (size_t i = 0; i < chunks.n && rc == 0; i++)
        rc = ls_speech_queue_add_voiced_text(s->speech, chunks.items[i], voice, err);
    ls_text_chunks_free(&chunks);
    return rc;
}

// --- the request waiting for the service ------------------------------------------------

static void forget_asking(ls_session_chat *c)
{
    if (!c->asking)
        return;
    g_signal_handler_disconnect(c->asking, c->asking_finished_handler);
    g_object_unref(c->asking);
    c->asking = NULL;
}

static void on_asking_finished(SoupServerMessage *msg, gpointer data)
{
    forget_asking(data);
}

static void answer_asking(ls_session_chat *c, guint status, GString *json)
{
    SoupServerMessage *msg = c->asking;
    if (!msg) {
        g_string_free(json, TRUE);
        return;
    }
    g_object_ref(msg);
    forget_asking(c);
    ls_http_reply(msg, status, json);
    soup_server_message_unpause(msg);
    g_object_unref(msg);
}

// --- llm_chat callbacks (main context) ---------------------------------------------------

static void on_started(void *user)
{
    answer_asking(user, SOUP_STATUS_OK, ls_json_result(0, "ok"));
}

static int on_piece(void *user, const char *piece)
{
    ls_session_chat *c = user;
    ls_error err;
    if (ls_session_say(c->session, piece, c->voice, &err) < 0) {
        c->last_error = err;
        return -1;
    }
    return 0;
}

static void on_done(void *user, ls_llm_status status, const ls_error *err)
{
    ls_session_chat *c = user;
    if (status == LS_LLM_OK)
        return;
    if (status == LS_LLM_CANCELLED) {
        answer_asking(c, SOUP_STATUS_CONFLICT, ls_json_result(-1, "chat: cancelled before the reply started"));
        return;
    }
    /* A piece refused by the speech queue says why better than "stopped". */
    if (!c->last_error.msg[0])
        c->last_error = *err;
    if (c->asking) {
        answer_asking(c, SOUP_STATUS_BAD_GATEWAY, ls_json_result(-1, c->last_error.msg));
        return;
    }
    GString *json = g_string_new("{\"status\": \"error\", \"text\": ");
    ls_json_append_string(json, c->last_error.msg);
    g_string_append_c(json, '}');
    ls_sse_send(c->session, json->str);
    g_string_free(json, TRUE);
}

// --- the session's chat -------------------------------------------------------------------

ls_session_chat *ls_session_chat_new(ls_session *s)
{
    const ls_server_options *o = s->srv->opts;
    ls_llm_config cfg = { o->llm_base_url, o->llm_model, o->llm_api_key_env, o->llm_system_prompt,
                          o->llm_history, LS_LLM_DEFAULT_TIMEOUT_S };
    ls_session_chat *c = calloc(1, sizeof *c);
    if (!c || !(c->llm = ls_llm_chat_new(&cfg))) {
        free(c);
        return NULL;
    }
    c->session = s;
    return c;
}

void ls_session_chat_free(ls_session_chat *c)
{
    if (!c)
        return;
    ls_llm_chat_free(c->llm);   /* a reply in flight ends in on_done */
    answer_asking(c, SOUP_STATUS_INTERNAL_SERVER_ERROR, ls_json_result(-1, "session closed"));
    ls_tts_voice_unref(c->voice);
    free(c);
}

/* The default service (DashScope) without its key cannot answer: say so at once. */
static int configured(const ls_server_options *o)
{
    const char *key = o->llm_api_key_env[0] ? getenv(o->llm_api_key_env) : NULL;
    return strcmp(o->llm_base_url, LS_LLM_DEFAULT_BASE_URL) != 0 || (key && key[0]);
}

void ls_session_chat_ask(ls_session_chat *c, SoupServerMessage *msg, const char *question, ls_tts_voice *voice)
{
    const ls_server_options *o = c->session->srv->opts;
    static const ls_llm_callbacks fns = { on_started, on_piece, on_done };
    ls_error err;
    if (!configured(o)) {
        ls_http_fail(msg, SOUP_STATUS_NOT_IMPLEMENTED,
                     "chat needs an LLM (--llm_base_url), not configured: the default service (%s) needs its "
                     "API key in $%s", o->llm_base_url, o->llm_api_key_env);
        return;
    }
    if (ls_llm_chat_busy(c->llm)) {
        ls_http_fail(msg, SOUP_STATUS_CONFLICT, "chat: a reply is still streaming (send \"interrupt\": true "
                                                "to replace it)");
        return;
    }
    c->last_error.msg[0] = '\0';
    ls_tts_voice_unref(c->voice);
    c->voice = ls_tts_voice_ref(voice);
    c->asking = g_object_ref(msg);
    c->asking_finished_handler = g_signal_connect(msg, "finished", G_CALLBACK(on_asking_finished), c);
    soup_server_message_pause(msg);
    if (ls_llm_chat_ask(c->llm, question, &fns, c, &err) < 0)
        answer_asking(c, SOUP_STATUS_INTERNAL_SERVER_ERROR, ls_json_result(-1, err.msg));
}

void ls_session_chat_cancel(ls_session_chat *c)
{
    ls_llm_chat_cancel(c->llm);
}

void ls_session_chat_to_json(const ls_session_chat *c, GString *out)
{
    ls_llm_timings t = ls_llm_chat_timings(c->llm);
    g_string_append_printf(out, "{\"busy\": %s, \"turns\": %d, \"first_piece_s\": %.3f, \"last_piece_s\": %.3f, "
                                "\"reply_bytes\": %zu, \"error\": ",
                           ls_llm_chat_busy(c->llm) ? "true" : "false", ls_llm_chat_history_len(c->llm),
                           t.first_piece_s, t.last_piece_s, t.reply_bytes);
    if (c->last_error.msg[0])
        ls_json_append_string(out, c->last_error.msg);
    else
        g_string_append(out, "null");
    g_string_append_c(out, '}');
}
