/*
 * image.c - allocation, cropping and colour conversion of ls_image buffers.
 */
#include "image/image.h"

#include <stdlib.h>
#include <string.h>

int ls_box_inside(ls_box b, int width, int height)
{
    return b.x1 >= 0 && b.y1 >= 0 && b.x2 <= width && b.y2 <= height && b.x1 < b.x2 && b.y1 < b.y2;
}

int ls_image_alloc(ls_image *img, int width, int height, int channels, ls_error *err)
{
    img->data = NULL;
    img->width = img->height = img->channels = 0;
    if (width <= 0 || height <= 0 || (channels != 1 && channels != 3))
        return ls_error_set(err, "bad image size %dx%dx%d", width, height, channels);
    int64_t bytes = (int64_t)width * height * channels;
    if (bytes > ((int64_t)1 << 31))
        return ls_error_set(err, "image %dx%d too large", width, height);
    img->data = malloc((size_t)bytes);
    if (!img->data)
        return ls_error_set(err, "out of memory for a %dx%d image", width, height);
    img->width = width;
    img->height = height;
    img->channels = channels;
    return 0;
}

void ls_image_free(ls_image *img)
{
    free(img->data);
    img->data = NULL;
    img->width = img->height = img->channels = 0;
}

int ls_image_crop(const ls_image *src, ls_box box, ls_image *out, ls_error *err)
{
    if (!ls_box_inside(box, src->width, src->height))
        return ls_error_set(err, "crop box (%d, %d, %d, %d) outside the %dx%d image", box.x1,
                            box.y1, box.x2, box.y2, src->width, src->height);
    if (ls_image_alloc(out, ls_box_width(box), ls_box_height(box), src->channels, err))
        return -1;
    size_t row_bytes = (size_t)out->width * src->channels;
    for (int y = 0; y < out->height; y++)
        memcpy(ls_image_row(out, y), ls_image_row(src, box.y1 + y) + (size_t)box.x1 * src->channels,
               row_bytes);
    return 0;
}

/* OpenCV's BGR -> grey: weights 0.114, 0.587, 0.299 in 15-bit fixed point. */
static uint8_t grey_of_bgr(const uint8_t *p)
{
    return (uint8_t)((p[0] * 3735 + p[1] * 19235 + p[2] * 9798 + (1 << 14)) >> 15);
}

int ls_image_convert(const ls_image *src, int channels, ls_image *out, ls_error *err)
{
    if (ls_image_alloc(out, src->width, src->height, channels, err))
        return -1;
    int64_t pixels = (int64_t)src->width * src->height;
    if (src->channels == channels) {
        memcpy(out->data, src->data, (size_t)(pixels * channels));
    } else if (channels == 1) {
        for (int64_t i = 0; i < pixels; i++)
            out->data[i] = grey_of_bgr(src->data + 3 * i);
    } else {
        for (int64_t i = 0; i < pixels; i++)
            memset(out->data + 3 * i, src->data[i], 3);
    }
    return 0;
}
