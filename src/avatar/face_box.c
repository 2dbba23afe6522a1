/*
 * face_box.c - the box rules and the geometric mask of face_box.h.
 */
#include "avatar/face_box.h"

#include <math.h>

#include "image/blur.h"

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

ls_box ls_face_box_from_detection(ls_box d, int bbox_shift, int width, int height)
{
    double h = ls_box_height(d);
    int nose = (int)lround(d.y1 + LS_FACE_NOSE_Y * h) + bbox_shift;
    int chin = (int)lround(d.y1 + LS_FACE_CHIN_Y * h);
    ls_box b = { d.x1, 2 * nose - chin, d.x2, chin };
    b.x1 = clampi(b.x1, 0, width);
    b.x2 = clampi(b.x2, 0, width);
    b.y1 = clampi(b.y1, 0, height);
    b.y2 = clampi(b.y2, 0, height);
    return b;
}

ls_box ls_face_box_add_margin(ls_box face, int extra_margin, int height)
{
    face.y2 = clampi(face.y2 + extra_margin, 0, height);
    return face;
}

/* Python's floor division, for the box arithmetic of MuseTalk's code. */
static int floor_div2(int v)
{
    return v >= 0 ? v / 2 : -((-v + 1) / 2);
}

ls_box ls_crop_box(ls_box f)
{
    int xc = floor_div2(f.x1 + f.x2), yc = floor_div2(f.y1 + f.y2);
    int w = ls_box_width(f), h = ls_box_height(f);
    int s = (int)((double)((w > h ? w : h) / 2) * LS_CROP_EXPAND);
    return (ls_box){ xc - s, yc - s, xc + s, yc + s };
}

int ls_mask_geometric(ls_box face, ls_box crop, ls_image *mask, ls_error *err)
{
    int cw = ls_box_width(crop), ch = ls_box_height(crop);
    if (ls_image_alloc(mask, cw, ch, 1, err))
        return -1;
    double cx = (face.x1 + face.x2) / 2.0 - crop.x1, cy = (face.y1 + face.y2) / 2.0 - crop.y1;
    double ax = 0.45 * ls_box_width(face), ay = 0.5 * ls_box_height(face);
    for (int y = 0; y < ch; y++) {
        uint8_t *row = ls_image_row(mask, y);
        for (int x = 0; x < cw; x++) {
            double dx = (x + 0.5 - cx) / ax, dy = (y + 0.5 - cy) / ay;
            row[x] = dx * dx + dy * dy <= 1.0 ? 255 : 0;
        }
    }
    if (ls_mask_finish(face, crop, mask, err)) {
        ls_image_free(mask);
        return -1;
    }
    return 0;
}

int ls_mask_finish(ls_box face, ls_box crop, ls_image *mask, ls_error *err)
{
    int top = mask->height / 2;
    for (int y = 0; y < mask->height; y++) {
        uint8_t *row = ls_image_row(mask, y);
        for (int x = 0; x < mask->width; x++) {
            int in_face = x + crop.x1 >= face.x1 && x + crop.x1 < face.x2 &&
                          y + crop.y1 >= face.y1 && y + crop.y1 < face.y2;
            if (y < top || !in_face)
                row[x] = 0;
        }
    }
    return ls_gaussian_blur(mask, (int)floor(0.1 * mask->width / 2) * 2 + 1, err);
}
