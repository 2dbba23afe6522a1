/*
 * video_source.h - where a session's video frames come from.
 *
 * The producer asks its source for the image of output frame n, handing it
 * the 640 samples that play with that frame. Today the source is the idle
 * avatar (the frames in their ping-pong cycle); the real-time lip-sync loop
 * is another source that uses the audio to pick the mouth.
 */
#ifndef LS_LIVE_VIDEO_SOURCE_H
#define LS_LIVE_VIDEO_SOURCE_H

#include <stdint.h>

#include "avatar/avatar.h"
#include "image/image.h"
#include "media/sink.h"

typedef struct ls_video_source ls_video_source;
struct ls_video_source {
    /* The image of output frame n, valid until the next call. */
    const ls_image *(*frame)(ls_video_source *src, int64_t n, const int16_t audio[LS_MEDIA_AUDIO_PER_VIDEO]);
};

/* The avatar's frames, unchanged, in their ping-pong cycle. */
typedef struct ls_idle_source {
    ls_video_source base;
    const ls_avatar *avatar;
} ls_idle_source;

void ls_idle_source_init(ls_idle_source *s, const ls_avatar *avatar);

#endif
