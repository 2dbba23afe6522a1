/*
 * face_box.h - MuseTalk's face box and crop box, and the geometric mask.
 *
 * Face box (spec section 6): MuseTalk puts the box's vertical midline on
 * face landmark 29 (lower nose bridge) and its bottom on the chin:
 * (min x, 2c - chin, max x, chin) with c = landmark 29's y + bbox_shift.
 * lipstream has no landmark model; it derives the landmarks it needs from
 * the Viola-Jones detection (x, y, w, h) with fixed proportions measured on
 * the cascade's boxes: face sides at x and x + w, landmark 29 at y + 0.55 h,
 * chin at y + 1.15 h. So with no shift the box is (x, y - 0.05 h, x + w,
 * y + 1.15 h), clamped to the frame. v1.5 then adds extra_margin (10) to
 * the bottom, clamped to the frame.
 *
 * Crop box (spec section 5): a square around the face box's centre, half
 * side int(max(w, h) // 2 * 1.5) (the expand factor LiveTalking uses for
 * both versions).
 *
 * Geometric mask (used without face-parsing weights): in the crop box, an
 * ellipse centred on the face box with half-axes 0.45 w and 0.5 h. Every
 * mask (this one and face parsing's) is then limited to the face box, has
 * the top half of the crop box zeroed (MuseTalk's upper_boundary_ratio 0.5:
 * the mask runs from the nose down) and gets a Gaussian blur with kernel
 * int(0.1 * crop_width // 2 * 2) + 1.
 */
#ifndef LS_AVATAR_FACE_BOX_H
#define LS_AVATAR_FACE_BOX_H

#include "avatar/cascade.h"
#include "image/image.h"
#include "util/error.h"

#define LS_FACE_NOSE_Y 0.55     /* landmark 29, fraction of the detection height */
#define LS_FACE_CHIN_Y 1.15     /* chin, fraction of the detection height */
#define LS_CROP_EXPAND 1.5
#define LS_V15_EXTRA_MARGIN 10

/* The face box for a detection in a width x height frame. */
ls_box ls_face_box_from_detection(ls_box detection, int bbox_shift, int width, int height);

/* Adds v1.5's extra margin to the bottom, clamped to the frame height. */
ls_box ls_face_box_add_margin(ls_box face, int extra_margin, int height);

/* The crop box around a face box (may reach outside the frame). */
ls_box ls_crop_box(ls_box face);

/* The geometric mask of the whole crop box (crop size, grey). */
int ls_mask_geometric(ls_box face, ls_box crop, ls_image *mask, ls_error *err);

/* The steps every mask ends with (MuseTalk's get_image_prepare_material):
 * mask (crop size) zeroed outside the face box and in the crop box's top
 * half, then blurred. */
int ls_mask_finish(ls_box face, ls_box crop, ls_image *mask, ls_error *err);

#endif
