/*
 * routes_speech.c - driving a session: /human, /interrupt_talk, /is_speaking,
 * and the endpoints of features still to come (/set_audiotype, /record).
 *
 * Every body names its session with `sessionid` (ls_route_session). /human
 * {"text", "type": "echo"|"chat", "interrupt": bool} cuts echo text into
 * sentences (speech/text_chunks.h) and queues each as one chunk with its own
 * start/end events; "chat" needs an LLM, which is not configured yet.
 */
#include "server/routes.h"

#include <string.h>

#include "server/json_out.h"
#include "server/request.h"
#include "speech/text_chunks.h"

static void queue_text(SoupServerMessage *msg, ls_session *s, const char *text)
{
    ls_text_chunks chunks;
    ls_error err;
    if (ls_text_chunks_split(text, &chunks) < 0) {
        ls_http_fail(msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "out of memory");
        return;
    }
    for (size_t i = 0; i < chunks.n; i++) {
        if (ls_speech_queue_add_text(s->speech, chunks.items[i], &err) < 0) {
            ls_http_fail(msg, 429 /* Too Many Requests */, "%s", err.msg);
            ls_text_chunks_free(&chunks);
            return;
        }
    }
    ls_text_chunks_free(&chunks);
    ls_http_ok(msg);
}

void ls_route_human(ls_server *srv, SoupServerMessage *msg, const char *path, GHashTable *query)
{
    ls_json *body;
    ls_session *s = ls_route_session(srv, msg, &body);
    if (!s)
        return;
    ls_error err;
    const char *text, *type = "echo";
    int interrupt = 0;
    if (ls_request_string(body, "text", 1, &text, &err) < 0 || ls_request_string(body, "type", 0, &type, &err) < 0 ||
        ls_request_bool(body, "interrupt", &interrupt, &err) < 0) {
        ls_http_fail(msg, SOUP_STATUS_BAD_REQUEST, "%s", err.msg);
    } else if (strcmp(type, "chat") == 0) {
        ls_http_fail(msg, SOUP_STATUS_NOT_IMPLEMENTED, "chat needs an LLM (--llm_base_url), not configured");
    } else if (strcmp(type, "echo") != 0) {
        ls_http_fail(msg, SOUP_STATUS_BAD_REQUEST, "field 'type' must be \"echo\" or \"chat\"");
    } else {
        if (interrupt)
            ls_speech_queue_interrupt(s->speech);
        queue_text(msg, s, text);
    }
    ls_json_free(body);
}

void ls_route_interrupt(ls_server *srv, SoupServerMessage *msg, const char *path, GHashTable *query)
{
    ls_json *body;
    ls_session *s = ls_route_session(srv, msg, &body);
    if (!s)
        return;
    ls_speech_queue_interrupt(s->speech);
    ls_http_ok(msg);
    ls_json_free(body);
}

void ls_route_is_speaking(ls_server *srv, SoupServerMessage *msg, const char *path, GHashTable *query)
{
    ls_json *body;
    ls_session *s = ls_route_session(srv, msg, &body);
    if (!s)
        return;
    GString *json = g_string_new(NULL);
    g_string_printf(json, "{\"code\": 0, \"data\": %s}", ls_speech_queue_speaking(s->speech) ? "true" : "false");
    ls_http_reply(msg, SOUP_STATUS_OK, json);
    ls_json_free(body);
}

void ls_route_set_audiotype(ls_server *srv, SoupServerMessage *msg, const char *path, GHashTable *query)
{
    ls_json *body;
    ls_session *s = ls_route_session(srv, msg, &body);
    if (!s)
        return;
    ls_error err;
    int64_t audiotype;
    if (ls_request_int(body, "audiotype", 1, &audiotype, &err) < 0)
        ls_http_fail(msg, SOUP_STATUS_BAD_REQUEST, "%s", err.msg);
    else
        ls_http_fail(msg, SOUP_STATUS_NOT_IMPLEMENTED, "action clips are not available yet (audiotype %lld)",
                     (long long)audiotype);
    ls_json_free(body);
}

void ls_route_record(ls_server *srv, SoupServerMessage *msg, const char *path, GHashTable *query)
{
    ls_json *body;
    ls_session *s = ls_route_session(srv, msg, &body);
    if (!s)
        return;
    ls_error err;
    const char *type;
    if (ls_request_string(body, "type", 1, &type, &err) < 0)
        ls_http_fail(msg, SOUP_STATUS_BAD_REQUEST, "%s", err.msg);
    else if (strcmp(type, "start_record") != 0 && strcmp(type, "end_record") != 0)
        ls_http_fail(msg, SOUP_STATUS_BAD_REQUEST, "field 'type' must be \"start_record\" or \"end_record\"");
    else
        ls_http_fail(msg, SOUP_STATUS_NOT_IMPLEMENTED, "recording not available yet");
    ls_json_free(body);
}

void ls_route_record_download(ls_server *srv, SoupServerMessage *msg, const char *path, GHashTable *query)
{
    const char *id = path + strlen("/record/");
    if (!ls_session_find(srv, id))
        ls_http_fail(msg, SOUP_STATUS_NOT_FOUND, "unknown session '%.64s'", id);
    else
        ls_http_fail(msg, SOUP_STATUS_NOT_FOUND, "no recording for this session (recording not available yet)");
}
