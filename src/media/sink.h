/*
 * sink.h - where a session's output goes: one video frame and its audio at a time.
 *
 * The live producer (live/producer.h) makes output frame n every 40 ms: a BGR
 * image and the 640 samples of 16 kHz mono audio (two 20 ms frames) that play
 * with it, and hands both TOGETHER to each of the session's sinks, so audio
 * and video cannot drift apart. A sink turns them into a stream: WebRTC today
 * (media/webrtc_peer.h); recording, RTMP and WHIP are more implementations of
 * the same interface. Timestamps follow from n alone: video n x 40 ms, audio
 * (2n) x 20 ms and (2n + 1) x 20 ms, on the session's shared clock.
 *
 * push_frame runs on the producer's thread, must not block (a sink that is not
 * ready drops) and does not keep the pointers it is given.
 */
#ifndef LS_MEDIA_SINK_H
#define LS_MEDIA_SINK_H

#include <stdint.h>

#include "image/image.h"

#define LS_MEDIA_VIDEO_FPS 25
#define LS_MEDIA_FRAME_NS 40000000LL              /* one video frame: 40 ms */
#define LS_MEDIA_AUDIO_RATE 16000
#define LS_MEDIA_AUDIO_FRAME 320                  /* one 20 ms audio frame, in samples */
#define LS_MEDIA_AUDIO_FRAME_NS 20000000LL
#define LS_MEDIA_AUDIO_PER_VIDEO (2 * LS_MEDIA_AUDIO_FRAME)   /* 640 samples per video frame */

typedef struct ls_media_sink ls_media_sink;

typedef struct ls_media_sink_ops {
    /* Output frame n: `bgr` and the 640 samples that play with it. 0, or -1
     * when the sink is broken for good (the producer then stops using it). */
    int (*push_frame)(ls_media_sink *sink, const ls_image *bgr,
                      const int16_t audio[LS_MEDIA_AUDIO_PER_VIDEO], int64_t n);
} ls_media_sink_ops;

/* Implementations embed this as their first member. */
struct ls_media_sink {
    const ls_media_sink_ops *ops;
};

static inline int ls_media_sink_push_frame(ls_media_sink *sink, const ls_image *bgr,
                                           const int16_t audio[LS_MEDIA_AUDIO_PER_VIDEO], int64_t n)
{
    return sink->ops->push_frame(sink, bgr, audio, n);
}

#endif
