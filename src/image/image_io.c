/*
 * image_io.c - ls_image_read/decode/write: format by magic bytes on input,
 * by extension on output, then channel conversion (see image_io.h).
 */
#include "image/image_io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "image/codecs.h"
#include "util/file.h"

/* Image files larger than this are refused before reading them. */
#define MAX_IMAGE_FILE_BYTES ((size_t)512 << 20)

static int has_suffix(const char *name, const char *suffix)
{
    size_t n = strlen(name), s = strlen(suffix);
    return n >= s && strcasecmp(name + n - s, suffix) == 0;
}

int ls_image_has_image_extension(const char *name)
{
    return has_suffix(name, ".png") || has_suffix(name, ".jpg") || has_suffix(name, ".jpeg");
}

int ls_image_decode(const void *data, size_t len, const char *what, int channels, ls_image *out,
                    ls_error *err)
{
    static const unsigned char png_magic[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
    const unsigned char *bytes = data;
    ls_image natural = { 0 };
    int rc;
    if (len >= 8 && memcmp(bytes, png_magic, 8) == 0)
        rc = ls_png_decode(data, len, what, &natural, err);
    else if (len >= 3 && bytes[0] == 0xff && bytes[1] == 0xd8 && bytes[2] == 0xff)
        rc = ls_jpeg_decode(data, len, what, &natural, err);
    else
        return ls_error_set(err, "%s: not a PNG or JPEG image", what);
    if (rc)
        return -1;
    if (channels == 0 || channels == natural.channels) {
        *out = natural;
        return 0;
    }
    rc = ls_image_convert(&natural, channels, out, err);
    ls_image_free(&natural);
    return rc ? ls_error_prefix(err, "%s", what) : 0;
}

int ls_image_read(const char *path, int channels, ls_image *out, ls_error *err)
{
    void *bytes;
    size_t len;
    if (ls_read_file(path, MAX_IMAGE_FILE_BYTES, &bytes, &len, err) != 0)
        return -1;
    int rc = len ? ls_image_decode(bytes, len, path, channels, out, err)
                 : ls_error_set(err, "%s: empty image file", path);
    free(bytes);
    return rc;
}

int ls_image_write(const char *path, const ls_image *img, ls_error *err)
{
    if (has_suffix(path, ".png"))
        return ls_png_write(path, img, err);
    if (has_suffix(path, ".jpg") || has_suffix(path, ".jpeg"))
        return ls_jpeg_write(path, img, 95, err);
    return ls_error_set(err, "%s: unknown image extension (use .png or .jpg)", path);
}
