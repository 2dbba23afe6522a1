/*
 * image_io.h - reading and writing PNG and JPEG files (libpng, libjpeg-turbo).
 *
 * Reading recognises the format by the file's first bytes, not its name, and
 * converts whatever the file holds (grey, grey+alpha, RGB, RGBA, palette,
 * 16-bit) to the channel count asked for: 3 = BGR, 1 = grey (OpenCV's
 * weights), 0 = 1 for grey files and 3 for colour ones. Alpha is dropped.
 * Writing picks the format from the extension (.png, .jpg/.jpeg, any case).
 * Every failure, including a truncated or corrupt file, is -1 with an error
 * naming the path.
 */
#ifndef LS_IMAGE_IMAGE_IO_H
#define LS_IMAGE_IMAGE_IO_H

#include <stddef.h>

#include "image/image.h"
#include "util/error.h"

/* Largest width or height accepted when reading. */
#define LS_IMAGE_MAX_SIDE 16384

int ls_image_read(const char *path, int channels, ls_image *out, ls_error *err);

/* The same from bytes in memory; `what` names them in messages. */
int ls_image_decode(const void *data, size_t len, const char *what, int channels, ls_image *out,
                    ls_error *err);

/* JPEG files are written at quality 95. */
int ls_image_write(const char *path, const ls_image *img, ls_error *err);

/* 1 when the name ends in .png, .jpg or .jpeg (any case). */
int ls_image_has_image_extension(const char *name);

#endif
