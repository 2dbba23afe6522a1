/*
 * routes_speech.c - driving a session: /human, /interrupt_talk, /is_speaking,
 * and /set_audiotype (an action clip of --customvideo_config).
 *
 * Every body names its session with `sessionid` (ls_route_session). /human
 * {"text", "type": "echo"|"chat", "interrupt": bool} speaks echo text, or
 * asks the session's LLM chat and speaks its reply (server/session_speech.h);
 * "interrupt" first stops what is being said and the reply in flight, as
 * /interrupt_talk does. An optional "tts": {"ref_file", "ref_text"} is a
 * voice override for what this request says (speech/tts_voice.h): it is
 * checked, and a local reference file read, before anything is queued or
 * interrupted, so a bad one is a 400 that changes nothing.
 */
#include "server/routes.h"

#include <string.h>

#include "server/json_out.h"
#include "server/request.h"
#include "server/session_speech.h"

/* The request's voice override: 0 (*voice NULL when there is none), or -1
 * with a message naming the field. */
static int read_voice(const ls_server *srv, const ls_json *body, ls_tts_voice **voice, ls_error *err)
{
    const ls_json *tts;
    const char *ref_file = NULL, *ref_text = NULL;
    *voice = NULL;
    int rc = ls_request_object(body, "tts", 0, &tts, err);
    if (rc <= 0)
        return rc;
    if (ls_request_string(tts, "ref_file", 0, &ref_file, err) < 0 ||
        ls_request_string(tts, "ref_text", 0, &ref_text, err) < 0)
        return ls_error_prefix(err, "tts");
    return ls_tts_voice_new(srv->tts->ref_kind, srv->opts->tts_ref_dir, ref_file, ref_text, voice, err);
}

static void interrupt_session(ls_session *s)
{
    ls_session_chat_cancel(s->chat);
    ls_speech_queue_interrupt(s->speech);
    ls_lipsync_interrupt(s->engine);
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
    ls_tts_voice *voice = NULL;
    if (ls_request_string(body, "text", 1, &text, &err) < 0 || ls_request_string(body, "type", 0, &type, &err) < 0 ||
        ls_request_bool(body, "interrupt", &interrupt, &err) < 0) {
        ls_http_fail(msg, SOUP_STATUS_BAD_REQUEST, "%s", err.msg);
    } else if (strcmp(type, "echo") != 0 && strcmp(type, "chat") != 0) {
        ls_http_fail(msg, SOUP_STATUS_BAD_REQUEST, "field 'type' must be \"echo\" or \"chat\"");
    } else if (read_voice(srv, body, &voice, &err) < 0) {
        ls_http_fail(msg, SOUP_STATUS_BAD_REQUEST, "%s", err.msg);
    } else {
        if (interrupt)
            interrupt_session(s);
        if (strcmp(type, "chat") == 0)
            ls_session_chat_ask(s->chat, msg, text, voice);
        else if (ls_session_say(s, text, voice, &err) < 0)
            ls_http_fail(msg, 429 /* Too Many Requests */, "%s", err.msg);
        else
            ls_http_ok(msg);
    }
    ls_tts_voice_unref(voice);
    ls_json_free(body);
}

void ls_route_interrupt(ls_server *srv, SoupServerMessage *msg, const char *path, GHashTable *query)
{
    ls_json *body;
    ls_session *s = ls_route_session(srv, msg, &body);
    if (!s)
        return;
    interrupt_session(s);
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
    else if (audiotype < 2 || audiotype > 1000000 ||
             ls_lipsync_set_audiotype(s->engine, (int)audiotype, &err) < 0)
        ls_http_fail(msg, SOUP_STATUS_BAD_REQUEST, "audiotype %lld: no such action clip (--customvideo_config)",
                     (long long)audiotype);
    else
        ls_http_ok(msg);
    ls_json_free(body);
}
