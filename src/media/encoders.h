/*
 * encoders.h - the encoding stages output pipelines share, as gst-launch
 * descriptions to splice between an appsrc (media/av_appsrc.h) and a muxer.
 *
 * Video: BGR -> I420 at an even size (H.264 4:2:0 needs one: an odd avatar
 * loses its last column or row) -> x264 for live use (no B-frames, no
 * look-ahead, a keyframe every 2 s so a viewer joining late, or a stream
 * reconnecting, starts within 2 s) -> h264parse.
 * Every live video output streams LS_VIDEO_KBITS. The browser's WebRTC
 * encoders (ls_encoder_webrtc_video) favour speed and a steady rate, as
 * browsers' own do: VP8 in real-time mode at a fixed speed (-6) with
 * constant-bitrate control and a 1 s buffer, or x264 ultrafast without
 * B-frames in constrained baseline; each a keyframe every 2 s.
 * Audio: S16LE 16 kHz -> `rate` -> AAC (libav's encoder, 64 kbit/s) -> aacparse.
 * AAC encoders start with 1024 samples of priming that MP4 and FLV muxers do
 * not cut, so decoded audio comes out that much late: ls_encoder_delay_video
 * delays the video track as much, and frames play with their audio.
 */
#ifndef LS_MEDIA_ENCODERS_H
#define LS_MEDIA_ENCODERS_H

#include <gst/gst.h>

#include "media/sdp_offer.h"
#include "util/error.h"

#define LS_AAC_PRIMING_SAMPLES 1024   /* libav's AAC encoder delay (its initial_padding) */
#define LS_VIDEO_KBITS 2000           /* kbit/s of every live video output */

/* New string (g_free): "videoconvert ! ... ! h264parse". profile: "high",
 * "main" or "constrained-baseline" (WebRTC). */
gchar *ls_encoder_h264(int width, int height, const char *profile);

/* New string (g_free): the browser session's video encoder and RTP
 * payloader for `codec` under payload type pt, I420 in: "vp8enc ... !
 * rtpvp8pay ... ! capsfilter caps=application/x-rtp,...". */
gchar *ls_encoder_webrtc_video(ls_video_codec codec, int pt);

/* New string (g_free): "audioconvert ! audioresample ! ... ! aacparse". */
gchar *ls_encoder_aac(int rate);

/* Offsets the running time of everything from `pipeline`'s "video" appsrc
 * by the AAC priming at `aac_rate` (1024 samples: 64 ms at 16 kHz). */
void ls_encoder_delay_video(GstElement *pipeline, int aac_rate);

/* 0 when every named element is installed; otherwise -1 naming the first
 * missing one and the Debian package that has it (`package`). */
int ls_encoder_require(const char *const *elements, const char *package, ls_error *err);

#endif
