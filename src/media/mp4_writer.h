/*
 * mp4_writer.h - writing frames and their audio to an MP4 file (H.264 + AAC).
 *
 * A GStreamer pipeline of two appsrc elements:
 *   BGR frames, 25 fps ─► videoconvert ─► x264enc ─► h264parse ─┐
 *   S16LE 16 kHz mono ─► audioconvert ─► AAC encoder ─► aacparse ─┴► mp4mux ─► filesink
 * (the AAC encoder is libav's avenc_aac). Frame n plays at n x 40 ms
 * together with its 640 samples (two 20 ms frames), as in live sinks
 * (media/sink.h); both tracks start 64 ms late, after the AAC priming. Writing waits while the
 * encoders are behind (a few frames are queued), so nothing is dropped: this
 * is for files made offline (`lipstream render`), not for live pacing.
 * Video is H.264 High at constant quality (x264 quantizer 18 in quality
 * mode); the AAC runs at 64 kbit/s.
 */
#ifndef LS_MEDIA_MP4_WRITER_H
#define LS_MEDIA_MP4_WRITER_H

#include <stdint.h>

#include "image/image.h"
#include "util/error.h"

#define LS_MP4_FPS 25
#define LS_MP4_AUDIO_RATE 16000
#define LS_MP4_AUDIO_PER_FRAME 640   /* samples of audio per video frame */

typedef struct ls_mp4_writer ls_mp4_writer;

/* width and height must be even (H.264 4:2:0). */
int ls_mp4_writer_open(const char *path, int width, int height, ls_mp4_writer **out,
                       ls_error *err);

/* Frame n (counting from 0, in order): a BGR image of the size given at
 * open and the LS_MP4_AUDIO_PER_FRAME samples that play with it. */
int ls_mp4_writer_write(ls_mp4_writer *w, const ls_image *bgr, const int16_t *audio,
                        ls_error *err);

/* Finishes the file (end of stream, waits for the muxer) and frees the
 * writer; -1 if anything failed on the way. */
int ls_mp4_writer_close(ls_mp4_writer *w, ls_error *err);

#endif
