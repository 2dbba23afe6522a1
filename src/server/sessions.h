/*
 * sessions.h - the server's sessions: creating, finding and closing them.
 *
 * A session is one browser peer: its WebRTC pipeline, its speech queue
 * (attached to the speech service), its producer thread, its avatar and
 * its open event streams (/sse); or, with a push transport, one stream to
 * a media server or camera (server/session_outputs.h) instead of the peer.
 * Either may also be recorded. Ids are 128 random bits from getrandom()
 * in hex (32 characters), so they cannot be guessed; push sessions are
 * numbered "0", "1", ... as in LiveTalking. The registry lives on the main
 * context: sessions are created by /offer (push sessions at start-up),
 * found by id by every other route, and closed when the peer disconnects
 * or fails, when the answer cannot be made, or at shutdown; closing
 * releases everything the session holds. Speech events reach the main context as queued sources
 * that look the session up by id, so a late event for a closed session is
 * dropped.
 */
#ifndef LS_SERVER_SESSIONS_H
#define LS_SERVER_SESSIONS_H

#include <libsoup/soup.h>

#include "live/producer.h"
#include "live/lipsync.h"
#include "media/output.h"
#include "media/sdp_offer.h"
#include "media/webrtc_peer.h"
#include "server/server.h"
#include "speech/speech_queue.h"

#define LS_SESSION_ID_LEN 32
/* Descriptors a session may hold: its ICE sockets (one per local address),
 * its pipelines' wake-up pipes, an event stream and a recording (31 counted
 * on a machine with two addresses), with room for more interfaces. */
#define LS_SESSION_FILES 64

typedef struct ls_session_chat ls_session_chat;   /* server/session_speech.h */

typedef struct ls_session {
    char id[LS_SESSION_ID_LEN + 1];
    ls_server *srv;
    ls_avatar *avatar;
    ls_action_clips *clips;          /* its offer's custom_config, or NULL: the server's clips */
    ls_offer_media media;
    ls_speech_queue *speech;
    ls_session_chat *chat;           /* its conversation with the LLM (/human type "chat") */
    ls_webrtc_peer *peer;            /* NULL in a push session */
    ls_output *push;                 /* a push session's stream (rtmp, whip, virtualcam), else NULL */
    ls_output *recording;            /* while recording, else NULL */
    char record_failure[528];        /* why the last recording could not start ("failed: " + ls_error) */
    GstClock *clock;                 /* the producer's clock: frame n plays at base_time + n x 40 ms */
    GstClockTime base_time;
    ls_lipsync *engine;              /* pictures with their audio (the producer drives it) */
    ls_producer *producer;
    SoupServerMessage *offer_msg;    /* the /offer request waiting for the answer */
    gulong offer_finished_handler;
    GPtrArray *streams;              /* open /sse streams (sse.c) */
    gint64 created_us;               /* g_get_real_time() */
} ls_session;

/* 128 random bits as 32 hex digits; -1 when getrandom fails. */
int ls_session_new_id(char out[LS_SESSION_ID_LEN + 1], ls_error *err);

/* What an offer asks for besides its SDP. */
typedef struct ls_session_setup {
    ls_offer_media media;
    ls_avatar *avatar;               /* the session takes it over when opened */
    ls_action_clips *clips;          /* custom_config (may be NULL); taken over when opened */
    int frame_log;                   /* frames to record for /api/admin/sessions?frames=ID, 0: none */
} ls_session_setup;

/* Opens a session answering `offer_sdp`; `msg` (paused by the caller) is
 * answered when the answer is ready: the session takes it over. On failure
 * the caller keeps the setup's avatar and clips. */
int ls_session_open(ls_server *srv, const char *offer_sdp, const ls_session_setup *setup, SoupServerMessage *msg,
                    ls_session **out, ls_error *err);

/* Opens push session `index` (id "index", the system clock) with the
 * server's avatar, streaming to the transport's output. */
int ls_session_open_push(ls_server *srv, int index, ls_session **out, ls_error *err);

/* Closes the session (`why` is logged): it leaves the registry, and its
 * peer, outputs and event streams end, at once; its producer and engine
 * stop on a closer thread, which cancels the session's batches at the
 * worker and waits for the one being rendered, and the session is freed on
 * the main context after them
 * (ls_server's closing_sessions counts those still stopping). Closing all
 * is the server's shutdown: no session opens after it (503), and it
 * returns once every closer is done. */
void ls_session_close(ls_session *s, const char *why);
void ls_sessions_close_all(ls_server *srv);

ls_session *ls_session_find(ls_server *srv, const char *id);
int ls_sessions_count(ls_server *srv);

#endif
