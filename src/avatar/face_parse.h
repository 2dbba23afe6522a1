/*
 * face_parse.h - the class map of a face crop, as MuseTalk's FaceParsing
 * computes it before choosing mask classes.
 *
 * Steps (spec section 5): the crop box is cut from the frame with black
 * where it reaches past the edge (PIL's Image.crop), resized to 512x512
 * with Pillow's bilinear filter, turned into RGB floats x / 255 normalised
 * with ImageNet's mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225),
 * run through BiSeNet, and each pixel takes the class of its largest logit
 * (the first one on ties, as numpy's argmax).
 */
#ifndef LS_AVATAR_FACE_PARSE_H
#define LS_AVATAR_FACE_PARSE_H

#include "image/image.h"
#include "models/bisenet.h"
#include "nn/nn.h"
#include "util/error.h"

#define LS_FACE_PARSE_INPUT_SIZE (3 * LS_BISENET_SIDE * LS_BISENET_SIDE)

/* out = frame[box] (BGR), black outside the frame. */
int ls_face_parse_crop(const ls_image *frame, ls_box box, ls_image *out, ls_error *err);

/* The network input (3, 512, 512) for a BGR image of any size. */
int ls_face_parse_input(const ls_image *bgr, float *input, ls_error *err);

/* classes: a new 512x512 grey image of class numbers 0..18. */
int ls_face_parse(const ls_bisenet *net, nn_ctx *ctx, const ls_image *bgr, ls_image *classes,
                  ls_error *err);

#endif
