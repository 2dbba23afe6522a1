/*
 * codecs.h - the PNG and JPEG codecs behind image_io.c (internal).
 *
 * Decoders take the whole file in memory and produce an image with the
 * file's natural channel count (1 for grey files, 3 = BGR otherwise);
 * image_io.c converts to what the caller asked for. Encoders write a file.
 */
#ifndef LS_IMAGE_CODECS_H
#define LS_IMAGE_CODECS_H

#include <stddef.h>

#include "image/image.h"
#include "util/error.h"

int ls_png_decode(const void *data, size_t len, const char *what, ls_image *out, ls_error *err);
int ls_png_write(const char *path, const ls_image *img, ls_error *err);

int ls_jpeg_decode(const void *data, size_t len, const char *what, ls_image *out, ls_error *err);
int ls_jpeg_write(const char *path, const ls_image *img, int quality, ls_error *err);

#endif
