/*
 * avatar.h - an avatar in memory: frames, face boxes, masks and latents.
 *
 * An avatar is the video loop a session lip-syncs: N frames, each with the
 * face box the network's face is pasted into, the crop box and blend mask of
 * the paste-back, and the UNet's cached image input (the VAE latents of the
 * masked and the full face, (8, 32, 32)). Two folder layouts load:
 *  - lipstream's own (avatar.json manifest; see README "Avatars"), and
 *  - LiveTalking / MuseTalk's (full_imgs/, mask/, coords.pkl,
 *    mask_coords.pkl, latents.pt, avator_info.json), unchanged.
 * Everything is read and checked at load time (counts, image decoding, boxes
 * inside the frame, mask sizes), so a broken folder is one clear error and
 * nothing can fail later while streaming. Frames whose face box is
 * (0, 0, 0, 0) have no face: they are shown unmodified and never inferred.
 *
 * An avatar is immutable once loaded, except that ls_avatar_ensure_latents
 * may fill in missing latents once; ls_avatar_acquire shares one loaded copy
 * per folder among all sessions of the process.
 */
#ifndef LS_AVATAR_AVATAR_H
#define LS_AVATAR_AVATAR_H

#include <stdint.h>

#include "image/image.h"
#include "util/error.h"

#define LS_AVATAR_LATENT_CHANNELS 8    /* masked latent (4) then reference latent (4) */
#define LS_AVATAR_LATENT_SIDE 32
#define LS_AVATAR_LATENT_SIZE (LS_AVATAR_LATENT_CHANNELS * LS_AVATAR_LATENT_SIDE * LS_AVATAR_LATENT_SIDE)
#define LS_AVATAR_FACE_SIDE 256        /* the network's face crop: 256x256 */
#define LS_AVATAR_MANIFEST "avatar.json"

typedef enum ls_avatar_format {
    LS_AVATAR_LIPSTREAM,
    LS_AVATAR_LIVETALKING,
} ls_avatar_format;

typedef struct ls_avatar_frame {
    ls_image image;  /* the full frame, BGR */
    ls_box face;     /* face box (v1.5's extra margin included); all zero: no face */
    ls_box crop;     /* the region the mask blends, inside the frame; zero when no face */
    ls_image mask;   /* grey, crop box size; empty when no face */
    char *image_file, *mask_file;  /* lipstream layout: names relative to the folder */
} ls_avatar_frame;

typedef struct ls_avatar_device ls_avatar_device;

typedef struct ls_avatar {
    char *dir;
    char *id;
    ls_avatar_format format;
    char version[8];          /* "v1" or "v15" */
    char mask_kind[16];       /* how the masks were made: "geometric", "parsing-raw|neck|jaw",
                                 "livetalking", "unknown" */
    double fps;
    int width, height;        /* every frame has this size */
    int nframes;
    ls_avatar_frame *frames;  /* (nframes) */
    float *latents;           /* (nframes, 8, 32, 32), zero rows for frames without a face;
                                 NULL while not computed yet (see ls_avatar_ensure_latents) */
    struct ls_avatar_device *device;   /* frames and masks on a device, NULL until
                                          uploaded (see avatar/avatar_device.h) */
    int refs;                 /* users through ls_avatar_acquire (avatar_cache.c) */
} ls_avatar;

/* Loads the avatar folder `dir`, recognising its layout. */
int ls_avatar_load(const char *dir, ls_avatar **out, ls_error *err);
void ls_avatar_free(ls_avatar *a);

/* One shared, loaded copy per folder path: the first acquire loads it, the
 * last release frees it. Thread-safe. */
int ls_avatar_acquire(const char *dir, ls_avatar **out, ls_error *err);
void ls_avatar_release(ls_avatar *a);

static inline int ls_avatar_has_face(const ls_avatar_frame *f)
{
    return f->face.x2 > f->face.x1;
}

/* The (8, 32, 32) UNet image input of frame i, or NULL when the frame has no
 * face or the latents are not computed yet. */
const float *ls_avatar_latent(const ls_avatar *a, int i);

/* The avatar frame shown at output frame number i: the frames play forward,
 * then backward (ping-pong): i mod 2n, mirrored in the second half. */
int ls_avatar_cycle_index(int64_t i, int n);

const char *ls_avatar_format_name(ls_avatar_format f);

#endif
