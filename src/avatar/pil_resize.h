/*
 * pil_resize.h - image resizing that reproduces Pillow's Image.resize on
 * 8-bit images (grey or 3-channel), exactly.
 *
 * MuseTalk's face parsing resizes with Pillow, not OpenCV: the crop box to
 * 512x512 with Image.BILINEAR before the network, and the 512x512 class
 * mask back to the crop size with Image.resize's default filter for grey
 * images, BICUBIC. Pillow's resampler differs from cv2.resize: the filter
 * widens by the scale factor when shrinking (area antialiasing), its
 * support is clipped at the image edges and renormalised (no replicated
 * border), the cubic has a = -0.5, and each pass rounds to 8 bits with
 * 22-bit fixed-point weights. The horizontal pass runs first (over the rows
 * the vertical pass needs), then the vertical one, as Pillow does.
 */
#ifndef LS_AVATAR_PIL_RESIZE_H
#define LS_AVATAR_PIL_RESIZE_H

#include "image/image.h"
#include "util/error.h"

typedef enum ls_pil_filter {
    LS_PIL_BILINEAR,   /* triangle, support 1 */
    LS_PIL_BICUBIC,    /* Keys cubic a = -0.5, support 2 */
} ls_pil_filter;

/* Resizes src into dst, which the caller has allocated with the target size
 * and src's channel count. -1 only when out of memory. */
int ls_pil_resize(const ls_image *src, ls_image *dst, ls_pil_filter filter, ls_error *err);

#endif
