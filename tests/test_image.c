/*
 * test_image.c - image I/O, resizing, grey conversion and blur against OpenCV.
 *
 * Usage: test_image REF_DIR (written by tests/ref/avatar_ref.py; images in
 * REF_DIR/image). The PNG reader is checked against the same pixels saved as
 * .npy; everything else compares PNGs written by cv2 with our results.
 * Tolerances: resizing and the JPEG decoder must match within one grey level
 * (both use 11-bit fixed-point weights, resp. the same libjpeg-turbo; the only
 * differences are rounding at exact halves and OpenCV's mixed vector/scalar
 * rounding paths); grey conversion uses OpenCV's exact integer weights (0);
 * the blur runs in float where OpenCV uses fixed point (1 grey level); our
 * JPEG writer uses the same library and settings as cv2 (quality 95, 4:2:0),
 * so its output decodes to the same pixels (0).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "image/blur.h"
#include "image/image_io.h"
#include "image/resize.h"
#include "io/npy.h"

static const char *ref_dir;

static float *to_float(const ls_image *img)
{
    int64_t n = (int64_t)img->width * img->height * img->channels;
    float *f = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++)
        f[i] = img->data[i];
    return f;
}

/* Compares two images pixel by pixel within `tol` grey levels. */
static void compare(const char *what, const ls_image *got, const ls_image *want, double tol)
{
    CHECK(got->width == want->width && got->height == want->height &&
              got->channels == want->channels,
          "%s: size %dx%dx%d vs %dx%dx%d", what, got->width, got->height, got->channels,
          want->width, want->height, want->channels);
    if (got->width != want->width || got->height != want->height || got->channels != want->channels)
        return;
    float *g = to_float(got), *w = to_float(want);
    check_close(what, g, w, (int64_t)got->width * got->height * got->channels, tol, 0);
    free(g);
    free(w);
}

static void read_ref(const char *name, int channels, ls_image *img)
{
    char path[1024];
    ls_error err;
    snprintf(path, sizeof path, "%s/image/%s", ref_dir, name);
    if (ls_image_read(path, channels, img, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
}

static void test_png_matches_npy(const ls_image *src)
{
    char path[1024];
    ls_error err;
    nn_tensor t;
    snprintf(path, sizeof path, "%s/image/src.npy", ref_dir);
    CHECK(ls_npy_read(path, &t, &err) == 0, "%s", err.msg);
    CHECK(nn_numel(&t) == (int64_t)src->width * src->height * 3, "npy size");
    float *pixels = to_float(src);
    check_close("png read == numpy pixels", pixels, t.data, nn_numel(&t), 0, 0);
    free(pixels);
    free(t.data);
}

static void test_resizes(const ls_image *src)
{
    static const int sizes[][2] = { { 256, 256 }, { 40, 30 }, { 97, 61 }, { 48, 30 }, { 143, 171 },
                                    { 13, 200 } };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        for (int lanczos = 0; lanczos < 2; lanczos++) {
            char name[64];
            snprintf(name, sizeof name, "%s_%dx%d.png", lanczos ? "lanczos" : "linear", sizes[i][0],
                     sizes[i][1]);
            ls_image want, got;
            ls_error err;
            read_ref(name, 3, &want);
            CHECK(ls_image_alloc(&got, sizes[i][0], sizes[i][1], 3, &err) == 0, "%s", err.msg);
            CHECK(ls_resize(src, &got, lanczos ? LS_INTERP_LANCZOS4 : LS_INTERP_BILINEAR, &err) == 0,
                  "%s", err.msg);
            compare(name, &got, &want, 1);
            ls_image_free(&want);
            ls_image_free(&got);
        }
    }
}

static void test_grey(const ls_image *src)
{
    ls_image want, got, resized_want, resized;
    ls_error err;
    read_ref("grey.png", 1, &want);
    CHECK(ls_image_convert(src, 1, &got, &err) == 0, "%s", err.msg);
    compare("BGR -> grey", &got, &want, 0);
    read_ref("linear_grey_50x80.png", 1, &resized_want);
    CHECK(ls_image_alloc(&resized, 50, 80, 1, &err) == 0, "%s", err.msg);
    CHECK(ls_resize(&got, &resized, LS_INTERP_BILINEAR, &err) == 0, "%s", err.msg);
    compare("grey bilinear 50x80", &resized, &resized_want, 1);
    ls_image grey_as_colour;
    read_ref("grey.png", 3, &grey_as_colour);
    CHECK(grey_as_colour.channels == 3 && grey_as_colour.data[0] == grey_as_colour.data[2] &&
              grey_as_colour.data[0] == want.data[0],
          "grey file read as BGR copies the grey value");
    ls_image_free(&grey_as_colour);
    ls_image_free(&want);
    ls_image_free(&got);
    ls_image_free(&resized_want);
    ls_image_free(&resized);
}

static void test_blur(void)
{
    static const int kernels[] = { 1, 5, 13, 25 };
    ls_image mask;
    read_ref("mask.png", 1, &mask);
    for (size_t i = 0; i < sizeof kernels / sizeof kernels[0]; i++) {
        char name[64];
        ls_image want, got;
        ls_error err;
        snprintf(name, sizeof name, "blur_%d.png", kernels[i]);
        read_ref(name, 1, &want);
        CHECK(ls_image_convert(&mask, 1, &got, &err) == 0, "%s", err.msg);
        CHECK(ls_gaussian_blur(&got, kernels[i], &err) == 0, "%s", err.msg);
        compare(name, &got, &want, 1);
        ls_image_free(&want);
        ls_image_free(&got);
    }
    ls_error err;
    CHECK(ls_gaussian_blur(&mask, 4, &err) == -1, "even kernel rejected");
    ls_image_free(&mask);
}

static void test_jpeg(const ls_image *src)
{
    ls_image want, got;
    read_ref("jpg_decoded.png", 3, &want);
    read_ref("src.jpg", 3, &got);
    compare("JPEG decode (cv2 file)", &got, &want, 1);
    ls_image_free(&got);
    ls_image_free(&want);

    /* Our writer against cv2's; and the PNG round trip is exact. */
    ls_error err;
    char dir[] = "/tmp/ls_test_image_XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char jpg[128], png[128];
    snprintf(jpg, sizeof jpg, "%s/a.jpg", dir);
    snprintf(png, sizeof png, "%s/a.PNG", dir);
    CHECK(ls_image_write(jpg, src, &err) == 0, "%s", err.msg);
    CHECK(ls_image_write(png, src, &err) == 0, "%s", err.msg);
    CHECK(ls_image_read(png, 0, &got, &err) == 0, "%s", err.msg);
    compare("PNG write/read round trip", &got, src, 0);
    ls_image_free(&got);
    CHECK(ls_image_read(jpg, 3, &got, &err) == 0, "%s", err.msg);
    read_ref("jpg_decoded.png", 3, &want);
    compare("JPEG write (q95) == cv2's JPEG", &got, &want, 0);
    ls_image_free(&want);
    ls_image_free(&got);
    unlink(jpg);
    unlink(png);
    rmdir(dir);
}

static void test_errors(void)
{
    ls_image img;
    ls_error err;
    CHECK(ls_image_read("/nonexistent/x.png", 3, &img, &err) == -1 &&
              strstr(err.msg, "/nonexistent/x.png"),
          "missing file named: %s", err.msg);
    CHECK(ls_image_decode("hello", 5, "mem", 3, &img, &err) == -1 && strstr(err.msg, "not a PNG"),
          "garbage rejected: %s", err.msg);
    /* Truncations of real files at several lengths must fail cleanly. */
    const char *names[] = { "src.png", "src.jpg" };
    for (int f = 0; f < 2; f++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/image/%s", ref_dir, names[f]);
        FILE *fp = fopen(path, "rb");
        CHECK(fp != NULL, "open %s", path);
        if (!fp)
            continue;
        static unsigned char buf[1 << 20];
        size_t n = fread(buf, 1, sizeof buf, fp);
        fclose(fp);
        int tries = 0, failures = 0;
        for (size_t len = 0; len < n; len += n / 37 + 1, tries++)
            failures += ls_image_decode(buf, len, names[f], 3, &img, &err) == -1;
        CHECK(failures == tries, "%s: %d of %d truncations rejected", names[f], failures, tries);
    }
    CHECK(ls_image_write("/tmp/x.bmp", &(ls_image){ 0 }, &err) == -1, "unknown extension");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_image REF_DIR\n");
        return 2;
    }
    ref_dir = argv[1];
    ls_image src;
    read_ref("src.png", 0, &src);
    CHECK(src.channels == 3 && src.width == 97 && src.height == 61, "src.png 97x61 BGR");
    test_png_matches_npy(&src);
    test_resizes(&src);
    test_grey(&src);
    test_blur();
    test_jpeg(&src);
    test_errors();
    ls_image_free(&src);
    return check_result("test_image");
}
