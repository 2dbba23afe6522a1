/*
 * av_appsrc.h - the raw inputs of an output pipeline: one appsrc for video,
 * one for audio, fed frame by frame without ever blocking.
 *
 * Every output (recording, RTMP, WHIP, virtual camera) starts its pipeline
 * with two appsrc elements named "video" (BGR at 25 fps) and "audio" (S16LE
 * 16 kHz mono, 20 ms buffers). ls_av_appsrc_init finds them, gives them
 * their caps and makes them live, non-blocking queues of at most
 * `max_frames` frames that drop the oldest buffer when full (a stalled
 * encoder or network never holds up the producer).
 *
 * Timestamps: a pipeline may start in the middle of a session. Output frame
 * n (media/sink.h) is stamped (n - first) x 40 ms and its audio
 * (2 (n - first) + k) x 20 ms, where `first` is the session frame number the
 * pipeline starts at; frames before `first` are not pushed. The pipeline's
 * base time is then the clock time of frame `first`, so the session's clock
 * and the pipeline's agree (ls_av_first_frame picks `first`).
 */
#ifndef LS_MEDIA_AV_APPSRC_H
#define LS_MEDIA_AV_APPSRC_H

#include <stdint.h>

#include <gst/app/gstappsrc.h>
#include <gst/video/video.h>

#include "media/sink.h"
#include "util/error.h"

typedef struct ls_av_appsrc {
    GstAppSrc *video, *audio;   /* references */
    GstVideoInfo video_info;    /* the BGR layout the video appsrc takes */
    int64_t first;              /* session frame number stamped 0 */
} ls_av_appsrc;

/* Finds "video" and "audio" in `pipeline` (searching child bins) and
 * configures them for width x height frames. */
int ls_av_appsrc_init(ls_av_appsrc *s, GstElement *pipeline, int width, int height, int max_frames,
                      int64_t first, ls_error *err);
void ls_av_appsrc_clear(ls_av_appsrc *s);

/* Pushes session frame n (dropped, returning GST_FLOW_OK, when n < first).
 * GST_FLOW_NOT_NEGOTIATED for a frame of the wrong size; other values come
 * from the appsrc (GST_FLOW_EOS, GST_FLOW_FLUSHING: the pipeline stopped). */
GstFlowReturn ls_av_appsrc_push(ls_av_appsrc *s, const ls_image *bgr, const int16_t audio[LS_MEDIA_AUDIO_PER_VIDEO],
                                int64_t n);

/* Ends both streams (EOS after the queued buffers). */
void ls_av_appsrc_end(ls_av_appsrc *s);

/* The frame a pipeline built at clock time `now` starts at: three frames
 * after the one playing at `now` (frame n plays at base + n x 40 ms), which
 * leaves the pipeline 80 ms or more to start before its first frame comes. */
int64_t ls_av_first_frame(GstClockTime base_time, GstClockTime now);

#endif
