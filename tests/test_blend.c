/*
 * test_blend.c - paste-back blending against LiveTalking's OpenCV recipe.
 *
 * Usage: test_blend REF_DIR. For each case in REF_DIR/blend/cases.json the
 * reference is cv2.resize (bilinear) of the face to the face box followed by
 * MuseTalk's get_image_blending (cv2.blendLinear with mask/255). Tolerance:
 * one grey level (the resize rounds like cv2 to within one level, and our
 * integer blend rounds (a*m + b*(255-m))/255 where cv2 divides floats by
 * 1 + 1e-5). Pixels outside the face box must be untouched (exact).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avatar/blend.h"
#include "check.h"
#include "image/image_io.h"
#include "util/json.h"

static const char *ref_dir;

static void read_case_image(const char *name, int i, int channels, ls_image *img)
{
    char path[1024];
    ls_error err;
    snprintf(path, sizeof path, "%s/blend/%s%d.png", ref_dir, name, i);
    if (ls_image_read(path, channels, img, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
}

static ls_box box_from_json(const ls_json *arr)
{
    ls_box b = { 0, 0, 0, 0 };
    if (arr && arr->kind == LS_JSON_ARRAY && arr->u.arr.n == 4) {
        b.x1 = (int)arr->u.arr.items[0]->u.n;
        b.y1 = (int)arr->u.arr.items[1]->u.n;
        b.x2 = (int)arr->u.arr.items[2]->u.n;
        b.y2 = (int)arr->u.arr.items[3]->u.n;
    }
    return b;
}

static void test_case(int i, ls_box face_box, ls_box crop_box)
{
    ls_image frame, face, mask, want;
    ls_error err;
    read_case_image("frame", i, 3, &frame);
    read_case_image("face", i, 3, &face);
    read_case_image("mask", i, 1, &mask);
    read_case_image("expected", i, 3, &want);
    CHECK(ls_blend_face(&frame, &face, face_box, &mask, crop_box, &err) == 0, "%s", err.msg);
    int64_t n = (int64_t)frame.width * frame.height * 3;
    float *got = malloc(sizeof(float) * (size_t)n), *ref = malloc(sizeof(float) * (size_t)n);
    for (int64_t k = 0; k < n; k++) {
        got[k] = frame.data[k];
        ref[k] = want.data[k];
    }
    char what[64];
    snprintf(what, sizeof what, "blend case %d vs cv2", i);
    check_close(what, got, ref, n, 1, 0);
    int outside_changed = 0;
    for (int y = 0; y < frame.height; y++)
        for (int x = 0; x < frame.width; x++)
            if (x < face_box.x1 || x >= face_box.x2 || y < face_box.y1 || y >= face_box.y2)
                outside_changed += memcmp(ls_image_row(&frame, y) + 3 * x,
                                          ls_image_row(&want, y) + 3 * x, 3) != 0;
    CHECK(outside_changed == 0, "case %d: %d pixels outside the face box differ", i,
          outside_changed);
    free(got);
    free(ref);

    /* Inconsistent geometry is refused, not written out of bounds. */
    ls_box shifted = crop_box;
    shifted.x2 += 1;
    CHECK(ls_blend_face(&frame, &face, face_box, &mask, shifted, &err) == -1,
          "mask size mismatch rejected");
    ls_box outside = { -1, 0, face_box.x2, face_box.y2 };
    CHECK(ls_blend_face(&frame, &face, outside, &mask, crop_box, &err) == -1,
          "face box outside the crop box rejected");
    ls_image_free(&frame);
    ls_image_free(&face);
    ls_image_free(&mask);
    ls_image_free(&want);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_blend REF_DIR\n");
        return 2;
    }
    ref_dir = argv[1];
    char path[1024];
    snprintf(path, sizeof path, "%s/blend/cases.json", ref_dir);
    ls_json *cases;
    ls_error err;
    if (ls_json_read_file(path, &cases, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    CHECK(cases->kind == LS_JSON_ARRAY && cases->u.arr.n == 3, "three cases");
    for (size_t i = 0; i < cases->u.arr.n; i++) {
        const ls_json *c = cases->u.arr.items[i];
        test_case((int)i, box_from_json(ls_json_get(c, "face_box")),
                  box_from_json(ls_json_get(c, "crop_box")));
    }
    ls_json_free(cases);
    return check_result("test_blend");
}
