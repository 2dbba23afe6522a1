/*
 * image.h - 8-bit images in memory: BGR colour or single-channel grey.
 *
 * An ls_image owns one contiguous buffer of height rows of width*channels
 * bytes (no padding), channels 3 (B, G, R, the order OpenCV and avatar
 * folders use) or 1 (grey, masks). Rectangles are half-open boxes
 * [x1, x2) x [y1, y2) in pixel coordinates, the convention of MuseTalk's
 * face and crop boxes.
 */
#ifndef LS_IMAGE_IMAGE_H
#define LS_IMAGE_IMAGE_H

#include <stdint.h>

#include "util/error.h"

typedef struct ls_image {
    uint8_t *data;   /* (height, width, channels), row-major */
    int width, height, channels;
} ls_image;

typedef struct ls_box {
    int x1, y1, x2, y2;   /* half-open: columns x1..x2-1, rows y1..y2-1 */
} ls_box;

static inline int ls_box_width(ls_box b) { return b.x2 - b.x1; }
static inline int ls_box_height(ls_box b) { return b.y2 - b.y1; }

/* 1 when the box is non-empty and lies inside a width x height image. */
int ls_box_inside(ls_box b, int width, int height);

/* Allocates an image (contents undefined). Sizes must be positive and the
 * buffer below 2 GiB; -1 with an error otherwise or when out of memory. */
int ls_image_alloc(ls_image *img, int width, int height, int channels, ls_error *err);
void ls_image_free(ls_image *img);

static inline uint8_t *ls_image_row(const ls_image *img, int y)
{
    return img->data + (int64_t)y * img->width * img->channels;
}

/* New image holding a copy of src's rectangle `box` (which must lie inside src). */
int ls_image_crop(const ls_image *src, ls_box box, ls_image *out, ls_error *err);

/* New image with `channels` channels from src: BGR -> grey with OpenCV's
 * weights (0.114 B + 0.587 G + 0.299 R in 15-bit fixed point), grey -> BGR by copying. */
int ls_image_convert(const ls_image *src, int channels, ls_image *out, ls_error *err);

#endif
