/*
 * routes_offer.c - POST /offer: a browser's WebRTC offer opens a session.
 *
 * Body: {"sdp": "...", "type": "offer"} and optionally "avatar" (an avatar
 * id), "refaudio"/"reftext" (a voice for voice-cloning TTS engines; espeak
 * has none, so they are accepted and unused) and "custom_config" (action
 * clips: not available yet). Checks run cheapest first: JSON, fields, SDP
 * codecs, the transport (push transports have no browser sessions), the
 * session limit, the avatar. The request then waits (paused)
 * until the session's answer is ready: {"sdp", "type": "answer",
 * "sessionid"} (sessions.c).
 */
#include "server/routes.h"

#include <string.h>

#include "server/avatars.h"
#include "server/json_out.h"
#include "server/request.h"

/* The offer's fields; 400 answered on failure. */
static int read_offer(SoupServerMessage *msg, const ls_json *body, const char **sdp, const char **avatar_id,
                      ls_offer_media *media)
{
    ls_error err;
    const char *type = NULL, *custom = NULL;
    if (ls_request_string(body, "sdp", 1, sdp, &err) < 0 || ls_request_string(body, "type", 0, &type, &err) < 0 ||
        ls_request_string(body, "avatar", 0, avatar_id, &err) < 0 ||
        ls_request_string(body, "custom_config", 0, &custom, &err) < 0) {
        ls_http_fail(msg, SOUP_STATUS_BAD_REQUEST, "%s", err.msg);
        return -1;
    }
    if (type && strcmp(type, "offer") != 0) {
        ls_http_fail(msg, SOUP_STATUS_BAD_REQUEST, "field 'type' must be \"offer\" (lipstream answers offers)");
        return -1;
    }
    if (custom && custom[0] && strcmp(custom, "[]") != 0) {
        ls_http_fail(msg, SOUP_STATUS_NOT_IMPLEMENTED, "custom_config: action clips are not available yet");
        return -1;
    }
    if (ls_sdp_offer_read(*sdp, strlen(*sdp), media, &err) < 0) {
        ls_http_fail(msg, SOUP_STATUS_BAD_REQUEST, "%s", err.msg);
        return -1;
    }
    return 0;
}

void ls_route_offer(ls_server *srv, SoupServerMessage *msg, const char *path, GHashTable *query)
{
    size_t len;
    const char *data = ls_http_body(msg, &len);
    ls_json *body = NULL;
    ls_error err;
    const char *sdp, *avatar_id = NULL;
    ls_offer_media media;
    if (ls_request_parse(data, len, &body, &err) < 0) {
        ls_http_fail(msg, SOUP_STATUS_BAD_REQUEST, "%s", err.msg);
        return;
    }
    if (read_offer(msg, body, &sdp, &avatar_id, &media) < 0)
        goto done;
    if (strcmp(srv->opts->transport, "webrtc") != 0) {
        ls_http_fail(msg, SOUP_STATUS_CONFLICT, "this server pushes its sessions (--transport %s), made at "
                     "start-up: drive session 0 (see /api/admin/sessions); /offer needs --transport webrtc",
                     srv->opts->transport);
        goto done;
    }

    int n = ls_sessions_count(srv), max = srv->opts->max_session;
    if (n >= max) {
        ls_http_fail(msg, SOUP_STATUS_SERVICE_UNAVAILABLE, "Maximum session limit reached (%d/%d)", n, max);
        goto done;
    }
    ls_avatar *avatar;
    unsigned status;
    if (ls_server_avatar_acquire(srv->opts, avatar_id, &avatar, &status, &err) < 0) {
        ls_http_fail(msg, status, "%s", err.msg);
        goto done;
    }
    ls_session *s;
    if (ls_session_open(srv, sdp, &media, avatar, msg, &s, &err) < 0) {
        ls_avatar_release(avatar);
        ls_http_fail(msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "%s", err.msg);
        goto done;
    }
    soup_server_message_pause(msg);   /* answered by the session when ICE gathering completes */
done:
    ls_json_free(body);
}
