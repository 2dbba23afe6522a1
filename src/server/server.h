/*
 * server.h - the live server: what every request handler shares.
 *
 * One GLib main loop runs the HTTP server (libsoup 3) and all session
 * bookkeeping; GStreamer and the speech thread post their news to it
 * (sessions.h). ls_server_run() builds everything from the options, serves
 * until SIGINT or SIGTERM, then closes every session and frees everything.
 */
#ifndef LS_SERVER_SERVER_H
#define LS_SERVER_SERVER_H

#include <glib.h>
#include <libsoup/soup.h>

#include "avatar/avatar.h"
#include "server/options.h"
#include "speech/speech_service.h"
#include "speech/tts_engine.h"
#include "live/live_models.h"
#include "live/action_clips.h"

/* The stream window of every session's whisper encoder (live/stream_features.h),
 * as upstream's live server encodes it. */
#define LS_SESSION_WINDOW LS_STREAM_WINDOW_FULL

typedef struct ls_server {
    const ls_server_options *opts;
    GMainContext *context;
    GMainLoop *loop;
    SoupServer *soup;
    GHashTable *sessions;            /* id -> ls_session*, main context only */
    int closing_sessions;            /* closed, their producer and engine still stopping on a
                                        closer thread (server/sessions.c); main context only */
    int stopping;                    /* shutting down: no session opens any more */
    ls_avatar *avatar;               /* the default avatar, held for the server's life */
    ls_action_clips *clips;          /* --customvideo_config, frames of the default avatar's size */
    ls_live_models models;           /* --model musetalk: shared by every session; else all NULL */
    size_t session_bytes;            /* device memory a session's whisper encoder takes, reserved
                                        when it is made (a GPU; 0 on the CPU) */
    ls_tts_engine *tts;
    ls_speech_service *speech;
    char *web_dir;
    struct {                         /* what the sessions already closed pushed (server/metrics.h) */
        int64_t frames, lipsynced, skipped;
    } closed;
} ls_server;

/* Serves until a signal; 0, or -1 when it could not start. */
int ls_server_run(const ls_server_options *opts, ls_error *err);

#endif
