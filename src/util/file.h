/*
 * file.h - reading a whole file into memory, with a size limit.
 *
 * Every reader of small files (JSON, pickles, images, WAV, XML) goes through
 * ls_read_file: it reads in growing chunks (so pipes work too), refuses files
 * above the caller's limit before allocating for them, and names the file in
 * every error.
 */
#ifndef LS_UTIL_FILE_H
#define LS_UTIL_FILE_H

#include <stddef.h>

#include "util/error.h"

/* On success *data is malloc'd (free() it), NUL-terminated one byte past
 * *len for the convenience of text parsers. */
int ls_read_file(const char *path, size_t max_bytes, void **data, size_t *len, ls_error *err);

#endif
