/*
 * video_frames.h - every frame of a video file, decoded to BGR in memory.
 *
 * GStreamer does the work: filesrc -> decodebin (any container and codec
 * the installed plugins know) -> videoconvert -> BGR appsink, with sync off
 * so frames come as fast as they decode. Only the first video stream is
 * used; audio streams are left unlinked. Every frame is kept, at the file's
 * own rate, as MuseTalk's frame extraction does (it reads the video with
 * OpenCV frame by frame and never resamples in time); the file's frame rate
 * is reported so callers can say when it is not the avatar's 25 fps.
 *
 * A file GStreamer cannot type or decode, one with no video stream, a frame
 * size that changes mid-stream or a stream that stops with an error is -1
 * with an error naming the file.
 */
#ifndef LS_AVATAR_VIDEO_FRAMES_H
#define LS_AVATAR_VIDEO_FRAMES_H

#include "image/image.h"
#include "util/error.h"

typedef struct ls_video_frames {
    ls_image *frames;   /* (n) BGR images, all width x height */
    int n;
    int width, height;
    double fps;         /* the file's frame rate; 0 when the stream gives none */
} ls_video_frames;

/* Decodes up to max_frames frames (0: all) of the video at `path`; the
 * progress bar `label` counts them. Free with ls_video_frames_free. */
int ls_video_frames_read(const char *path, int max_frames, const char *label,
                         ls_video_frames *out, ls_error *err);
void ls_video_frames_free(ls_video_frames *v);

#endif
