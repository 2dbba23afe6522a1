/*
 * webrtc_peer.h - one browser peer: a GStreamer pipeline answering its offer.
 *
 * The pipeline (one per session):
 *   appsrc (BGR, 25 fps) ! videoconvert ! VP8 or H.264 encoder ! payloader --\
 *                                                                              webrtcbin
 *   appsrc (S16LE 16 kHz mono, 20 ms) ! opusenc ! rtpopuspay ------------------/
 * Codecs and payload types come from the offer (media/sdp_offer.h). The peer
 * answers non-trickle: the answer is handed over when ICE gathering completes
 * (its SDP then holds the candidates), or after a 3 s fallback. 127.0.0.1 and
 * the machine's IPv4 interfaces are offered as host candidates; a STUN
 * server is optional.
 *
 * The peer is the session's WebRTC ls_media_sink: push_frame never blocks
 * (the appsrcs drop old buffers when webrtcbin is not ready yet). The
 * pipeline runs on the system clock with a base time fixed at creation, so
 * the producer can pace frame n at base + n x 40 ms (ls_webrtc_peer_clock).
 *
 * Callbacks run on the GMainContext given at creation (the server's main
 * loop), never on GStreamer's threads, and never after ls_webrtc_peer_free.
 * `closed` fires once when the connection fails or closes, when the peer
 * says goodbye (RTCP BYE) or stops sending RTCP for 10 s, when the pipeline
 * reports an error, or when the peer has not connected 30 s after the offer.
 */
#ifndef LS_MEDIA_WEBRTC_PEER_H
#define LS_MEDIA_WEBRTC_PEER_H

#include <gst/gst.h>

#include "media/sdp_offer.h"
#include "media/sink.h"
#include "util/error.h"

typedef struct ls_webrtc_peer ls_webrtc_peer;

typedef struct ls_webrtc_callbacks {
    /* The answer SDP (with candidates), or NULL and a reason. Called once. */
    void (*answer)(void *user, const char *sdp, const char *error);
    /* The peer is gone (why: a short reason). Called at most once. */
    void (*closed)(void *user, const char *why);
    void *user;
} ls_webrtc_callbacks;

typedef struct ls_webrtc_config {
    int width, height;          /* video frame size (the avatar's) */
    const char *stun;           /* "stun://host:port" or NULL */
    GMainContext *context;      /* where callbacks run */
} ls_webrtc_config;

/* Builds and starts the pipeline and begins answering `offer_sdp`. */
int ls_webrtc_peer_new(const char *offer_sdp, const ls_offer_media *media, const ls_webrtc_config *cfg,
                       const ls_webrtc_callbacks *cb, ls_webrtc_peer **out, ls_error *err);

/* Stops the pipeline and frees the peer (from the main context). */
void ls_webrtc_peer_free(ls_webrtc_peer *p);

ls_media_sink *ls_webrtc_peer_sink(ls_webrtc_peer *p);

/* The pipeline's clock (a new reference) and its base time: frame n plays at
 * clock time base + n x 40 ms. */
GstClock *ls_webrtc_peer_clock(ls_webrtc_peer *p, GstClockTime *base_time);

/* "new", "connecting", "connected", ... (webrtcbin's connection state). */
const char *ls_webrtc_peer_state(ls_webrtc_peer *p);

#endif
