/*
 * pickle.h - the Python objects a PyTorch checkpoint's data.pkl can hold.
 *
 * pickle.c runs the subset of the pickle virtual machine (protocols 2-5) that
 * torch.save and numpy write, and builds a tree of ls_pkl values. Anything
 * outside the subset (an unknown opcode, an unexpected global) is an error,
 * never code execution. Tensors appear as LS_PKL_TENSOR values that describe
 * where their storage is; io/torch_ckpt.c turns those into data.
 *
 * numpy scalars (numpy.core.multiarray.scalar(dtype, bytes)) become INT or
 * FLOAT values, so coords.pkl files of avatars read as plain numbers; small
 * numeric numpy arrays become (nested) LISTs of them.
 */
#ifndef LS_IO_PICKLE_H
#define LS_IO_PICKLE_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

typedef enum ls_pkl_kind {
    LS_PKL_NONE,
    LS_PKL_BOOL,
    LS_PKL_INT,
    LS_PKL_FLOAT,
    LS_PKL_STRING,   /* UTF-8 text (str) */
    LS_PKL_BYTES,
    LS_PKL_LIST,
    LS_PKL_TUPLE,
    LS_PKL_DICT,     /* dict and collections.OrderedDict, insertion order kept */
    LS_PKL_TENSOR,   /* torch._utils._rebuild_tensor_v2 result */
} ls_pkl_kind;

typedef enum ls_dtype {
    LS_DTYPE_F32,
    LS_DTYPE_F16,
    LS_DTYPE_BF16,
    LS_DTYPE_F64,
    LS_DTYPE_I64,
    LS_DTYPE_I32,
    LS_DTYPE_U8,
} ls_dtype;

size_t ls_dtype_size(ls_dtype t);
const char *ls_dtype_name(ls_dtype t);

typedef struct ls_pkl ls_pkl;

typedef struct ls_pkl_tensor {
    char *storage_key;       /* file name under <archive>/data/ */
    ls_dtype dtype;
    int64_t storage_numel;   /* elements in the whole storage */
    int64_t offset;          /* storage offset, in elements */
    int ndim;
    int64_t shape[8];
    int64_t stride[8];       /* in elements */
} ls_pkl_tensor;

struct ls_pkl {
    ls_pkl_kind kind;
    union {
        int b;
        int64_t i;
        double f;
        struct { char *data; size_t len; } str;        /* STRING and BYTES (NUL-terminated too) */
        struct { ls_pkl **items; size_t n; } seq;      /* LIST and TUPLE */
        struct { ls_pkl **keys; ls_pkl **values; size_t n; } dict;
        ls_pkl_tensor tensor;
    } u;
};

/* Parses a pickle stream. On success *out is the root object, freed with
 * ls_pkl_free(). `what` names the source in error messages. */
int ls_pkl_parse(const void *data, size_t len, const char *what, ls_pkl **out, ls_error *err);
/* The same for a pickle followed by more data: *used is its length. */
int ls_pkl_parse_prefix(const void *data, size_t len, const char *what, ls_pkl **out, size_t *used,
                        ls_error *err);
void ls_pkl_free(ls_pkl *v);

/* The element type of the torch storage `key` met while parsing `root`
 * (a persistent id); -1 when there was none. */
int ls_pkl_storage_dtype(const ls_pkl *root, const char *key, ls_dtype *dtype);

/* Reads and parses a whole pickle file (e.g. an avatar's coords.pkl). */
int ls_pkl_read_file(const char *path, ls_pkl **out, ls_error *err);

/* Lookup helpers; NULL when absent or of another kind. */
const ls_pkl *ls_pkl_dict_get(const ls_pkl *dict, const char *key);

#endif
