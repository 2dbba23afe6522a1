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
 * Promises: webrtcbin answers each negotiation step through a GstPromise,
 * replying with an "error" field when the step failed.
 */
#ifndef LS_MEDIA_WEBRTC_COMMON_H
#define LS_MEDIA_WEBRTC_COMMON_H

#include <stddef.h>

#include <gst/gst.h>

void ls_webrtc_add_local_addresses(GstElement *webrtcbin);

/* Waits for the promise; 1 with the reason in `why` when it was
 * interrupted or replied with an error, 0 when it succeeded. */
int ls_webrtc_promise_failed(GstPromise *promise, char *why, size_t size);

#endif
