/*
 * raw_tensor.h - a tensor as a model file stores it (internal to src/io).
 *
 * The format readers (torch_ckpt.c, safetensors.c) describe every tensor
 * they find as an ls_raw_tensor: its dtype, shape and element strides, and a
 * pointer to its first element inside the mapped file. weights.c turns these
 * into fp32 on demand with ls_raw_tensor_to_f32(), which npy.c uses too.
 */
#ifndef LS_IO_RAW_TENSOR_H
#define LS_IO_RAW_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "io/pickle.h"
#include "util/error.h"

#define LS_RAW_MAX_DIMS 8

typedef struct ls_raw_tensor {
    char *name;                        /* owned by the list holding it */
    ls_dtype dtype;
    int ndim;
    int64_t shape[LS_RAW_MAX_DIMS];
    int64_t stride[LS_RAW_MAX_DIMS];   /* in elements, >= 0 */
    const uint8_t *data;               /* the element at index (0, ..., 0) */
} ls_raw_tensor;

/* A growable array of tensors that owns their names. */
typedef struct ls_raw_list {
    ls_raw_tensor *items;
    size_t n, cap;
} ls_raw_list;

/* Appends a copy of *t named `name` (copied). */
int ls_raw_list_push(ls_raw_list *list, const char *name, const ls_raw_tensor *t, ls_error *err);
void ls_raw_list_free(ls_raw_list *list);

/* Number of elements, and the number of storage elements the tensor spans
 * (1 + the largest element index; 0 when empty). -1 on overflow or a
 * negative size or stride. */
int ls_raw_tensor_extent(const ls_raw_tensor *t, int64_t *numel, int64_t *span);

/* Fills in row-major strides for t->shape. */
void ls_raw_tensor_set_contiguous(ls_raw_tensor *t);

/* 1 when the strides are row-major for the shape (size-1 dims ignored). */
int ls_raw_tensor_is_contiguous(const ls_raw_tensor *t);

/* 1 for F32, F16, BF16 and F64. */
int ls_dtype_is_float(ls_dtype t);

/* Copies every element, in row-major order, converted to fp32 into dst
 * (numel floats). Float dtypes only; the source may be unaligned. */
void ls_raw_tensor_to_f32(const ls_raw_tensor *t, float *dst);

/* IEEE half (binary16) to float, exact for every value. */
float ls_half_to_float(uint16_t h);

#endif
