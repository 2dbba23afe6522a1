/*
 * resize.h - image resizing that reproduces OpenCV's cv2.resize on uint8.
 *
 * Both filters are separable and use OpenCV's conventions: pixel centres
 * aligned (source x = (dx + 0.5) * src/dst - 0.5), edge pixels replicated,
 * 11-bit fixed-point tap weights and a 22-bit rounding shift, so results
 * agree with cv2 to within one grey level (most pixels exactly).
 *  - bilinear = cv2.INTER_LINEAR (cv2's default; MuseTalk's paste-back);
 *  - lanczos4 = cv2.INTER_LANCZOS4, an 8-tap windowed sinc (MuseTalk's
 *    face crop to 256x256 before VAE encoding).
 */
#ifndef LS_IMAGE_RESIZE_H
#define LS_IMAGE_RESIZE_H

#include "image/image.h"
#include "util/error.h"

typedef enum ls_interp {
    LS_INTERP_BILINEAR,
    LS_INTERP_LANCZOS4,
} ls_interp;

/* Resizes src into dst, which the caller has allocated with the target
 * size and src's channel count. -1 only when out of memory. */
int ls_resize(const ls_image *src, ls_image *dst, ls_interp interp, ls_error *err);

#endif
