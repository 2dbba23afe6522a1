/*
 * rtmp_sink.h - pushing a session to an RTMP server (a live platform, nginx-rtmp, SRS).
 *
 *   appsrc video (BGR) ─► H.264 (encoders.h) ─► queue ─┐
 *   appsrc audio (S16LE 16 kHz) ─► AAC 44.1 kHz ─► queue ─┴► flvmux streamable ─► rtmp2sink
 *
 * FLV carries no Opus, hence AAC, at the 44.1 kHz that FLV players expect.
 * When the server cannot be reached or drops the connection, the pipeline
 * is rebuilt with back-off (media/output.h) and the push resumes from the
 * current frame (a keyframe comes at least every 2 s, so viewers recover).
 * The URL (rtmp:// or rtmps://, often with a stream key) is shown only as
 * scheme and host in messages.
 */
#ifndef LS_MEDIA_RTMP_SINK_H
#define LS_MEDIA_RTMP_SINK_H

#include "media/output.h"

/* Starts pushing to `url`; -1 only for a URL that is not rtmp(s)://. */
int ls_rtmp_output_new(const char *url, const ls_output_config *cfg, ls_output **out, ls_error *err);

#endif
