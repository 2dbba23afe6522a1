/*
 * whip_sink.h - pushing a session to a WHIP endpoint (WebRTC-HTTP ingestion,
 * RFC 9725: SRS, Janus, LiveKit, Cloudflare Stream, ...).
 *
 *   appsrc video (BGR) ─► H.264 constrained baseline ─► rtph264pay pt 96 ─┐
 *   appsrc audio (S16LE 16 kHz) ─► Opus ─► rtpopuspay pt 111 ──────────────┴► webrtcbin (offerer, sendonly)
 *
 * lipstream offers: webrtcbin asks for negotiation (on-negotiation-needed),
 * creates the offer and sets it as its local description; when ICE
 * gathering completes (or after 3 s) the offer, holding its candidates, is
 * POSTed to the endpoint as application/sdp. The endpoint answers 201 with
 * the answer SDP and a Location header naming the new resource; the answer
 * becomes the remote description, and the output is "live" once the
 * connection is up. Stopping sends DELETE to that Location. With a bearer
 * token, both requests carry "Authorization: Bearer <token>" (RFC 9725
 * section 4.5).
 *
 * Failures (the endpoint unreachable or answering an error, no connection
 * within 20 s, the connection failing later) are reported and retried with
 * back-off (media/output.h); each try first deletes the previous resource.
 */
#ifndef LS_MEDIA_WHIP_SINK_H
#define LS_MEDIA_WHIP_SINK_H

#include "media/output.h"

/* Starts pushing to the endpoint `url` (http:// or https://); `stun` is
 * "stun://host:port" or NULL; `token` the endpoint's bearer token or NULL.
 * -1 only for a URL that is not HTTP. */
int ls_whip_output_new(const char *url, const char *stun, const char *token, const ls_output_config *cfg,
                       ls_output **out, ls_error *err);

#endif
