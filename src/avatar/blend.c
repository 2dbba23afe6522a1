/*
 * blend.c - ls_blend_face: bilinear resize of the face to its box, then a
 * per-pixel linear blend with the mask over the face box only.
 */
#include "avatar/blend.h"

#include "image/resize.h"

static int box_within(ls_box inner, ls_box outer)
{
    return inner.x1 >= outer.x1 && inner.y1 >= outer.y1 && inner.x2 <= outer.x2 &&
           inner.y2 <= outer.y2 && inner.x1 < inner.x2 && inner.y1 < inner.y2;
}

/* (a*m + b*(255-m)) / 255 rounded to nearest, for a, b, m in 0..255. */
static inline uint8_t mix(uint32_t a, uint32_t b, uint32_t m)
{
    return (uint8_t)((a * m + b * (255 - m) + 127) / 255);
}

int ls_blend_fits(int width, int height, ls_box face_box, const ls_image *mask, ls_box crop_box)
{
    return mask->channels == 1 && ls_box_inside(crop_box, width, height) &&
           box_within(face_box, crop_box) && mask->width == ls_box_width(crop_box) &&
           mask->height == ls_box_height(crop_box);
}

int ls_blend_face(ls_image *frame, const ls_image *face, ls_box face_box, const ls_image *mask,
                  ls_box crop_box, ls_error *err)
{
    if (frame->channels != 3 || face->channels != 3 ||
        !ls_blend_fits(frame->width, frame->height, face_box, mask, crop_box))
        return ls_error_set(err, "blend: face box, crop box, mask and frame do not fit together");
    ls_image resized;
    if (ls_image_alloc(&resized, ls_box_width(face_box), ls_box_height(face_box), 3, err) ||
        ls_resize(face, &resized, LS_INTERP_BILINEAR, err)) {
        ls_image_free(&resized);
        return -1;
    }
    for (int y = 0; y < resized.height; y++) {
        const uint8_t *src = ls_image_row(&resized, y);
        const uint8_t *m = ls_image_row(mask, face_box.y1 - crop_box.y1 + y) +
                           (face_box.x1 - crop_box.x1);
        uint8_t *dst = ls_image_row(frame, face_box.y1 + y) + 3 * face_box.x1;
        for (int x = 0; x < resized.width; x++)
            for (int c = 0; c < 3; c++)
                dst[3 * x + c] = mix(src[3 * x + c], dst[3 * x + c], m[x]);
    }
    ls_image_free(&resized);
    return 0;
}
