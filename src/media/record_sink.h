/*
 * record_sink.h - recording a session's output to an MP4 file as it plays.
 *
 *   appsrc video (BGR) ─► H.264 (encoders.h) ─► queue ─┐
 *   appsrc audio (S16LE 16 kHz) ─► AAC ─► queue ───────┴► mp4mux (fragmented, 1 s) ─► filesink
 *
 * The file is a fragmented MP4: every second of media is appended as a
 * complete fragment, so a recording whose server dies mid-way (even by
 * SIGKILL) still plays up to its last whole second; a recording stopped
 * normally (ls_output_free) is finished with its duration written. Frame
 * timing follows the session's clock (output.h); audio and video start
 * together at the first frame recorded (the video track is delayed by the
 * AAC priming, as in media/mp4_writer.h, so they also play together).
 *
 * Failures: a file that cannot be created fails ls_record_output_new with
 * the reason; a write that fails later (disk full) turns the output's status
 * to "failed: ..." and the recording stops there (a recording never
 * restarts: it would overwrite the file).
 */
#ifndef LS_MEDIA_RECORD_SINK_H
#define LS_MEDIA_RECORD_SINK_H

#include "media/output.h"

/* Starts recording into `path` (created or truncated). cfg->label names the
 * session in messages. */
int ls_record_output_new(const char *path, const ls_output_config *cfg, ls_output **out, ls_error *err);

#endif
