/*
 * parse_mask.h - MuseTalk's blend mask from a face-parsing class map.
 *
 * Region (512x512, 0 or 255) per mode, on the 512x512 class map:
 *  - raw  (v1.0): skin, mouth, upper and lower lip: classes {1, 11, 12, 13};
 *  - neck:        raw plus 14 (neck);
 *  - jaw  (v1.5's default): the skin (class 1) is dilated with a 33x33
 *    element whose anchor is its centre and whose rows 10..20 hold a cone
 *    (width 1, 3, ..., 21 centred) and rows 21..32 a 21-wide bar, so a
 *    pixel turns on when skin lies in that cone-and-bar shape below it
 *    (cv2.dilate, no flip; the face grows up to 16 px upward and 10 px
 *    sideways). In the cheek bands (columns <= 256 - 90 and >= 256 + 90)
 *    that dilation is then eroded twice by a 35x3 ellipse (its middle row
 *    35 wide, the rows above and below one pixel), and kept as is between
 *    them. The region is that, minus the nose (10), plus 11, 12, 13.
 *    Pixels outside the image take no part in dilation or erosion.
 * Mask (crop box size): the region resized to the crop box with Pillow's
 * bicubic filter, then as every avatar mask (face_box.h: ls_mask_finish)
 * limited to the face box, its top half zeroed and Gaussian-blurred.
 */
#ifndef LS_AVATAR_PARSE_MASK_H
#define LS_AVATAR_PARSE_MASK_H

#include "image/image.h"
#include "util/error.h"

#define LS_PARSE_CHEEK_WIDTH 90   /* MuseTalk v1.5's left/right cheek width default */

typedef enum ls_parse_mode {
    LS_PARSE_RAW,
    LS_PARSE_NECK,
    LS_PARSE_JAW,
} ls_parse_mode;

/* "raw", "neck", "jaw" -> mode; -1 for anything else. */
int ls_parse_mode_from_name(const char *name, ls_parse_mode *mode);
const char *ls_parse_mode_name(ls_parse_mode mode);

/* region: a new grey image of classes' size (512x512), 255 inside, 0 outside. */
int ls_parse_region(const ls_image *classes, ls_parse_mode mode, ls_image *region, ls_error *err);

/* mask: a new grey image of the crop box's size from the region. */
int ls_parse_mask(const ls_image *region, ls_box face, ls_box crop, ls_image *mask, ls_error *err);

#endif
