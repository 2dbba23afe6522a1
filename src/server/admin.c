/*
 * admin.c - GET /api/admin/sessions and GET /api/admin/config.
 *
 * sessions: {"code": 0, "data": [{"sessionid", "state" (WebRTC connection
 * state), "speaking", "recording", "avatar", "transport", "video_codec",
 * "frames" (pushed), "skipped" (frame numbers skipped for lateness),
 * "age_s"}, ...], "max_session": n}.
 * config: {"code": 0, "data": {option: value, ...}}, URLs with their
 * credentials, paths and queries redacted.
 */
#include "server/routes.h"

#include "server/json_out.h"

static void append_session(GString *out, ls_session *s)
{
    g_string_append(out, "{\"sessionid\": ");
    ls_json_append_string(out, s->id);
    g_string_append(out, ", \"state\": ");
    ls_json_append_string(out, ls_webrtc_peer_state(s->peer));
    g_string_append_printf(out, ", \"speaking\": %s, \"recording\": false, \"avatar\": ",
                           ls_speech_queue_speaking(s->speech) ? "true" : "false");
    ls_json_append_string(out, s->avatar->id);
    g_string_append(out, ", \"transport\": \"webrtc\", \"video_codec\": ");
    ls_json_append_string(out, ls_video_codec_name(s->media.video_codec));
    g_string_append_printf(out, ", \"frames\": %lld, \"skipped\": %lld, \"age_s\": %.1f}",
                           (long long)ls_producer_frames(s->producer), (long long)ls_producer_skipped(s->producer),
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
