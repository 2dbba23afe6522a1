/*
 * prepare.h - making a lipstream avatar folder from an image, a folder of
 * frames or a video.
 *
 * Steps: read the frames (a folder of numbered images; or a file, taken as
 * an image when an image decoder recognises its content, else decoded as a
 * video with GStreamer, every frame at the file's own rate as MuseTalk
 * does; max_frames keeps only the first N); find the face in each frame
 * with the Haar cascade (or take --bbox); derive MuseTalk's face box and
 * crop box (face_box.h); draw the blend masks, with face parsing
 * (BiSeNet, parse_mask.h) when a network is given, else the geometric mask;
 * write the folder (avatar_store.h); and, when a VAE is given, compute and
 * store the latents. Without a VAE the manifest records "latents": null
 * and they are computed on first use (ls_avatar_ensure_latents). Frames
 * where no face is found keep a (0, 0, 0, 0) box and play unmodified;
 * finding no face at all is an error.
 */
#ifndef LS_AVATAR_PREPARE_H
#define LS_AVATAR_PREPARE_H

#include "avatar/avatar.h"
#include "avatar/parse_mask.h"
#include "image/image.h"
#include "models/bisenet.h"
#include "models/vae.h"
#include "nn/nn.h"
#include "util/error.h"

typedef struct ls_prepare_opts {
    const char *input;         /* image or video file, or folder of numbered frames */
    int max_frames;            /* keep only the first N frames; 0: all */
    const char *out_dir;
    const char *id;            /* avatar id; NULL: the output folder's name */
    const char *version;       /* "v1" or "v15" */
    const char *cascade_path;  /* NULL: LS_FACE_CASCADE_PATH */
    int has_bbox;              /* use `bbox` for every frame instead of detecting */
    ls_box bbox;
    int bbox_shift;            /* v1 only: moves the nose line (pixels, + is down) */
    int extra_margin;          /* v15 only: added to the box bottom */
    double fps;
    const ls_bisenet *parser;  /* face parsing network; NULL: geometric masks */
    ls_parse_mode parse_mode;  /* MuseTalk: jaw for v15, raw for v1 */
    const ls_vae *vae;         /* NULL: leave the latents for later */
    nn_ctx *ctx;               /* CPU context for the parser and the VAE */
} ls_prepare_opts;

/* LiveTalking's defaults: v15, extra margin 10, 25 fps, jaw masks. */
ls_prepare_opts ls_prepare_defaults(void);

typedef struct ls_prepare_report {
    int frames, faces;          /* frames, and frames with a face */
    int video;                  /* 1 when the input was a video file */
    double source_fps;          /* a video's own frame rate (0: not given by the file) */
    double detect_s, mask_s, write_s, latents_s;
} ls_prepare_report;

/* Writes the avatar folder and returns it loaded (free with ls_avatar_free). */
int ls_avatar_prepare(const ls_prepare_opts *o, ls_avatar **out, ls_prepare_report *report,
                      ls_error *err);

#endif
