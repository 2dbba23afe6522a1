/*
 * prepare.c - ls_avatar_prepare: frames in, lipstream avatar folder out.
 *
 * Face detection and geometric masks run frame-parallel (OpenMP; the
 * cascade is read-only), with the progress bar advanced under a lock; face
 * parsing runs frame after frame, each pass using every thread. Masks are
 * drawn for the whole crop box (parsing sees black where it leaves the
 * frame, as MuseTalk's PIL crop does) and avatar_check then cuts crop boxes
 * that reach past the frame, exactly as for loaded folders.
 */
#include "avatar/prepare.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "avatar/avatar_internal.h"
#include "avatar/avatar_store.h"
#include "avatar/cascade.h"
#include "avatar/face_box.h"
#include "avatar/face_parse.h"
#include "avatar/frame_dir.h"
#include "avatar/latents.h"
#include "avatar/progress.h"
#include "avatar/video_frames.h"
#include "image/image_io.h"
#include "models/model_files.h"

/* An avatar's face is larger than 1/8 of the frame's shorter side: smaller
 * scales are not searched (they hold most of the windows). */
#define MIN_FACE_FRACTION 8

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

ls_prepare_opts ls_prepare_defaults(void)
{
    ls_prepare_opts o;
    memset(&o, 0, sizeof o);
    o.version = "v15";
    o.extra_margin = LS_V15_EXTRA_MARGIN;
    o.fps = 25;
    o.parse_mode = LS_PARSE_JAW;
    return o;
}

/* a = a new avatar holding decoded images, which it takes over. */
static int adopt_images(const ls_prepare_opts *o, ls_image *images, int n, ls_avatar **a,
                        ls_error *err)
{
    if (!(*a = avatar_new(o->out_dir, LS_AVATAR_LIPSTREAM, n, err))) {
        for (int i = 0; i < n; i++)
            ls_image_free(&images[i]);
        return -1;
    }
    for (int i = 0; i < n; i++)
        (*a)->frames[i].image = images[i];
    return 0;
}

/* A file: an image when an image decoder takes it (by content, not name),
 * else a video when GStreamer decodes it, else an error quoting both. */
static int read_file_input(const ls_prepare_opts *o, ls_avatar **a, ls_prepare_report *report,
                           ls_error *err)
{
    ls_image image;
    ls_error image_err;
    if (ls_image_read(o->input, 3, &image, &image_err) == 0)
        return adopt_images(o, &image, 1, a, err);
    ls_video_frames video;
    ls_error video_err;
    if (ls_video_frames_read(o->input, o->max_frames, "decode", &video, &video_err))
        return ls_error_set(err, "%s: neither an image nor a video (image decoders: %s; GStreamer: %s)",
                            o->input, image_err.msg, video_err.msg);
    report->video = 1;
    report->source_fps = video.fps;
    int rc = adopt_images(o, video.frames, video.n, a, err);
    free(video.frames);
    return rc;
}

/* The input's frames: a folder's numbered images, one image, or a video's
 * frames (the first max_frames when that is set). */
static int read_input(const ls_prepare_opts *o, ls_avatar **a, ls_prepare_report *report,
                      ls_error *err)
{
    *a = NULL;
    if (!ls_is_dir(o->input)) {
        if (!ls_is_file(o->input))
            return ls_error_set(err, "%s: input not found", o->input);
        return read_file_input(o, a, report, err);
    }
    ls_frame_list frames = { 0 };
    int rc = ls_frame_dir_list(o->input, &frames, err);
    if (rc == 0 && frames.n == 0)
        rc = ls_error_set(err, "%s: no numbered .png/.jpg frames in the folder", o->input);
    if (rc == 0 && o->max_frames > 0 && frames.n > o->max_frames) {
        for (int i = o->max_frames; i < frames.n; i++)
            free(frames.paths[i]);
        frames.n = o->max_frames;
    }
    if (rc == 0 && (!(*a = avatar_new(o->out_dir, LS_AVATAR_LIPSTREAM, frames.n, err)) ||
                    avatar_read_images(*a, frames.paths, NULL, err)))
        rc = -1;
    ls_frame_list_free(&frames);
    return rc;
}

/* The face box of one frame from the detector (zero box: no face). */
static int detect_face(const ls_cascade *cascade, const ls_image *frame, ls_box *face, ls_error *err)
{
    ls_image grey;
    if (ls_image_convert(frame, 1, &grey, err))
        return -1;
    ls_detect_params params = ls_detect_defaults();
    params.min_size = (frame->width < frame->height ? frame->width : frame->height) / MIN_FACE_FRACTION;
    ls_detection *found;
    int n;
    int rc = ls_cascade_detect(cascade, &grey, &params, &found, &n, err);
    ls_image_free(&grey);
    memset(face, 0, sizeof *face);
    if (rc == 0 && n > 0)
        *face = found[0].box;   /* the largest */
    free(found);
    return rc;
}

static int find_faces(const ls_prepare_opts *o, ls_avatar *a, ls_prepare_report *report,
                      ls_error *err)
{
    ls_cascade *cascade = NULL;
    if (!o->has_bbox &&
        ls_cascade_load(o->cascade_path ? o->cascade_path : LS_FACE_CASCADE_PATH, &cascade, err))
        return -1;
    int v15 = strcmp(o->version, "v15") == 0;
    int failed = -1;
    ls_error first = { 0 };
    ls_progress bar;
    ls_progress_start(&bar, "detect", a->nframes);
#pragma omp parallel for schedule(dynamic)
    for (int i = 0; i < a->nframes; i++) {
        ls_avatar_frame *f = &a->frames[i];
        ls_error e;
        ls_box box = o->bbox;
        int rc = 0;
        if (!o->has_bbox) {
            ls_box detection;
            rc = detect_face(cascade, &f->image, &detection, &e);
            box = detection;
            if (rc == 0 && ls_box_width(detection) > 0)
                box = ls_face_box_from_detection(detection, v15 ? 0 : o->bbox_shift,
                                                 f->image.width, f->image.height);
        }
        if (rc == 0 && v15 && ls_box_width(box) > 0)
            box = ls_face_box_add_margin(box, o->extra_margin, f->image.height);
        if (rc == 0 && ls_box_width(box) > 0 && ls_box_height(box) <= 0)
            rc = ls_error_set(&e, "the face box is empty (bbox_shift %d too large?)", o->bbox_shift);
        if (rc == 0 && ls_box_width(box) > 0) {
            f->face = box;
            f->crop = ls_crop_box(box);
        }
#pragma omp critical(prepare_progress)
        {
            if (rc && (failed < 0 || i < failed)) {
                failed = i;
                first = e;
            }
            ls_progress_step(&bar);
        }
    }
    ls_progress_end(&bar);
    report->detect_s = ls_progress_elapsed(&bar);
    ls_cascade_free(cascade);
    if (failed >= 0) {
        *err = first;
        return ls_error_prefix(err, "frame %d", failed);
    }
    report->faces = 0;
    for (int i = 0; i < a->nframes; i++)
        report->faces += ls_avatar_has_face(&a->frames[i]);
    if (report->faces == 0)
        return ls_error_set(err, "%s: no face found; give the face box with --bbox x1,y1,x2,y2",
                            o->input);
    return 0;
}

/* MuseTalk's mask for one frame from the parsing of its whole crop box. */
static int parsed_mask(const ls_prepare_opts *o, ls_avatar_frame *f, ls_error *err)
{
    ls_image crop, classes, region;
    if (ls_face_parse_crop(&f->image, f->crop, &crop, err))
        return -1;
    int rc = ls_face_parse(o->parser, o->ctx, &crop, &classes, err);
    ls_image_free(&crop);
    if (rc)
        return -1;
    rc = ls_parse_region(&classes, o->parse_mode, &region, err);
    ls_image_free(&classes);
    if (rc)
        return -1;
    rc = ls_parse_mask(&region, f->face, f->crop, &f->mask, err);
    ls_image_free(&region);
    return rc;
}

/* Every face frame's blend mask: face parsing one frame at a time (the
 * network uses every thread), or the geometric mask frame-parallel. */
static int draw_masks(const ls_prepare_opts *o, ls_avatar *a, ls_prepare_report *report,
                      ls_error *err)
{
    ls_progress bar;
    ls_progress_start(&bar, o->parser ? "parse" : "masks", report->faces);
    if (o->parser) {
        for (int i = 0; i < a->nframes; i++) {
            if (!ls_avatar_has_face(&a->frames[i]))
                continue;
            if (parsed_mask(o, &a->frames[i], err)) {
                ls_progress_end(&bar);
                return ls_error_prefix(err, "frame %d: face parsing", i);
            }
            ls_progress_step(&bar);
        }
    } else {
        int failed = -1;
        ls_error first = { 0 };
#pragma omp parallel for schedule(dynamic)
        for (int i = 0; i < a->nframes; i++) {
            ls_avatar_frame *f = &a->frames[i];
            ls_error e;
            int rc = ls_avatar_has_face(f) ? ls_mask_geometric(f->face, f->crop, &f->mask, &e) : 0;
#pragma omp critical(prepare_masks)
            {
                if (rc && (failed < 0 || i < failed)) {
                    failed = i;
                    first = e;
                }
                if (ls_avatar_has_face(f))
                    ls_progress_step(&bar);
            }
        }
        if (failed >= 0) {
            ls_progress_end(&bar);
            *err = first;
            return ls_error_prefix(err, "frame %d", failed);
        }
    }
    ls_progress_end(&bar);
    report->mask_s = ls_progress_elapsed(&bar);
    return 0;
}

static int check_opts(const ls_prepare_opts *o, ls_error *err)
{
    if (strcmp(o->version, "v1") != 0 && strcmp(o->version, "v15") != 0)
        return ls_error_set(err, "version '%s' must be v1 or v15", o->version);
    if (!(o->fps > 0 && o->fps <= 240))
        return ls_error_set(err, "fps %g must be in (0, 240]", o->fps);
    if (o->max_frames < 0)
        return ls_error_set(err, "max_frames %d must be 0 (all) or more", o->max_frames);
    if (o->parser && !o->ctx)
        return ls_error_set(err, "face parsing needs a compute context");
    return 0;
}

static int set_identity(const ls_prepare_opts *o, ls_avatar *a, ls_error *err)
{
    const char *id = o->id;
    if (!id) {
        const char *slash = strrchr(o->out_dir, '/');
        id = slash && slash[1] ? slash + 1 : o->out_dir;
    }
    if (!ls_avatar_id_valid(id))
        return ls_error_set(err, "avatar id '%s' must be 1-64 of A-Z a-z 0-9 _ . - (use --id)", id);
    if (!(a->id = strdup(id)))
        return ls_error_set(err, "out of memory");
    strcpy(a->version, o->version);
    if (o->parser)
        snprintf(a->mask_kind, sizeof a->mask_kind, "parsing-%s", ls_parse_mode_name(o->parse_mode));
    else
        strcpy(a->mask_kind, "geometric");
    a->fps = o->fps;
    return 0;
}

int ls_avatar_prepare(const ls_prepare_opts *o, ls_avatar **out, ls_prepare_report *report,
                      ls_error *err)
{
    ls_avatar *a = NULL;
    int rc = -1;
    memset(report, 0, sizeof *report);
    *out = NULL;
    if (check_opts(o, err) || read_input(o, &a, report, err) || set_identity(o, a, err))
        goto done;
    report->frames = a->nframes;
    if (o->has_bbox && !ls_box_inside(o->bbox, a->frames[0].image.width, a->frames[0].image.height)) {
        ls_error_set(err, "--bbox (%d, %d, %d, %d) is not inside the %dx%d frame", o->bbox.x1,
                     o->bbox.y1, o->bbox.x2, o->bbox.y2, a->frames[0].image.width,
                     a->frames[0].image.height);
        goto done;
    }
    if (find_faces(o, a, report, err) || draw_masks(o, a, report, err) || avatar_check(a, err))
        goto done;
    double t0 = seconds();
    if (ls_avatar_save(a, err))
        goto done;
    report->write_s = seconds() - t0;
    if (o->vae) {
        t0 = seconds();
        if (ls_avatar_ensure_latents(a, o->vae, o->ctx, err))
            goto done;
        report->latents_s = seconds() - t0;
    }
    rc = 0;
done:
    if (rc) {
        ls_avatar_free(a);
        a = NULL;
    }
    *out = a;
    return rc;
}
