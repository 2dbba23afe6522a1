/*
 * infer_worker.h - the MuseTalk inference worker shared by all sessions of a
 * device.
 *
 * One worker per device (per process today): a thread that owns the
 * device's nn_ctx and runs ls_musetalk_render (UNet + VAE decode) for every
 * session. Sessions attach as clients and submit jobs: n video frames, each
 * with its avatar latent (or NULL: a silent frame, or one without a face,
 * which is not inferred) and its audio chunk. The worker takes frames from
 * the queued jobs in submission order, across clients, skipping the NULL
 * ones, and renders up to batch_size of them in one call, so the frames of
 * several sessions share a batch. A job is finished when all its frames
 * are; each client gets its jobs back in the order it submitted them.
 *
 * Back-pressure: a client may have at most max_in_flight jobs unfinished;
 * a further submit waits (or, when not waiting, is refused), so the queue
 * never holds more than clients x max_in_flight jobs.
 *
 * Paste (ls_infer_config.paste): the faces never leave the device as
 * faces. Each is pasted into its avatar frame there (avatar/paste.h) and
 * the composed frame is downloaded: the whole per-frame path runs on the
 * device and frames come back to the host once. Meant for GPUs; on the CPU
 * the paste would move blending from the sessions' threads onto the
 * worker's.
 *
 * Jobs and their buffers belong to the submitter and must stay valid until
 * taken back with ls_infer_take. Client calls are for one thread per client;
 * different clients may be used from different threads.
 */
#ifndef LS_LIVE_INFER_WORKER_H
#define LS_LIVE_INFER_WORKER_H

#include <stdint.h>

#include "avatar/avatar.h"
#include "models/musetalk.h"
#include "nn/backend.h"
#include "nn/recording.h"
#include "util/error.h"

typedef struct ls_infer_worker ls_infer_worker;
typedef struct ls_infer_client ls_infer_client;

typedef struct ls_infer_config {
    const nn_backend *backend;    /* the device; NULL = the CPU */
    int batch_size;               /* most frames per render call */
    int latent_channels, latent_height, latent_width;   /* (8, 32, 32) for avatars */
    int tokens, dim;              /* audio chunk shape: (50, 384) for whisper-tiny */
    int paste;                    /* 1: paste the faces into their avatar frames on the
                                     device; jobs get whole frames back (see ls_infer_job) */
    int warm_up;                  /* 1: render batches of zero frames before starting
                                     (see ls_infer_worker_new) */
} ls_infer_config;

typedef struct ls_infer_job {
    int n;                          /* video frames */
    const float **latents;          /* (n) pointers to (C, H, W), NULL: do not infer; once
                                       submitted, changed only by ls_infer_skip_frame */
    const float *chunks;            /* (n, tokens, dim), raw (no positional encoding) */
    uint8_t *faces;                 /* (n, face_h, face_w, 3) BGR, written for inferred frames;
                                       with paste (n, avatar h, w, 3): the avatar frames with
                                       their faces pasted */
    /* With paste only: */
    const ls_avatar *avatar;        /* uploaded to the device (avatar/avatar_device.h) */
    const int *frame_index;         /* (n) the avatar frame of each video frame */
    uint8_t *device_frames;         /* (n, avatar h, w, 3) backend memory, pasted into */
    /* Set by the worker. */
    int inferred;                   /* frames rendered */
    int cancelled;                  /* 1 when ls_infer_cancel stopped it early */
    /* The worker's bookkeeping. */
    struct {
        int next;                   /* next frame to consider */
        int rendering;              /* frames in the batch being rendered */
        int finished;
        ls_infer_client *client;
        struct ls_infer_job *queue_next, *client_next;
    } priv;
} ls_infer_job;

#define LS_INFER_RATE_WINDOW_S 2.0   /* recent_fps and busy_fraction are over this window */
#define LS_INFER_RECENT 16            /* render calls kept in ls_infer_stats.recent */

/* One render call: when (CLOCK_MONOTONIC seconds), how many frames, from
 * how many jobs and clients. */
typedef struct ls_infer_batch {
    double start_s, end_s;
    int frames, jobs, clients;
} ls_infer_batch;

typedef struct ls_infer_stats {
    int64_t frames;           /* frames rendered */
    int64_t skipped;          /* NULL-latent frames passed over */
    int64_t batches;          /* render calls */
    int64_t merged;           /* render calls holding frames of several clients */
    int64_t multi_job;        /* render calls holding frames of several jobs (any clients) */
    int64_t jobs;             /* jobs submitted */
    int largest_batch;
    double busy_s;            /* seconds spent rendering */
    double warm_up_s;         /* seconds the warm-up took (0: none) */
    size_t activation_bytes;  /* backend memory held for activations */
    int64_t activation_growths;   /* times that memory grew after start-up: each a
                                     device allocation inside a render call */
    nn_recording_stats passes;    /* render passes replayed, run as they are, recorded,
                                     failed to record (nn/recording.h; 0 where the
                                     backend does not record) */
    double fps;               /* frames / busy_s: the inference throughput */
    double recent_fps;        /* frames rendered per second over the window */
    double busy_fraction;     /* of the window spent rendering */
    int queued_jobs, queued_frames;   /* waiting now (frames still to render) */
    int clients;
    ls_infer_batch recent[LS_INFER_RECENT];   /* the latest render calls, oldest first */
    int nrecent;
} ls_infer_stats;

/* Starts the worker thread; checks that the config fits the model. With
 * warm_up, first renders frames of zeros (not counted as rendered): one
 * batch of batch_size, after which the activation memory is merged into one
 * block at its peak, then, where the backend records passes (a GPU's
 * graphs), every batch size from batch_size down to 1 until it is recorded
 * (the largest NN_RECORDINGS sizes when there are more). A session's batch then finds the memory, the convolution
 * algorithms, the loaded kernels and the recording it needs, instead of
 * paying for them (first-frame latency of a GPU server), and a device
 * without memory for a full batch fails at start-up, before any session. */
int ls_infer_worker_new(const ls_musetalk *m, const ls_infer_config *config,
                        ls_infer_worker **out, ls_error *err);
/* Stops and joins the thread. Every client must have been freed. */
void ls_infer_worker_free(ls_infer_worker *w);

const ls_infer_config *ls_infer_worker_config(const ls_infer_worker *w);
/* The backend it renders on (the config's, or the CPU). */
const nn_backend *ls_infer_worker_backend(const ls_infer_worker *w);
/* The size of a rendered face (face_height x face_width x 3 bytes). */
void ls_infer_face_shape(const ls_infer_worker *w, int *height, int *width);
void ls_infer_worker_stats(ls_infer_worker *w, ls_infer_stats *out);

/* notify (may be NULL) is called on the worker thread each time one of the
 * client's jobs finishes, with the worker's lock held: it may only wake the
 * session (signal a condition, write an eventfd), not call the worker. */
int ls_infer_client_new(ls_infer_worker *w, int max_in_flight, void (*notify)(void *user),
                        void *user, ls_infer_client **out, ls_error *err);
/* Cancels the client's queued jobs and waits for any frames being rendered. */
void ls_infer_client_free(ls_infer_client *c);
/* Its owner is going away (any thread): its jobs, and every job submitted
 * from now on, are cancelled, so the worker starts none of their frames;
 * they are taken back as usual. */
void ls_infer_client_close(ls_infer_client *c);

/* Queues a job. 0 when queued; 1 when the client has max_in_flight jobs
 * unfinished and `wait` is 0 (with `wait` 1 it waits for one to finish). */
int ls_infer_submit(ls_infer_client *c, ls_infer_job *job, int wait);

/* The client's oldest job not yet taken, once finished (with `wait` 1 it
 * waits for it); NULL when there is none, or it is unfinished and `wait` is 0. */
ls_infer_job *ls_infer_take(ls_infer_client *c, int wait);

/* Frames of `job` not yet started are not rendered; it finishes once the
 * frames being rendered (if any) are done. Does nothing to finished jobs. */
void ls_infer_cancel(ls_infer_client *c, ls_infer_job *job);

/* Frame i of a submitted `job` is not to be rendered: its latent pointer
 * becomes NULL under the worker's lock (a frame already in the batch being
 * rendered still is). */
void ls_infer_skip_frame(ls_infer_client *c, ls_infer_job *job, int i);

/* Jobs submitted and not yet finished. */
int ls_infer_in_flight(ls_infer_client *c);

#endif
