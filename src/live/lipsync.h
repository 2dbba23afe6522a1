/*
 * lipsync.h - one session's real-time lip-sync engine.
 *
 * 20 ms audio frames go in (320 samples of 16 kHz mono, a type: 0 speech,
 * 1 silence, >= 2 action-clip audio, and an opaque event pointer); output
 * frames come out in order, each a picture with ITS two audio frames and
 * their events, so audio and video cannot drift apart. Inside:
 *
 *   push ─► action-clip audio (live/frame_plan.h) ─► picture plan per video frame
 *        └► stream features (live/stream_features.h): every B video frames, once
 *           the 200 ms of right context is in, the batch's whisper chunks
 *           ─► the shared inference worker (live/infer_worker.h): speaking frames
 *              with a face only; silent batches skip the encoder and the worker
 *   pop ──► compose (live/compose.h): paste-back | idle frame | clip frame
 *
 * Frame n can come out once the audio up to the end of its batch plus the
 * right context has been pushed (latency: one batch + 200 ms) and, for a
 * speaking frame, its inference is done. At most max_in_flight batches are
 * at the worker; push answers "full" rather than grow without bound.
 *
 * Falling behind real time: the caller pops a frame with `due` set when its
 * time has come. With LS_LAG_WAIT the pop waits for the frame's inference
 * (audio waits for its video: lip sync is never broken, the stream is late);
 * with LS_LAG_SKIP a frame whose inference is not done shows the avatar
 * frame without lip sync (audio stays on time), and a batch that cannot get
 * to the worker at all is not inferred.
 *
 * Without models (whisper and worker NULL: `--model none`) every frame is
 * an idle or clip frame, out as soon as its two audio frames are in.
 *
 * push, pop and stats are for one thread; set_audiotype and interrupt may be
 * called from any thread. A clip starts at the next push. An interrupt, at
 * the next push or pop, stops any clip and drops the speech already pushed:
 * its audio becomes silence, its frames idle frames, its inference is
 * cancelled; the next frame pushed is silenced too when it is speech (it
 * was taken from the speech queue before the queue's own interrupt).
 */
#ifndef LS_LIVE_LIPSYNC_H
#define LS_LIVE_LIPSYNC_H

#include <stdint.h>

#include "avatar/avatar.h"
#include "live/action_clips.h"
#include "live/frame_plan.h"
#include "live/infer_worker.h"
#include "live/stream_features.h"

#define LS_LIPSYNC_AUDIO (2 * LS_STREAM_FRAME)   /* samples per output frame */

typedef enum ls_lag_policy {
    LS_LAG_WAIT,   /* audio waits for its video */
    LS_LAG_SKIP,   /* late frames are shown without lip sync */
} ls_lag_policy;

typedef struct ls_lipsync_config {
    const ls_avatar *avatar;         /* latents required when a worker is given */
    const ls_action_clips *clips;    /* may be NULL; frames of the avatar's size */
    const ls_whisper *whisper;       /* NULL: no lip sync (with worker NULL too) */
    ls_infer_worker *worker;
    int batch_size;                  /* video frames per feature batch (B) */
    int max_in_flight;               /* batches at the worker at once (>= 1) */
    ls_stream_window window;
    int transition_ms;               /* speaking <-> idle cross-fade, 0: none */
    ls_lag_policy lag_policy;
    size_t reserve_bytes;            /* device memory taken for the whisper encoder at
                                        creation (ls_lipsync_measure); 0: grown on use */
} ls_lipsync_config;

typedef struct ls_lipsync_frame {
    int64_t n;                          /* output frame number, from 0 */
    const ls_image *image;              /* BGR; valid until the next pop */
    int16_t audio[LS_LIPSYNC_AUDIO];    /* the two 20 ms frames that play with it */
    int types[2];                       /* their final types */
    void *events[2];                    /* their events, as pushed */
    ls_frame_kind kind;
    int lipsynced;                      /* the generated face is in the picture */
} ls_lipsync_frame;

typedef struct ls_lipsync_stats {
    int64_t frames;       /* popped */
    int64_t lipsynced;    /* of those, with a generated face */
    int64_t skipped;      /* speaking frames shown without lip sync (LS_LAG_SKIP) */
    int pending;          /* video frames pushed and not yet popped */
    int in_flight;        /* batches at the inference worker */
} ls_lipsync_stats;

typedef struct ls_lipsync ls_lipsync;

int ls_lipsync_new(const ls_lipsync_config *config, ls_lipsync **out, ls_error *err);

/* The activation memory a session's whisper encoder takes on its device
 * (the peak of one feature batch of silence, a fresh context): what a GPU
 * server sets as reserve_bytes, so that a session the device cannot hold is
 * refused when it is created, with an error, instead of running out of
 * memory mid-speech (which aborts the process). */
int ls_lipsync_measure(const ls_whisper *whisper, int batch_size, ls_stream_window window,
                       size_t *bytes, ls_error *err);

/* Cancels the session's work at the worker (waits for frames being rendered). */
void ls_lipsync_free(ls_lipsync *s);
/* The session is closing (any thread): the worker renders none of its
 * frames from now on, so that a pop waiting for inference, stopping its
 * producer and freeing it wait for the frames being rendered at most; its
 * frames come out idle. */
void ls_lipsync_abandon(ls_lipsync *s);

/* One 20 ms frame of LS_STREAM_FRAME samples. 0 when taken, 1 when the
 * engine is full (pop frames, then push the same frame again), -1 on error
 * (out of memory). */
int ls_lipsync_push(ls_lipsync *s, const int16_t *samples, int type, void *event, ls_error *err);

/* The next output frame: 1 with *out filled, 0 when it is not ready (its
 * audio is not all in or, unless `due` applies the lag policy, its
 * inference is not done), -1 on error. */
int ls_lipsync_pop(ls_lipsync *s, int due, ls_lipsync_frame *out, ls_error *err);

/* Plays action clip `audiotype` (>= 2) from its start; -1 when there is none. */
int ls_lipsync_set_audiotype(ls_lipsync *s, int audiotype, ls_error *err);
/* Stops any action clip and the speech already pushed (see above). */
void ls_lipsync_interrupt(ls_lipsync *s);

void ls_lipsync_stats_get(const ls_lipsync *s, ls_lipsync_stats *out);

#endif
