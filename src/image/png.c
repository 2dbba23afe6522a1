/*
 * png.c - PNG decoding and encoding with libpng's simplified API.
 *
 * png_image does all format conversion (palette, 16-bit, alpha, grey+alpha)
 * to 8-bit BGR or grey, and reports errors through its message field
 * instead of longjmp, so this file needs no setjmp handling.
 */
#include <png.h>
#include <string.h>

#include "image/codecs.h"
#include "image/image_io.h"

int ls_png_decode(const void *data, size_t len, const char *what, ls_image *out, ls_error *err)
{
    png_image png;
    memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&png, data, len))
        return ls_error_set(err, "%s: PNG: %s", what, png.message);
    if (png.width == 0 || png.height == 0 || png.width > LS_IMAGE_MAX_SIDE ||
        png.height > LS_IMAGE_MAX_SIDE) {
        png_image_free(&png);
        return ls_error_set(err, "%s: PNG size %ux%u not supported", what, png.width, png.height);
    }
    int colour = (png.format & PNG_FORMAT_FLAG_COLOR) != 0;
    png.format = colour ? PNG_FORMAT_BGR : PNG_FORMAT_GRAY;
    if (ls_image_alloc(out, (int)png.width, (int)png.height, colour ? 3 : 1, err)) {
        png_image_free(&png);
        return ls_error_prefix(err, "%s", what);
    }
    if (!png_image_finish_read(&png, NULL, out->data, 0, NULL)) {
        ls_image_free(out);
        int rc = ls_error_set(err, "%s: PNG: %s", what, png.message);
        png_image_free(&png);
        return rc;
    }
    return 0;
}

int ls_png_write(const char *path, const ls_image *img, ls_error *err)
{
    png_image png;
    memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    png.width = (png_uint_32)img->width;
    png.height = (png_uint_32)img->height;
    png.format = img->channels == 3 ? PNG_FORMAT_BGR : PNG_FORMAT_GRAY;
    if (!png_image_write_to_file(&png, path, 0, img->data, 0, NULL))
        return ls_error_set(err, "%s: cannot write PNG: %s", path, png.message);
    return 0;
}
