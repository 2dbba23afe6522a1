/*
 * webrtc_common.h - what every webrtcbin in lipstream needs, answering
 * (media/webrtc_peer.h) or offering (media/whip_sink.h).
 *
 * Host candidates: libnice does not gather 127.0.0.1 by itself, so
 * loopback peers (tests, a media server on the same machine) could not
 * connect. Adding it through the ICE agent's add-local-ip-address turns
 * interface discovery off, so every other IPv4 interface that is up is
 * added too.
 *
 * RTCP sender reports: receivers (browsers) play audio and video in sync
 * by them, each mapping its stream's RTP time to wall-clock time. rtpbin
 * times them by when packets were sent by default; lipstream's buffers
 * carry their capture time (frame n and its audio share one timestamp),
 * and packets go out later than that, by varying amounts, whenever the
 * lip-sync loop runs late. Measured with GStreamer 1.22 (an aiortc client
 * noting every report, tests/e2e/rtcp_sync_test.py): in send-time mode a
 * report's RTP time ran ahead of the packets being sent by the whole
 * session's age (1 s after 1 s, 13 s after 13 s), placing audio and video
 * seconds apart; timed by capture time they agree.
 *
 * Events: webrtcbin's signals and promises fire on its own threads; its
 * users only queue a small event (a kind and a text) to their main
 * context, holding a reference on the object it concerns until it ran.
 *
 * Promises: webrtcbin answers each negotiation step through a GstPromise,
 * replying with an "error" field when the step failed.
 *
 * Liveness by RTCP: a peer whose machine or network dies sends nothing
 * more, and webrtcbin 1.22 keeps ICE "connected" (no consent checks), while
 * a live peer sends RTCP reports every second or so (browsers, aiortc,
 * media servers). A peer silent for LS_RTCP_SILENCE_S is gone; the silence
 * counts from its first report, or (ls_rtcp_connected, for browsers, which
 * always report) from its first DTLS connection, so that a peer that dies
 * before reporting is caught too.
 *
 * DTLS transports: a peer that closes its connection sends a DTLS
 * close_notify (browsers and aiortc do, when a page or connection closes);
 * webrtcbin then marks the transport closed but leaves its connection
 * state as it was, so the transports are watched directly.
 */
#ifndef LS_MEDIA_WEBRTC_COMMON_H
#define LS_MEDIA_WEBRTC_COMMON_H

#include <stddef.h>

#include <gst/gst.h>

void ls_webrtc_add_local_addresses(GstElement *webrtcbin);

/* Times webrtcbin's RTCP sender reports by the buffers' capture time. */
void ls_webrtc_sync_by_capture_time(GstElement *rtpbin);

/* How events reach an object: `handle` runs on the main context with the
 * event's kind and text (never NULL); `ref` is taken when the event is
 * queued and `unref` released once it has run. */
typedef struct ls_webrtc_event_target {
    void *(*ref)(void *owner);
    void (*unref)(void *owner);
    void (*handle)(void *owner, int kind, const char *text);
} ls_webrtc_event_target;

/* From any thread: queues event `kind` (`text` may be NULL) for `owner` on `context`. */
void ls_webrtc_post(GMainContext *context, const ls_webrtc_event_target *target, void *owner, int kind,
                    const char *text);

#define LS_RTCP_SILENCE_S 10
#define LS_RTCP_CHECK_MS 2000   /* how often ls_rtcp_silent is asked */

/* `*last_us` (atomic): the monotonic time of the peer's last RTCP report, or
 * of its first DTLS connection before its first report; 0 before both.
 * ls_rtcp_heard: a report came (rtpbin's on-ssrc-active, any thread);
 * ls_rtcp_connected: a DTLS transport connected (starts the count once);
 * ls_rtcp_silent: 1 once LS_RTCP_SILENCE_S passed without a report. */
void ls_rtcp_heard(gint64 *last_us);
void ls_rtcp_connected(gint64 *last_us);
int ls_rtcp_silent(const gint64 *last_us);

/* From the main context, once the transports exist (the answerer's: after
 * set-remote-description; the offerer's: after set-local-description):
 * watches each DTLS transport webrtcbin's transceivers send on (one when
 * bundled). A transport that becomes connected posts `connected_kind` to
 * `owner`, one the peer closed posts `closed_kind` with the text "the peer
 * closed its connection (DTLS close_notify)"; a kind < 0 is not posted. A
 * transport already in that state posts now. The watches hold a reference
 * on `owner` until webrtcbin is freed. */
void ls_webrtc_watch_dtls(GstElement *webrtcbin, GMainContext *context, const ls_webrtc_event_target *target,
                          void *owner, int connected_kind, int closed_kind);

/* For notify::ice-gathering-state handlers: 1 once webrtcbin's ICE
 * gathering is complete (its local description then holds the candidates). */
int ls_webrtc_gathering_complete(GObject *webrtcbin);

/* For create-offer and create-answer promises: sets the description the
 * promise replied with (its field `kind`, "offer" or "answer") as
 * webrtcbin's local description. 1 with the reason in `why` when the
 * promise failed or held none, 0 when it was set. */
int ls_webrtc_set_local_description(GstPromise *promise, GstElement *webrtcbin, const char *kind, char *why,
                                    size_t size);

/* Waits for the promise; 1 with the reason in `why` when it was
 * interrupted or replied with an error, 0 when it succeeded. */
int ls_webrtc_promise_failed(GstPromise *promise, char *why, size_t size);

#endif
