/*
 * sdp_offer.h - reading what a browser's WebRTC offer can receive.
 *
 * A session answers the browser's offer, so the codecs and RTP payload types
 * (PT) come from the offer: a payloader whose PT differs from the offer's
 * makes webrtcbin abort. This reads the offer's SDP text (RFC 8866 lines,
 * CRLF or LF) and picks, for its single video m-line, the first codec in the
 * browser's order of preference that lipstream sends (VP8, or H.264
 * constrained baseline 42e01f with packetization-mode=1), and for its single
 * audio m-line the Opus entry. Both m-lines must be able to receive
 * (recvonly or sendrecv). Data-channel (application) m-lines are left to
 * webrtcbin. The answer can bundle video and audio on one transport only when
 * the offer has a BUNDLE group and both m-lines use the same ICE ufrag
 * (browsers do; aiortc 1.4 offers a group but separate credentials, and
 * webrtcbin refuses to bundle those). The parser is bounded and never reads past `len`; any offer
 * it cannot use is one error saying why.
 */
#ifndef LS_MEDIA_SDP_OFFER_H
#define LS_MEDIA_SDP_OFFER_H

#include <stddef.h>

#include "util/error.h"

typedef enum ls_video_codec {
    LS_VIDEO_VP8,
    LS_VIDEO_H264,
} ls_video_codec;

typedef struct ls_offer_media {
    ls_video_codec video_codec;
    int video_pt, audio_pt;        /* payload types taken from the offer */
    int video_first;               /* 1 when the video m-line precedes the audio one */
    int bundle;                    /* 1 when video and audio can share one transport */
} ls_offer_media;

int ls_sdp_offer_read(const char *sdp, size_t len, ls_offer_media *out, ls_error *err);

const char *ls_video_codec_name(ls_video_codec c);

#endif
