/*
 * safetensors.h - safetensors files in memory (internal to src/io).
 *
 * A safetensors file is an 8-byte little-endian header length N, N bytes of
 * JSON mapping each tensor name to {"dtype", "shape", "data_offsets"} (plus
 * an optional "__metadata__" map of strings), then the data section.
 * ls_safetensors_open() validates the header and lists the tensors as
 * ls_raw_tensors pointing into `data`, which must outlive the result.
 */
#ifndef LS_IO_SAFETENSORS_H
#define LS_IO_SAFETENSORS_H

#include <stddef.h>

#include "io/raw_tensor.h"
#include "util/error.h"
#include "util/json.h"

typedef struct ls_safetensors {
    ls_json *header;
    ls_raw_list tensors;   /* in header order */
} ls_safetensors;

/* 1 when `data` starts like a safetensors file: a plausible header length
 * followed by '{' (a header longer than the file is left for
 * ls_safetensors_open() to report). */
int ls_safetensors_detect(const void *data, size_t len);

int ls_safetensors_open(const void *data, size_t len, const char *what, ls_safetensors *st,
                        ls_error *err);
void ls_safetensors_close(ls_safetensors *st);

/* A "__metadata__" value, or NULL. */
const char *ls_safetensors_metadata(const ls_safetensors *st, const char *key);

#endif
