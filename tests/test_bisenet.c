/*
 * test_bisenet.c - face parsing: the BiSeNet network, its input, Pillow's
 * resizes and MuseTalk's mask modes.
 *
 * Usage: test_bisenet REF_DIR, made by tests/ref/bisenet_ref.py (random
 * weights with the published key names, PyTorch outputs, Pillow resizes,
 * numpy/cv2 masks).
 *
 * Tolerances:
 *  - logits: 20 float32 layers whose batch norms are folded into the
 *    weights (a different rounding order than PyTorch's) and GEMMs summing
 *    up to 4608 products; logits reach about 17, so 1e-3 absolute plus
 *    1e-4 of the largest logit leaves a margin over float error while a
 *    wrong layer moves logits by whole units.
 *  - network input: the same float operations as torchvision in the same
 *    order on the same 8-bit pixels: 1e-6.
 *  - Pillow resizes and mask regions: integer arithmetic copied exactly: 0.
 *  - blurred masks: our Gaussian blur rounds once from float, OpenCV's runs
 *    in fixed point: one grey level.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avatar/face_parse.h"
#include "avatar/parse_mask.h"
#include "avatar/pil_resize.h"
#include "check.h"
#include "image/image_io.h"
#include "io/npy.h"
#include "models/bisenet.h"
#include "util/json.h"

static const char *ref_dir;

static void ref_path(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", ref_dir, name);
}

static float *to_float(const ls_image *img)
{
    size_t n = (size_t)img->width * img->height * img->channels;
    float *f = malloc(sizeof *f * n);
    for (size_t i = 0; i < n; i++)
        f[i] = img->data[i];
    return f;
}

/* check_close on two 8-bit images of the same size. */
static void compare_images(const char *what, const ls_image *got, const ls_image *want, double tol)
{
    if (got->width != want->width || got->height != want->height ||
        got->channels != want->channels) {
        CHECK(0, "%s: size %dx%dx%d, want %dx%dx%d", what, got->width, got->height, got->channels,
              want->width, want->height, want->channels);
        return;
    }
    float *a = to_float(got), *b = to_float(want);
    check_close(what, a, b, (int64_t)got->width * got->height * got->channels, tol, 0);
    free(a);
    free(b);
}

static void test_network(const ls_bisenet *net, nn_ctx *ctx)
{
    for (int i = 0; i < 2; i++) {
        char path[1024], name[64];
        nn_tensor x, want;
        ls_error err;
        snprintf(name, sizeof name, "net/case%d_input.npy", i);
        ref_path(path, sizeof path, name);
        CHECK(ls_npy_read(path, &x, &err) == 0, "%s", err.msg);
        snprintf(name, sizeof name, "net/case%d_logits.npy", i);
        ref_path(path, sizeof path, name);
        CHECK(ls_npy_read(path, &want, &err) == 0, "%s", err.msg);
        if (!x.data || !want.data)
            return;
        nn_tensor got = nn_alloc4(ctx, 1, LS_BISENET_CLASSES, x.shape[2], x.shape[3]);
        ls_bisenet_forward(net, ctx, &x, &got);
        char what[64];
        snprintf(what, sizeof what, "logits %lldx%lld vs PyTorch", (long long)x.shape[2],
                 (long long)x.shape[3]);
        check_close(what, got.data, want.data, nn_numel(&want), 1e-3, 1e-4);
        nn_arena_reset(ctx->arena);
        free(x.data);
        free(want.data);
    }
}

static void test_input_and_classes(const ls_bisenet *net, nn_ctx *ctx, int full)
{
    char path[1024];
    ls_error err;
    ls_image crop, classes, want_classes;
    nn_tensor want;
    ref_path(path, sizeof path, "prep/crop.png");
    CHECK(ls_image_read(path, 3, &crop, &err) == 0, "%s", err.msg);
    ref_path(path, sizeof path, "prep/input.npy");
    CHECK(ls_npy_read(path, &want, &err) == 0, "%s", err.msg);
    float *input = malloc(sizeof *input * LS_FACE_PARSE_INPUT_SIZE);
    CHECK(ls_face_parse_input(&crop, input, &err) == 0, "%s", err.msg);
    check_close("input: PIL bilinear 512, normalised", input, want.data, LS_FACE_PARSE_INPUT_SIZE,
                1e-6, 0);
    free(input);
    free(want.data);
    if (full) {
        /* The whole 512x512 pass: classes agree except where two logits tie within float error. */
        ref_path(path, sizeof path, "prep/classes.png");
        CHECK(ls_image_read(path, 1, &want_classes, &err) == 0, "%s", err.msg);
        CHECK(ls_face_parse(net, ctx, &crop, &classes, &err) == 0, "%s", err.msg);
        int differ = 0;
        for (int i = 0; i < 512 * 512; i++)
            differ += classes.data[i] != want_classes.data[i];
        printf("class map 512x512 vs PyTorch argmax: %d of %d pixels differ (at most 0.1%%)\n",
               differ, 512 * 512);
        CHECK(differ <= 512 * 512 / 1000, "%d pixels differ", differ);
        ls_image_free(&classes);
        ls_image_free(&want_classes);
    }
    ls_image_free(&crop);
}

static void test_pil_resize(void)
{
    char path[1024];
    ls_error err;
    ls_json *cases;
    ref_path(path, sizeof path, "pil/cases.json");
    if (ls_json_read_file(path, &cases, &err)) {
        CHECK(0, "%s", err.msg);
        return;
    }
    for (size_t i = 0; i < cases->u.arr.n; i++) {
        const ls_json *c = cases->u.arr.items[i];
        const char *src_name = ls_json_get(c, "src")->u.str.s, *file = ls_json_get(c, "file")->u.str.s;
        int bicubic = strcmp(ls_json_get(c, "filter")->u.str.s, "bicubic") == 0;
        ls_image src, want, got;
        char name[256];
        snprintf(name, sizeof name, "pil/%s", src_name);
        ref_path(path, sizeof path, name);
        int channels = strncmp(src_name, "grey", 4) == 0 ? 1 : 3;
        CHECK(ls_image_read(path, channels, &src, &err) == 0, "%s", err.msg);
        snprintf(name, sizeof name, "pil/%s", file);
        ref_path(path, sizeof path, name);
        CHECK(ls_image_read(path, channels, &want, &err) == 0, "%s", err.msg);
        CHECK(ls_image_alloc(&got, want.width, want.height, channels, &err) == 0, "%s", err.msg);
        CHECK(ls_pil_resize(&src, &got, bicubic ? LS_PIL_BICUBIC : LS_PIL_BILINEAR, &err) == 0, "%s",
              err.msg);
        snprintf(name, sizeof name, "Pillow %s", file);
        compare_images(name, &got, &want, 0);
        ls_image_free(&src);
        ls_image_free(&want);
        ls_image_free(&got);
    }
    ls_json_free(cases);
}

static ls_box box_from(const ls_json *arr)
{
    return (ls_box){ (int)arr->u.arr.items[0]->u.n, (int)arr->u.arr.items[1]->u.n,
                     (int)arr->u.arr.items[2]->u.n, (int)arr->u.arr.items[3]->u.n };
}

static void test_masks(void)
{
    char path[1024], name[256];
    ls_error err;
    ls_image classes;
    ref_path(path, sizeof path, "mask/classes.png");
    if (ls_image_read(path, 1, &classes, &err)) {
        CHECK(0, "%s", err.msg);
        return;
    }
    static const char *const modes[] = { "raw", "neck", "jaw" };
    ls_image regions[3];
    for (int m = 0; m < 3; m++) {
        ls_parse_mode mode;
        CHECK(ls_parse_mode_from_name(modes[m], &mode) == 0 && strcmp(ls_parse_mode_name(mode), modes[m]) == 0,
              "mode name %s", modes[m]);
        ls_image want;
        snprintf(name, sizeof name, "mask/region_%s.png", modes[m]);
        ref_path(path, sizeof path, name);
        CHECK(ls_image_read(path, 1, &want, &err) == 0, "%s", err.msg);
        CHECK(ls_parse_region(&classes, mode, &regions[m], &err) == 0, "%s", err.msg);
        snprintf(name, sizeof name, "region %s vs numpy/cv2", modes[m]);
        compare_images(name, &regions[m], &want, 0);
        ls_image_free(&want);
    }
    ls_parse_mode unused;
    CHECK(ls_parse_mode_from_name("face", &unused) == -1, "unknown mode refused");

    ls_json *cases;
    ref_path(path, sizeof path, "mask/cases.json");
    CHECK(ls_json_read_file(path, &cases, &err) == 0, "%s", err.msg);
    for (size_t i = 0; cases && i < cases->u.arr.n; i++) {
        const ls_json *c = cases->u.arr.items[i];
        ls_parse_mode mode;
        ls_parse_mode_from_name(ls_json_get(c, "mode")->u.str.s, &mode);
        ls_box face = box_from(ls_json_get(c, "face_box")), crop = box_from(ls_json_get(c, "crop_box"));
        ls_image want, got;
        snprintf(name, sizeof name, "mask/%s", ls_json_get(c, "file")->u.str.s);
        ref_path(path, sizeof path, name);
        CHECK(ls_image_read(path, 1, &want, &err) == 0, "%s", err.msg);
        CHECK(ls_parse_mask(&regions[mode], face, crop, &got, &err) == 0, "%s", err.msg);
        snprintf(name, sizeof name, "%s (PIL, box, blur)", ls_json_get(c, "file")->u.str.s);
        compare_images(name, &got, &want, 1);
        ls_image_free(&want);
        ls_image_free(&got);
    }
    ls_json_free(cases);
    for (int m = 0; m < 3; m++)
        ls_image_free(&regions[m]);
    ls_image_free(&classes);
}

static void test_load_errors(void)
{
    char path[1024];
    ls_error err;
    ls_bisenet *net;
    ref_path(path, sizeof path, "broken/79999_iter.pth");
    CHECK(ls_bisenet_load(path, &net, &err) == -1 && net == NULL && strstr(err.msg, "ffm.conv1.weight"),
          "missing tensor named: %s", err.msg);
    printf("missing tensor -> %s\n", err.msg);
    ref_path(path, sizeof path, "net/case0_input.npy");
    CHECK(ls_bisenet_load(path, &net, &err) == -1 && strstr(err.msg, "case0_input.npy"),
          "not a checkpoint: %s", err.msg);
    CHECK(ls_bisenet_load("/nonexistent/79999_iter.pth", &net, &err) == -1, "missing file");
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: test_bisenet REF_DIR [--full]\n");
        return 2;
    }
    ref_dir = argv[1];
    char path[1024];
    ls_error err;
    ls_bisenet *net;
    ref_path(path, sizeof path, "models/face-parse-bisent/79999_iter.pth");
    if (ls_bisenet_load(path, &net, &err)) {
        CHECK(0, "%s", err.msg);
        return check_result("test_bisenet");
    }
    nn_ctx *ctx = nn_ctx_new(nn_backend_cpu());
    test_network(net, ctx);
    test_input_and_classes(net, ctx, argc == 3 && strcmp(argv[2], "--full") == 0);
    test_pil_resize();
    test_masks();
    test_load_errors();
    nn_ctx_free(ctx);
    ls_bisenet_free(net);
    return check_result("test_bisenet");
}
