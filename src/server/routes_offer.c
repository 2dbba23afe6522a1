/*
 * routes_offer.c - POST /offer: a browser's WebRTC offer opens a session.
 *
 * Body: {"sdp": "...", "type": "offer"} and optionally "avatar" (an avatar
 * id), "refaudio"/"reftext" (a voice for voice-cloning TTS engines; espeak
 * has none, so they are accepted and unused), "custom_config" (a JSON
 * string: the session's action clips, the format of --customvideo_config,
 * live/action_clips.h; they replace the server's clips for this session; an
 * empty string or list keeps the server's) and, lipstream's own,
 * "frame_log" (0 .. LS_FRAME_LOG_MAX: record that many of the newest
 * frames, served by /api/admin/sessions?frames=ID, for comparing runs).
 * Checks run cheapest first: JSON, fields, SDP codecs, the transport (push
 * transports have no browser sessions), the session limit, the file
 * descriptors a session needs (util/open_files.h), the avatar, the
 * action clips (their frames and audio are loaded now, so that a bad
 * configuration is a 400 and no session). No room for another session
 * (--max_session reached, the open-file limit, or the GPU's memory used
 * up) is a 503, which tells
 * a client or load balancer to try again later or elsewhere; any other
 * failure to open the session is a 500. The request then waits (paused)
 * until the session's answer is ready: {"sdp", "type": "answer",
 * "sessionid"} (sessions.c).
 */
#include "server/routes.h"

#include <string.h>

#include "server/avatars.h"
#include "server/json_out.h"
#include "server/request.h"
#include "util/open_files.h"

#define LS_FRAME_LOG_MAX 15000   /* 10 minutes of frames */

typedef struct offer_fields {
    const char *sdp, *avatar_id, *custom_config;
    int64_t frame_log;
} offer_fields;

/* The offer's fields; 400 answered on failure. */
static int read_offer(SoupServerMessage *msg, const ls_json *body, offer_fields *f, ls_offer_media *media)
{
    ls_error err;
    const char *type = NULL;
    if (ls_request_string(body, "sdp", 1, &f->sdp, &err) < 0 || ls_request_string(body, "type", 0, &type, &err) < 0 ||
        ls_request_string(body, "avatar", 0, &f->avatar_id, &err) < 0 ||
        ls_request_string(body, "custom_config", 0, &f->custom_config, &err) < 0 ||
        ls_request_int(body, "frame_log", 0, &f->frame_log, &err) < 0) {
        ls_http_fail(msg, SOUP_STATUS_BAD_REQUEST, "%s", err.msg);
        return -1;
    }
    if (type && strcmp(type, "offer") != 0) {
        ls_http_fail(msg, SOUP_STATUS_BAD_REQUEST, "field 'type' must be \"offer\" (lipstream answers offers)");
        return -1;
    }
    if (f->frame_log < 0 || f->frame_log > LS_FRAME_LOG_MAX) {
        ls_http_fail(msg, SOUP_STATUS_BAD_REQUEST, "field 'frame_log' must be 0 .. %d frames", LS_FRAME_LOG_MAX);
        return -1;
    }
    if (ls_sdp_offer_read(f->sdp, strlen(f->sdp), media, &err) < 0) {
        ls_http_fail(msg, SOUP_STATUS_BAD_REQUEST, "%s", err.msg);
        return -1;
    }
    return 0;
}

/* The session's own action clips (NULL when it has none: the server's
 * apply); 400 answered on failure. */
static int read_clips(SoupServerMessage *msg, const char *custom_config, const char *custom_config_dir,
                      const ls_avatar *avatar, ls_action_clips **out)
{
    *out = NULL;
    if (!custom_config || !custom_config[0])
        return 0;
    ls_error err;
    ls_clip_paths confined = { custom_config_dir, "--custom_config_dir" };
    if (ls_action_clips_parse(custom_config, "custom_config", &confined, avatar->width, avatar->height, out,
                              &err) < 0) {
        ls_http_fail(msg, SOUP_STATUS_BAD_REQUEST, "%s", err.msg);
        return -1;
    }
    if ((*out)->n == 0) {
        ls_action_clips_free(*out);
        *out = NULL;
    }
    return 0;
}

void ls_route_offer(ls_server *srv, SoupServerMessage *msg, const char *path, GHashTable *query)
{
    size_t len;
    const char *data = ls_http_body(msg, &len);
    ls_json *body = NULL;
    ls_error err;
    offer_fields f = { 0 };
    ls_session_setup setup = { 0 };
    if (ls_request_parse(data, len, &body, &err) < 0) {
        ls_http_fail(msg, SOUP_STATUS_BAD_REQUEST, "%s", err.msg);
        return;
    }
    if (read_offer(msg, body, &f, &setup.media) < 0)
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
    long open_now, limit;
    if (ls_open_files_room(LS_SESSION_FILES, &open_now, &limit) < 0) {
        ls_http_fail(msg, SOUP_STATUS_SERVICE_UNAVAILABLE,
                     "the server has no file descriptors left for another session (%ld open, the "
                     "limit is %ld)", open_now, limit);
        goto done;
    }
    unsigned status;
    if (ls_server_avatar_acquire(srv->opts, f.avatar_id, &setup.avatar, &status, &err) < 0) {
        ls_http_fail(msg, status, "%s", err.msg);
        goto done;
    }
    if (read_clips(msg, f.custom_config, srv->opts->custom_config_dir, setup.avatar, &setup.clips) < 0) {
        ls_avatar_release(setup.avatar);
        goto done;
    }
    setup.frame_log = (int)f.frame_log;
    ls_session *s;
    if (ls_session_open(srv, f.sdp, &setup, msg, &s, &err) < 0) {
        ls_action_clips_free(setup.clips);
        ls_avatar_release(setup.avatar);
        /* 503 when the GPU is full: another server, or this one later, can take it */
        ls_http_fail(msg, err.kind == LS_ERROR_EXHAUSTED ? SOUP_STATUS_SERVICE_UNAVAILABLE
                                                         : SOUP_STATUS_INTERNAL_SERVER_ERROR, "%s", err.msg);
        goto done;
    }
    soup_server_message_pause(msg);   /* answered by the session when ICE gathering completes */
done:
    ls_json_free(body);
}
