/*
 * zip.h - a minimal read-only ZIP reader over bytes in memory.
 *
 * Opens an archive held in a caller-owned buffer (usually a memory-mapped
 * file), lists its entries from the central directory (ZIP64 included) and
 * returns an entry's bytes: STORED entries point into the buffer, DEFLATE
 * entries are inflated once into a buffer the archive owns. The buffer must
 * outlive the ls_zip. Every offset and length is checked against the buffer
 * size; `what` names the archive in error messages.
 */
#ifndef LS_IO_ZIP_H
#define LS_IO_ZIP_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

typedef struct ls_zip ls_zip;

int ls_zip_open(const void *data, size_t len, const char *what, ls_zip **out, ls_error *err);
void ls_zip_close(ls_zip *z);

size_t ls_zip_count(const ls_zip *z);
const char *ls_zip_name(const ls_zip *z, size_t index);

/* Index of the entry called `name`, or -1. */
ptrdiff_t ls_zip_find(const ls_zip *z, const char *name);

/* The uncompressed bytes of entry `index`, valid until ls_zip_close(). */
int ls_zip_read(ls_zip *z, size_t index, const uint8_t **data, size_t *len, ls_error *err);

#endif
