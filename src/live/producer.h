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
 */
#ifndef LS_LIVE_PRODUCER_H
#define LS_LIVE_PRODUCER_H

#include <gst/gst.h>

#include "live/lipsync.h"
#include "media/sink.h"
#include "speech/speech_queue.h"
#include "util/error.h"

#define LS_PRODUCER_MAX_SINKS 4

typedef struct ls_producer ls_producer;

typedef struct ls_producer_config {
    GstClock *clock;              /* the sinks' pipeline clock (a reference is taken) */
    GstClockTime base_time;       /* clock time of frame 0 */
    ls_speech_queue *speech;      /* a reference is taken */
    ls_lipsync *engine;           /* must outlive the producer; only the producer drives it */
    int lookahead;                /* video frames of audio fed ahead of the frame due (>= 1) */
    ls_media_sink *sinks[LS_PRODUCER_MAX_SINKS];   /* the first sinks */
    int nsinks;
} ls_producer_config;

int ls_producer_start(const ls_producer_config *cfg, ls_producer **out, ls_error *err);

/* Adds a sink while running (e.g. a recording started mid-session): it gets
 * frames from the next one on. -1 when LS_PRODUCER_MAX_SINKS are in use. */
int ls_producer_add_sink(ls_producer *p, ls_media_sink *sink, ls_error *err);
/* Removes a sink; once this returns the producer no longer touches it. */
void ls_producer_remove_sink(ls_producer *p, ls_media_sink *sink);
/* Stops the thread (waking it from its clock wait) and frees the producer. */
void ls_producer_stop(ls_producer *p);

/* Frames pushed so far, frame numbers skipped for lateness, and pushed
 * frames that show a generated (lip-synced) face. */
int64_t ls_producer_frames(ls_producer *p);
int64_t ls_producer_skipped(ls_producer *p);
int64_t ls_producer_lipsynced(ls_producer *p);

#endif
