/*
 * output.h - one output stream of a session: a GStreamer pipeline fed with
 * the session's frames, watched, and rebuilt with back-off when it fails.
 *
 * An output is an ls_media_sink (media/sink.h): push_frame never blocks.
 * Frames go into the pipeline's leaky appsrcs (media/av_appsrc.h), or are
 * dropped while no pipeline runs. What the pipeline is comes from the
 * output's kind: recording (record_sink.h), RTMP (rtmp_sink.h), WHIP
 * (whip_sink.h), virtual camera (vcam_sink.h).
 *
 * Life: ls_output_new builds and starts the first pipeline. An error on its
 * bus, or one the kind reports (ls_output_fail), stops it. Kinds that
 * restart are rebuilt after 1 s, then 2, 4, ... up to 30 s between tries
 * (1 s again after a pipeline that ran 10 s); other kinds stay failed. The
 * status says where it is: "starting", "live", "retrying in N s: why" or
 * "failed: why". Each change is logged and reported to the
 * `changed` callback on the given main context, never on a GStreamer
 * thread. Everything but push_frame runs on that context.
 *
 * Timing: the session's clock, with frame 0 at `base_time` (frame n at
 * base + n x 40 ms). Each pipeline runs on that clock, starts a few frames
 * after the current one (ls_av_first_frame) and takes the base time of that
 * frame, so live sinks play frame n when the session means it to play.
 */
#ifndef LS_MEDIA_OUTPUT_H
#define LS_MEDIA_OUTPUT_H

#include <gst/gst.h>

#include "media/sink.h"
#include "util/error.h"

typedef struct ls_output ls_output;

typedef struct ls_output_kind {
    const char *name;         /* "record", "rtmp", "whip", "virtualcam" */
    int restart;              /* rebuild with back-off after a failure */
    int finish_on_stop;       /* stop with end-of-stream, waiting for the muxer (a file's index) */
    int max_frames;           /* frames the appsrcs hold before dropping the oldest */
    /* The pipeline (not started), with appsrcs "video" and "audio". */
    GstElement *(*build)(ls_output *o, ls_error *err);
    /* Optional: the pipeline is PLAYING (WHIP negotiates from here). Without
     * it the output is "live" once the pipeline plays; with it, the kind
     * says when (ls_output_live). */
    int (*started)(ls_output *o, ls_error *err);
    /* Optional: the pipeline is about to stop (after a failure, or for good). */
    void (*stopping)(ls_output *o);
    /* Optional: frees the kind's data (ls_output_free). */
    void (*free_data)(void *data);
} ls_output_kind;

typedef struct ls_output_config {
    const char *label;        /* names the output in messages, e.g. "rtmp rtmp://host/live/(redacted)" */
    int width, height;        /* frame size */
    GstClock *clock;          /* the session's clock (a reference is taken) */
    GstClockTime base_time;   /* clock time of frame 0 */
    GMainContext *context;
    /* The status changed (see above); `status` is valid during the call. */
    void (*changed)(void *user, ls_output *o, const char *status);
    void *user;
} ls_output_config;

/* Starts an output of `kind` with the kind's `data` (taken over: freed by
 * kind->free_data, also on failure), labelled "<cfg->label>: <what>". A
 * kind that restarts always starts (a failing first pipeline is retried);
 * others fail with the reason. */
int ls_output_new(const ls_output_kind *kind, void *data, const ls_output_config *cfg, const char *what,
                  ls_output **out, ls_error *err);

/* Stops the pipeline (finishing it for kinds that do) and frees the output. */
void ls_output_free(ls_output *o);

ls_media_sink *ls_output_sink(ls_output *o);
const char *ls_output_status(ls_output *o);
const char *ls_output_kind_name(ls_output *o);
/* 1 while a pipeline runs and nothing has failed. */
int ls_output_ok(ls_output *o);

// --- for kinds -----------------------------------------------------------------

void *ls_output_data(ls_output *o);
const char *ls_output_label(ls_output *o);
GMainContext *ls_output_context(ls_output *o);
int ls_output_width(ls_output *o);
int ls_output_height(ls_output *o);
/* A pipeline from a gst-launch description; NULL and the reason if it
 * does not parse. */
GstElement *ls_output_parse(const char *description, ls_error *err);
/* The running pipeline (NULL between tries). */
GstElement *ls_output_pipeline(ls_output *o);
/* Counts the pipelines built: lets a kind ignore news from an earlier try. */
unsigned ls_output_try(ls_output *o);
/* The kind's pipeline is up and streaming (kinds with `started`). */
void ls_output_live(ls_output *o);
/* The running pipeline failed for `why` (main context). */
void ls_output_fail(ls_output *o, const char *why);

#endif
