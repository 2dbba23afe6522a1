/*
 * blend.h - pasting a generated face back into its avatar frame.
 *
 * MuseTalk's paste-back (spec section 5): the network's face (any size,
 * normally 256x256) is resized with bilinear filtering to the face box,
 * placed into a copy of the frame's crop box ("face_large"), and the crop
 * box is replaced by face_large * m + frame * (1 - m) with m = mask / 255.
 * Outside the face box face_large equals the frame, so only the face box
 * is touched. The blend is computed in integers, rounding to nearest, and
 * stays within one grey level of OpenCV's float cv2.blendLinear.
 */
#ifndef LS_AVATAR_BLEND_H
#define LS_AVATAR_BLEND_H

#include "image/image.h"
#include "util/error.h"

/* 1 when a face box, crop box and mask fit a width x height frame: the
 * face box inside the crop box, the crop box inside the frame, the mask grey
 * and of the crop box's size. */
int ls_blend_fits(int width, int height, ls_box face_box, const ls_image *mask, ls_box crop_box);

/* frame: BGR, modified in place. face: BGR. mask: grey, the crop box's
 * size. face_box must lie inside crop_box, crop_box inside the frame. */
int ls_blend_face(ls_image *frame, const ls_image *face, ls_box face_box, const ls_image *mask,
                  ls_box crop_box, ls_error *err);

#endif
