/*
 * torch_legacy.h - the storages of a legacy torch.save file (internal to
 * src/io): PyTorch before 1.6, or _use_new_zipfile_serialization=False, as
 * many published checkpoints of that time were written (MuseTalk's
 * face-parsing 79999_iter.pth among them).
 *
 * Such a file is five pickles in a row, then the raw storages:
 *   1. the magic number 0x1950a86a20f9469cfc6c
 *   2. the format version, 1001
 *   3. sys_info: {'protocol_version', 'little_endian', 'type_sizes'}
 *   4. the object itself, storages as persistent ids
 *      ('storage', type, key, location, numel, view_metadata)
 *   5. the list of storage keys, in the order their data follows
 * and then, per key, the element count (int64, little-endian) and the
 * elements. ls_torch_legacy_open() parses it all and returns the object (4)
 * and where each storage's bytes lie; `data` must outlive both.
 */
#ifndef LS_IO_TORCH_LEGACY_H
#define LS_IO_TORCH_LEGACY_H

#include <stddef.h>
#include <stdint.h>

#include "io/pickle.h"
#include "util/error.h"

typedef struct ls_torch_storage {
    char *key;
    const uint8_t *bytes;
    size_t len;
} ls_torch_storage;

typedef struct ls_torch_storages {
    ls_torch_storage *items;
    size_t n;
} ls_torch_storages;

/* 1 when `data` starts like a legacy torch.save file. */
int ls_torch_legacy_detect(const void *data, size_t len);

int ls_torch_legacy_open(const void *data, size_t len, const char *what, ls_pkl **root,
                         ls_torch_storages *storages, ls_error *err);
void ls_torch_storages_free(ls_torch_storages *s);

/* The storage named `key`, or NULL. */
const ls_torch_storage *ls_torch_storages_find(const ls_torch_storages *s, const char *key);

#endif
