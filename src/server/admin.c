/*
 * admin.c - GET /api/admin/sessions and GET /api/admin/config.
 *
 * sessions: {"code": 0, "data": [{"sessionid", "state" (WebRTC connection
 * state, or a push session's output status), "speaking", "recording",
 * "avatar", "transport", "video_codec", "outputs" ([{"output": "rtmp" |
 * "whip" | "virtualcam" | "record", "status"}]), "chat" (the last LLM
 * reply: {"busy", "turns", "first_piece_s", "last_piece_s", "reply_bytes",
 * "error"}, server/session_speech.h), "frames" (pushed),
 * "skipped" (frame numbers skipped for lateness), "age_s"}, ...],
 * "max_session": n}.
 * config: {"code": 0, "data": {option: value, ...}}, URLs with their
 * credentials, paths and queries redacted (the LLM's API key is not an
 * option: only the name of its environment variable is shown).
 */
#include "server/routes.h"

#include "server/json_out.h"
#include "server/session_outputs.h"
#include "server/session_speech.h"

static void append_session(GString *out, ls_session *s)
{
    g_string_append(out, "{\"sessionid\": ");
    ls_json_append_string(out, s->id);
    g_string_append(out, ", \"state\": ");
    ls_json_append_string(out, s->peer ? ls_webrtc_peer_state(s->peer) : ls_output_status(s->push));
    g_string_append_printf(out, ", \"speaking\": %s, \"recording\": %s, \"avatar\": ",
                           ls_speech_queue_speaking(s->speech) ? "true" : "false",
                           ls_session_recording(s) ? "true" : "false");
    ls_json_append_string(out, s->avatar->id);
    g_string_append(out, ", \"transport\": ");
    ls_json_append_string(out, s->srv->opts->transport);
    g_string_append(out, ", \"video_codec\": ");
    ls_json_append_string(out, s->peer ? ls_video_codec_name(s->media.video_codec) : "H264");
    g_string_append(out, ", \"outputs\": ");
    ls_session_outputs_json(s, out);
    g_string_append(out, ", \"chat\": ");
    ls_session_chat_to_json(s->chat, out);
    g_string_append_printf(out, ", \"frames\": %lld, \"skipped\": %lld, \"lipsynced\": %lld, \"age_s\": %.1f}",
                           (long long)ls_producer_frames(s->producer), (long long)ls_producer_skipped(s->producer),
                           (long long)ls_producer_lipsynced(s->producer),
                           (g_get_real_time() - s->created_us) / 1e6);
}

void ls_route_admin_sessions(ls_server *srv, SoupServerMessage *msg, const char *path, GHashTable *query)
{
    GString *out = g_string_new("{\"code\": 0, \"data\": [");
    GHashTableIter it;
    gpointer key, value;
    int first = 1;
    g_hash_table_iter_init(&it, srv->sessions);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        g_string_append(out, first ? "" : ", ");
        append_session(out, value);
        first = 0;
    }
    g_string_append_printf(out, "], \"max_session\": %d}", srv->opts->max_session);
    ls_http_reply(msg, SOUP_STATUS_OK, out);
}

void ls_route_admin_config(ls_server *srv, SoupServerMessage *msg, const char *path, GHashTable *query)
{
    GString *out = g_string_new("{\"code\": 0, \"data\": ");
    ls_server_options_to_json(srv->opts, out);
    g_string_append_c(out, '}');
    ls_http_reply(msg, SOUP_STATUS_OK, out);
}
