/*
 * producer.h - a session's output loop: one frame of video and audio every 40 ms.
 *
 * A thread per session. It keeps the session's lip-sync engine
 * (live/lipsync.h) fed with 20 ms audio frames from the speech queue
 * (silence when it is empty), `lookahead` video frames ahead of the frame
 * due: the engine needs the audio of a whole batch plus its right context
 * before it can show a lip-synced frame (one frame is enough without
 * models). For output frame n it waits on the pipeline clock until
 * base + n x 40 ms - lead (gst_clock_id_wait; never a plain sleep), pops the
 * engine's next frame - a picture with ITS two audio frames - and pushes
 * both together to every sink (a sink that fails is skipped from then on).
 * Then it reports that audio sent, which fires the speech events. Sinks can
 * be added and removed while it runs.
 * When it falls more than 200 ms behind the clock (an overloaded machine) it
 * skips the late frame numbers rather than playing catch-up; speech is not
 * lost (it is only ever taken for frames that are pushed).
 *
 * Measurements (ls_producer_stats, any thread): frame counts, the output
 * and lip-sync frame rates over the last LS_PRODUCER_RATE_WINDOW_S seconds,
 * the lag, the frames inside the engine, and the timeline of the last
 * utterance (ls_utterance_times). The lag is how much later the frame just
 * pushed went out than it would have without stalls: for a frame of speech,
 * against the last silent frame before it plus 40 ms per frame since (it
 * grows while inference is slower than real time and the lag policy is
 * "wait"); for any other frame, against its own time on the clock. With
 * `frame_log` > 0 the newest frames are also recorded (live/frame_log.h).
 */
#ifndef LS_LIVE_PRODUCER_H
#define LS_LIVE_PRODUCER_H

#include <gst/gst.h>

#include "live/frame_log.h"
#include "live/lipsync.h"
#include "media/sink.h"
#include "speech/speech_queue.h"
#include "util/error.h"

#define LS_PRODUCER_MAX_SINKS 4
#define LS_PRODUCER_RATE_WINDOW_S 2.0

typedef struct ls_producer ls_producer;

typedef struct ls_producer_config {
    GstClock *clock;              /* the sinks' pipeline clock (a reference is taken) */
    GstClockTime base_time;       /* clock time of frame 0 */
    ls_speech_queue *speech;      /* a reference is taken */
    ls_lipsync *engine;           /* must outlive the producer; only the producer drives it */
    int lookahead;                /* video frames of audio fed ahead of the frame due (>= 1) */
    int batch_size;               /* the engine's batch (video frames), 0 without models */
    int frame_log;                /* frames to record (ls_producer_frame_log), 0: none */
    ls_media_sink *sinks[LS_PRODUCER_MAX_SINKS];   /* the first sinks */
    int nsinks;
} ls_producer_config;

int ls_producer_start(const ls_producer_config *cfg, ls_producer **out, ls_error *err);

/* Adds a sink while running (e.g. a recording started mid-session): it gets
 * frames from the next one on. -1 when LS_PRODUCER_MAX_SINKS are in use. */
int ls_producer_add_sink(ls_producer *p, ls_media_sink *sink, ls_error *err);
/* Removes a sink; once this returns the producer no longer touches it. */
void ls_producer_remove_sink(ls_producer *p, ls_media_sink *sink);
/* Removes every sink: the producer runs on, pushing nowhere, until stopped. */
void ls_producer_remove_all_sinks(ls_producer *p);
/* Stops the thread (waking it from its clock wait) and frees the producer. */
void ls_producer_stop(ls_producer *p);

/* When an utterance's stages happened: CLOCK_MONOTONIC seconds
 * (live/rate_meter.h: ls_monotonic_s), 0 for what has not happened yet. */
typedef struct ls_frame_times {
    int64_t n;                    /* engine frame number (-1: not yet) */
    int lipsynced;
    double due_s;                 /* its time on the pipeline clock */
    double pop_begin_s, pop_end_s;   /* taken from the engine: waits for inference (lag policy
                                      * "wait") when it is late, composes */
    double pushed_s;              /* handed to the sinks (encoders) */
} ls_frame_times;

typedef struct ls_utterance_times {
    int64_t count;                /* utterances so far (0: none yet) */
    int64_t first_audio_frame;    /* engine audio frame (20 ms) where the speech starts */
    double audio_in_s;            /* its first frame taken from the speech queue */
    double features_begin_s, features_end_s;   /* the push that completed the batch of the first
                                                * speaking frame: right context in, whisper
                                                * features computed, batch sent to the worker */
    ls_frame_times first_speaking;   /* the frame holding the first speech audio */
    ls_frame_times first_lipsynced;  /* the first frame with a generated face */
    double max_lag_s;
} ls_utterance_times;

typedef struct ls_producer_stats {
    int64_t frames, lipsynced, skipped;   /* as below */
    double output_fps, lipsync_fps;       /* frames pushed, and lip-synced, per second lately */
    double lag_s;
    int engine_frames;                    /* video frames inside the engine, not yet shown */
    int engine_batches;                   /* of its batches, those at the inference worker */
    int speech_queue_ms;                  /* speech audio waiting in the session's queue */
    ls_utterance_times utterance;         /* the last one */
} ls_producer_stats;

void ls_producer_stats_get(ls_producer *p, ls_producer_stats *out);

/* Calls fn for each recorded frame, oldest first (none without frame_log). */
void ls_producer_frame_log(ls_producer *p, void (*fn)(void *user, const ls_frame_record *r), void *user);

/* Frames pushed so far, frame numbers skipped for lateness, and pushed
 * frames that show a generated (lip-synced) face. */
int64_t ls_producer_frames(ls_producer *p);
int64_t ls_producer_skipped(ls_producer *p);
int64_t ls_producer_lipsynced(ls_producer *p);

#endif
