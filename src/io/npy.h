/*
 * npy.h - NumPy .npy files (format versions 1-3), float32 in C order.
 *
 * Reading accepts little-endian float32 ('<f4'), and converts '<f2' and
 * '<f8' to float32; anything else (Fortran order, other dtypes, more than
 * NN_MAX_DIMS dimensions, a size that disagrees with the shape) is an error
 * naming the file. Writing always produces version 1.0 '<f4' C order.
 */
#ifndef LS_IO_NPY_H
#define LS_IO_NPY_H

#include <stdint.h>

#include "nn/tensor.h"
#include "util/error.h"

/* On success t->data is malloc'd (free() it) and the shape is filled in. */
int ls_npy_read(const char *path, nn_tensor *t, ls_error *err);
int ls_npy_write(const char *path, const nn_tensor *t, ls_error *err);

#endif
