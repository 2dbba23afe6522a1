/*
 * parse_mask.c - the class-map regions and mask of parse_mask.h.
 *
 * The binary morphology works on structuring elements whose rows are
 * contiguous runs (both of MuseTalk's are): an element is a list of rows
 * (dy, dx_lo..dx_hi) relative to its anchor, and a per-row prefix count of
 * the source makes each row a constant-time test. Dilation: some source
 * pixel under the element is set. Erosion: every source pixel under it
 * (inside the image) is set.
 */
#include "avatar/parse_mask.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "avatar/face_box.h"
#include "avatar/pil_resize.h"

#define CLASS_SKIN 1
#define CLASS_NOSE 10
#define CLASS_MOUTH 11
#define CLASS_UPPER_LIP 12
#define CLASS_LOWER_LIP 13
#define CLASS_NECK 14
#define JAW_CONE_HEIGHT 21
#define JAW_TAIL_HEIGHT 12
#define CHEEK_ERODE_WIDTH 35
#define CHEEK_ERODE_HEIGHT 3
#define CHEEK_ERODE_TIMES 2
#define MAX_ELEMENT_ROWS (JAW_CONE_HEIGHT + JAW_TAIL_HEIGHT)

typedef struct element_row {
    int dy, lo, hi;   /* offsets from the anchor; columns lo..hi inclusive */
} element_row;

typedef struct element {
    element_row rows[MAX_ELEMENT_ROWS];
    int n;
} element;

static const char *const mode_names[] = { "raw", "neck", "jaw" };

int ls_parse_mode_from_name(const char *name, ls_parse_mode *mode)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(name, mode_names[i]) == 0) {
            *mode = (ls_parse_mode)i;
            return 0;
        }
    return -1;
}

const char *ls_parse_mode_name(ls_parse_mode mode)
{
    return mode_names[mode];
}

/* MuseTalk's jaw element: a square of side cone + tail, anchor at its centre;
 * cone rows (from cone/2 on) 1, 3, 5, ... wide, then bars as wide as the
 * cone's last row. */
static element jaw_element(void)
{
    element e = { .n = 0 };
    int side = JAW_CONE_HEIGHT + JAW_TAIL_HEIGHT, centre = side / 2;
    int base_half = JAW_CONE_HEIGHT - 1 - JAW_CONE_HEIGHT / 2;
    for (int row = JAW_CONE_HEIGHT / 2; row < side; row++) {
        int half = row < JAW_CONE_HEIGHT ? row - JAW_CONE_HEIGHT / 2 : base_half;
        e.rows[e.n++] = (element_row){ row - centre, -half, half };
    }
    return e;
}

/* cv2.getStructuringElement(MORPH_ELLIPSE, (width, height)), anchor at the centre. */
static element ellipse_element(int width, int height)
{
    element e = { .n = 0 };
    int r = height / 2, c = width / 2;
    for (int row = 0; row < height; row++) {
        int dy = row - r;
        int dx = r ? (int)lround(c * sqrt((double)(r * r - dy * dy) / (r * r))) : c;
        int lo = c - dx < 0 ? 0 : c - dx, hi = c + dx + 1 > width ? width : c + dx + 1;
        e.rows[e.n++] = (element_row){ dy, lo - c, hi - 1 - c };
    }
    return e;
}

/* counts[y * (w + 1) + x] = set pixels among src[y][0 .. x-1]. */
static void row_counts(const uint8_t *src, int w, int h, int *counts)
{
    for (int y = 0; y < h; y++) {
        int *c = counts + (size_t)y * (w + 1);
        c[0] = 0;
        for (int x = 0; x < w; x++)
            c[x + 1] = c[x] + (src[(size_t)y * w + x] != 0);
    }
}

/* dst = dilation (erode = 0) or erosion (erode = 1) of the 0/1 map src. */
static void morph(const uint8_t *src, int w, int h, const element *e, int erode, int *counts,
                  uint8_t *dst)
{
    row_counts(src, w, h, counts);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int hit = erode;
            for (int r = 0; r < e->n && hit == erode; r++) {
                int yy = y + e->rows[r].dy;
                int a = x + e->rows[r].lo, b = x + e->rows[r].hi;
                a = a < 0 ? 0 : a;
                b = b > w - 1 ? w - 1 : b;
                if (yy < 0 || yy >= h || a > b)
                    continue;
                const int *c = counts + (size_t)yy * (w + 1);
                int set = c[b + 1] - c[a];
                hit = erode ? set == b - a + 1 : set > 0;
            }
            dst[(size_t)y * w + x] = (uint8_t)hit;
        }
}

/* out[i] = 1 where the skin, dilated by the jaw element (and eroded in the
 * cheek bands), lies. */
static int jaw_face(const ls_image *classes, uint8_t *out, ls_error *err)
{
    int w = classes->width, h = classes->height;
    size_t n = (size_t)w * h;
    uint8_t *skin = malloc(n), *grown = malloc(n), *eroded = malloc(n);
    int *counts = malloc(sizeof *counts * (size_t)(w + 1) * h);
    if (!skin || !grown || !eroded || !counts) {
        free(skin);
        free(grown);
        free(eroded);
        free(counts);
        return ls_error_set(err, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        skin[i] = classes->data[i] == CLASS_SKIN;
    element jaw = jaw_element(), cheek = ellipse_element(CHEEK_ERODE_WIDTH, CHEEK_ERODE_HEIGHT);
    morph(skin, w, h, &jaw, 0, counts, grown);
    memcpy(skin, grown, n);
    for (int i = 0; i < CHEEK_ERODE_TIMES; i++) {
        morph(skin, w, h, &cheek, 1, counts, eroded);
        memcpy(skin, eroded, n);
    }
    int centre = w / 2;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            int in_cheek = x <= centre - LS_PARSE_CHEEK_WIDTH || x >= centre + LS_PARSE_CHEEK_WIDTH;
            out[i] = in_cheek ? eroded[i] : grown[i];
        }
    free(skin);
    free(grown);
    free(eroded);
    free(counts);
    return 0;
}

int ls_parse_region(const ls_image *classes, ls_parse_mode mode, ls_image *region, ls_error *err)
{
    if (ls_image_alloc(region, classes->width, classes->height, 1, err))
        return -1;
    size_t n = (size_t)classes->width * classes->height;
    if (mode == LS_PARSE_JAW && jaw_face(classes, region->data, err)) {
        ls_image_free(region);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        int k = classes->data[i];
        int lips = k == CLASS_MOUTH || k == CLASS_UPPER_LIP || k == CLASS_LOWER_LIP;
        int on = mode == LS_PARSE_JAW ? (region->data[i] && k != CLASS_NOSE) || lips
                                      : lips || k == CLASS_SKIN || (mode == LS_PARSE_NECK && k == CLASS_NECK);
        region->data[i] = on ? 255 : 0;
    }
    return 0;
}

int ls_parse_mask(const ls_image *region, ls_box face, ls_box crop, ls_image *mask, ls_error *err)
{
    if (ls_image_alloc(mask, ls_box_width(crop), ls_box_height(crop), 1, err))
        return -1;
    if (ls_pil_resize(region, mask, LS_PIL_BICUBIC, err) || ls_mask_finish(face, crop, mask, err)) {
        ls_image_free(mask);
        return -1;
    }
    return 0;
}
