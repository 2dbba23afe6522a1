/*
 * blur.h - Gaussian blur of a grey image, as cv2.GaussianBlur(img, (k, k), 0).
 *
 * The kernel size k is odd; as in OpenCV with sigma 0, sizes up to 7 use
 * fixed kernels (1 4 6 4 1 / 16, ...) and larger ones a Gaussian of sigma
 * 0.3 * ((k - 1) / 2 - 1) + 0.8. Borders are mirrored without repeating the
 * edge pixel (OpenCV's BORDER_REFLECT_101). The filter runs in floating
 * point and rounds once, so results may differ from OpenCV's fixed-point
 * path by a grey level; it is used for avatar masks, where that is invisible.
 */
#ifndef LS_IMAGE_BLUR_H
#define LS_IMAGE_BLUR_H

#include "image/image.h"
#include "util/error.h"

/* Blurs img (1 channel) in place; ksize odd and >= 1 (1 leaves it as is). */
int ls_gaussian_blur(ls_image *img, int ksize, ls_error *err);

#endif
