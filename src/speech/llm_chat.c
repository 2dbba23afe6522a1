/*
 * llm_chat.c - streamed chat completions over libsoup (see llm_chat.h).
 *
 * A reply in flight is an llm_request, driven by a chain of async calls on
 * the main context: send -> read -> read ... Each step's callback first
 * checks whether the request was detached (cancelled: its on_done already
 * ran); if so it only frees the request. Exactly one async call is pending
 * per request, so the last callback frees it. `finish` ends a request that
 * is still attached: it reports, remembers the turn on success, detaches.
 */
#include "speech/llm_chat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libsoup/soup.h>

#include "server/json_out.h"
#include "speech/reply_chunks.h"
#include "speech/sse_parser.h"
#include "util/json.h"

#define READ_BLOCK 4096

typedef struct llm_request llm_request;

struct ls_llm_chat {
    char *base_url, *model, *api_key_env, *system_prompt;
    int history_turns;
    SoupSession *session;
    GPtrArray *history;        /* char*: question, answer, question, answer, ... */
    llm_request *current;      /* the reply in flight, or NULL */
    ls_llm_timings timings;
};

struct llm_request {
    ls_llm_chat *chat;         /* NULL once detached */
    ls_llm_callbacks fns;
    void *user;
    char *question, *url;
    GCancellable *cancel;
    SoupMessage *msg;
    GInputStream *in;
    ls_sse_parser *sse;
    ls_reply_chunks chunks;
    GString *reply;
    gint64 asked_us;
    int saw_finish, done;      /* a finish_reason arrived; [DONE] arrived */
    ls_llm_timings timings;
};

static void request_free(llm_request *r)
{
    g_clear_object(&r->in);
    g_clear_object(&r->msg);
    g_clear_object(&r->cancel);
    ls_sse_parser_free(r->sse);
    ls_reply_chunks_clear(&r->chunks);
    if (r->reply)
        g_string_free(r->reply, TRUE);
    free(r->question);
    free(r->url);
    free(r);
}

static void remember(ls_llm_chat *c, const char *question, const char *answer)
{
    if (c->history_turns <= 0)
        return;
    g_ptr_array_add(c->history, g_strdup(question));
    g_ptr_array_add(c->history, g_strdup(answer));
    while ((int)c->history->len > 2 * c->history_turns)
        g_ptr_array_remove_range(c->history, 0, 2);
}

/* Ends an attached request: it is detached, then reported. */
static void finish(llm_request *r, ls_llm_status status, const ls_error *err)
{
    ls_llm_chat *c = r->chat;
    r->chat = NULL;
    c->current = NULL;
    c->timings = r->timings;
    if (status == LS_LLM_OK)
        remember(c, r->question, r->reply->str);
    if (status == LS_LLM_FAILED)
        fprintf(stderr, "lipstream: llm: %s\n", err->msg);
    else
        fprintf(stderr, "lipstream: llm: reply %s: first piece after %.2f s, last after %.2f s, %zu bytes\n",
                status == LS_LLM_OK ? "done" : "cancelled", r->timings.first_piece_s, r->timings.last_piece_s,
                r->timings.reply_bytes);
    r->fns.on_done(r->user, status, err);
}

static int on_piece(void *user, const char *piece)
{
    llm_request *r = user;
    double t = (double)(g_get_monotonic_time() - r->asked_us) / 1e6;
    if (r->timings.first_piece_s < 0)
        r->timings.first_piece_s = t;
    r->timings.last_piece_s = t;
    return r->fns.on_piece(r->user, piece);
}

/* One event of the stream: a JSON chunk, or [DONE]. */
static int on_event(void *user, const char *event, const char *data, size_t len, ls_error *err)
{
    llm_request *r = user;
    (void)event;
    if (strcmp(data, "[DONE]") == 0) {
        r->done = 1;
        return 0;
    }
    ls_json *chunk;
    ls_error parse_err;
    if (ls_json_parse(data, len, &chunk, &parse_err) < 0)
        return ls_error_set(err, "malformed reply stream from %s: %s", r->url, parse_err.msg);
    const ls_json *error = ls_json_get(chunk, "error"), *choices = ls_json_get(chunk, "choices");
    const char *text = NULL, *message = "no message";
    int rc = 0;
    if (error) {
        ls_json_get_string(error, "message", &message, NULL);
        rc = ls_error_set(err, "%s reported an error: %.300s", r->url, message);
    } else if (!choices || choices->kind != LS_JSON_ARRAY) {
        rc = ls_error_set(err, "malformed reply stream from %s: a chunk without 'choices'", r->url);
    } else if (choices->u.arr.n > 0) {
        const ls_json *choice = choices->u.arr.items[0], *finish_reason = ls_json_get(choice, "finish_reason");
        r->saw_finish |= finish_reason && finish_reason->kind != LS_JSON_NULL;
        const ls_json *delta = ls_json_get(choice, "delta");
        const ls_json *content = ls_json_get(delta, "content");
        if (content && content->kind == LS_JSON_STRING)
            text = content->u.str.s;
        else if (content && content->kind != LS_JSON_NULL)
            rc = ls_error_set(err, "malformed reply stream from %s: 'content' is not a string", r->url);
    }
    if (rc == 0 && text) {
        size_t n = strlen(text);
        g_string_append_len(r->reply, text, (gssize)n);
        r->timings.reply_bytes += n;
        if (ls_reply_chunks_add(&r->chunks, text, n, on_piece, r) < 0)
            rc = ls_error_set(err, "the reply from %s was stopped", r->url);
    }
    ls_json_free(chunk);
    return rc;
}

static void on_read(GObject *source, GAsyncResult *res, gpointer user);

static void read_more(llm_request *r)
{
    g_input_stream_read_bytes_async(r->in, READ_BLOCK, G_PRIORITY_DEFAULT, r->cancel, on_read, r);
}

static void on_read(GObject *source, GAsyncResult *res, gpointer user)
{
    llm_request *r = user;
    GError *gerr = NULL;
    GBytes *bytes = g_input_stream_read_bytes_finish(G_INPUT_STREAM(source), res, &gerr);
    if (!r->chat) {
        if (bytes)
            g_bytes_unref(bytes);
        g_clear_error(&gerr);
        request_free(r);
        return;
    }
    ls_error err;
    ls_llm_status status = LS_LLM_FAILED;
    if (!bytes) {
        ls_error_set(&err, "reading the reply from %s: %s", r->url, gerr->message);
        g_error_free(gerr);
    } else {
        gsize n;
        const char *data = g_bytes_get_data(bytes, &n);
        int rc = ls_sse_parser_feed(r->sse, data, n, &err);
        g_bytes_unref(bytes);
        if (!r->chat) {  /* cancelled from on_piece */
            request_free(r);
            return;
        }
        if (rc == 0 && !r->done && n > 0) {
            read_more(r);
            return;
        }
        if (rc == 0 && !r->done && !r->saw_finish)
            ls_error_set(&err, "the reply stream from %s ended before its end ([DONE])", r->url);
        else if (rc == 0 && ls_reply_chunks_finish(&r->chunks, on_piece, r) < 0)
            ls_error_set(&err, "the reply from %s was stopped", r->url);
        else if (rc == 0)
            status = LS_LLM_OK;
        if (!r->chat) {
            request_free(r);
            return;
        }
    }
    finish(r, status, status == LS_LLM_OK ? NULL : &err);
    request_free(r);
}

static void on_sent(GObject *source, GAsyncResult *res, gpointer user)
{
    llm_request *r = user;
    GError *gerr = NULL;
    r->in = soup_session_send_finish(SOUP_SESSION(source), res, &gerr);
    if (!r->chat) {
        g_clear_error(&gerr);
        request_free(r);
        return;
    }
    ls_error err;
    guint code = soup_message_get_status(r->msg);
    if (!r->in) {
        ls_error_set(&err, "cannot reach the LLM service %s: %s", r->url, gerr->message);
        g_error_free(gerr);
    } else if (!SOUP_STATUS_IS_SUCCESSFUL(code)) {
        ls_error_set(&err, "the LLM service %s answered HTTP %u %s", r->url, code,
                     soup_message_get_reason_phrase(r->msg));
    } else {
        r->fns.on_started(r->user);
        if (r->chat)
            read_more(r);
        else    /* cancelled from on_started: nothing is pending that would free it */
            request_free(r);
        return;
    }
    finish(r, LS_LLM_FAILED, &err);
    request_free(r);
}

static void append_message(GString *body, const char *role, const char *content)
{
    g_string_append_printf(body, "%s{\"role\": \"%s\", \"content\": ", body->str[body->len - 1] == '[' ? "" : ", ",
                           role);
    ls_json_append_string(body, content);
    g_string_append_c(body, '}');
}

static GBytes *request_body(const ls_llm_chat *c, const char *question)
{
    GString *body = g_string_new("{\"model\": ");
    ls_json_append_string(body, c->model);
    g_string_append(body, ", \"stream\": true, \"messages\": [");
    if (c->system_prompt && *c->system_prompt)
        append_message(body, "system", c->system_prompt);
    for (guint i = 0; i < c->history->len; i++)
        append_message(body, i % 2 ? "assistant" : "user", g_ptr_array_index(c->history, i));
    append_message(body, "user", question);
    g_string_append(body, "]}");
    return g_string_free_to_bytes(body);
}

ls_llm_chat *ls_llm_chat_new(const ls_llm_config *config)
{
    ls_llm_chat *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->base_url = g_strdup(config->base_url);
    c->model = g_strdup(config->model);
    c->api_key_env = g_strdup(config->api_key_env);
    c->system_prompt = g_strdup(config->system_prompt);
    c->history_turns = config->history_turns;
    c->history = g_ptr_array_new_with_free_func(g_free);
    c->session = soup_session_new_with_options("timeout", (guint)config->timeout_s, "idle-timeout",
                                               (guint)config->timeout_s, NULL);
    c->timings = (ls_llm_timings){ -1, -1, 0 };
    return c;
}

void ls_llm_chat_free(ls_llm_chat *c)
{
    if (!c)
        return;
    ls_llm_chat_cancel(c);
    g_object_unref(c->session);
    g_ptr_array_unref(c->history);
    g_free(c->base_url);
    g_free(c->model);
    g_free(c->api_key_env);
    g_free(c->system_prompt);
    free(c);
}

int ls_llm_chat_ask(ls_llm_chat *c, const char *question, const ls_llm_callbacks *fns, void *user, ls_error *err)
{
    if (c->current)
        return ls_error_set(err, "a reply is still being spoken (interrupt it first)");
    char *url = g_strconcat(c->base_url, g_str_has_suffix(c->base_url, "/") ? "" : "/", "chat/completions", NULL);
    SoupMessage *msg = soup_message_new("POST", url);
    if (!msg) {
        ls_error_set(err, "the LLM URL '%.200s' is not a valid http(s) URL", url);
        g_free(url);
        return -1;
    }
    llm_request *r = calloc(1, sizeof *r);
    if (r)
        r->sse = ls_sse_parser_new(on_event, r);
    if (!r || !r->sse) {
        g_object_unref(msg);
        g_free(url);
        if (r)
            request_free(r);
        return ls_error_set(err, "out of memory");
    }
    r->chat = c;
    r->fns = *fns;
    r->user = user;
    r->question = strdup(question);
    r->url = strdup(url);
    g_free(url);
    r->msg = msg;
    r->cancel = g_cancellable_new();
    r->reply = g_string_new(NULL);
    ls_reply_chunks_init(&r->chunks);
    r->timings = (ls_llm_timings){ -1, -1, 0 };
    r->asked_us = g_get_monotonic_time();
    GBytes *body = request_body(c, question);
    soup_message_set_request_body_from_bytes(msg, "application/json", body);
    g_bytes_unref(body);
    SoupMessageHeaders *headers = soup_message_get_request_headers(msg);
    soup_message_headers_append(headers, "Accept", "text/event-stream");
    const char *key = c->api_key_env ? getenv(c->api_key_env) : NULL;
    if (key && *key) {
        char *auth = g_strconcat("Bearer ", key, NULL);
        soup_message_headers_append(headers, "Authorization", auth);
        g_free(auth);
    }
    c->current = r;
    soup_session_send_async(c->session, msg, G_PRIORITY_DEFAULT, r->cancel, on_sent, r);
    return 0;
}

void ls_llm_chat_cancel(ls_llm_chat *c)
{
    llm_request *r = c->current;
    if (!r)
        return;
    /* Detached first: cancelling may run its pending callback at once, which then frees it. */
    GCancellable *cancel = g_object_ref(r->cancel);
    ls_error err;
    ls_error_set(&err, "interrupted");
    finish(r, LS_LLM_CANCELLED, &err);
    g_cancellable_cancel(cancel);
    g_object_unref(cancel);
}

int ls_llm_chat_busy(const ls_llm_chat *c)
{
    return c->current != NULL;
}

ls_llm_timings ls_llm_chat_timings(const ls_llm_chat *c)
{
    return c->timings;
}

int ls_llm_chat_history_len(const ls_llm_chat *c)
{
    return (int)(c->history->len / 2);
}
