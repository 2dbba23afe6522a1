/*
 * weights.c - the named-tensor store over a memory-mapped model file (see
 * weights.h).
 *
 * Opening maps the whole file read-only, recognises the format from its
 * first bytes (a torch.save zip or legacy file; a header length plus '{':
 * safetensors), lets the format reader list the tensors, and sorts their
 * names for binary search. Fetching checks dtype and shape, then hands out
 * either a pointer into the mapping (fp32, contiguous, 4-byte aligned) or an
 * fp32 copy made on the first fetch and kept until close (fp16, bf16, fp64,
 * strided or unaligned data). A store is used by one thread at a time.
 */
#include "io/weights.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/name_index.h"
#include "io/raw_tensor.h"
#include "io/safetensors.h"
#include "io/torch_ckpt.h"

#define MAX_UNUSED_LISTED 5

struct ls_weights {
    char *path;
    void *map;
    size_t map_len;
    int is_torch;
    ls_torch_ckpt ckpt;
    ls_safetensors st;
    const ls_raw_list *tensors;   /* ckpt.tensors or st.tensors */
    ls_name_index by_name;
    float **converted;            /* per tensor: owned fp32 copy, or NULL */
    unsigned char *used;          /* per tensor: fetched at least once */
    char *scope;                  /* without a trailing '.'; "" for none */
};

static int map_file(ls_weights *w, ls_error *err)
{
    int fd = open(w->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ls_error_set(err, "%s: cannot open: %s", w->path, strerror(errno));
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) < 0)
        rc = ls_error_set(err, "%s: cannot stat: %s", w->path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        rc = ls_error_set(err, "%s: not a regular file", w->path);
    else if (st.st_size == 0)
        rc = ls_error_set(err, "%s: empty file: not a PyTorch checkpoint or safetensors file", w->path);
    if (rc == 0) {
        w->map_len = (size_t)st.st_size;
        w->map = mmap(NULL, w->map_len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (w->map == MAP_FAILED) {
            w->map = NULL;
            rc = ls_error_set(err, "%s: cannot map: %s", w->path, strerror(errno));
        }
    }
    close(fd);
    return rc;
}

static int read_format(ls_weights *w, ls_error *err)
{
    const unsigned char *p = w->map;
    if (ls_torch_ckpt_detect(p, w->map_len)) {
        w->is_torch = 1;
        if (ls_torch_ckpt_open(w->map, w->map_len, w->path, &w->ckpt, err) < 0)
            return -1;
        w->tensors = &w->ckpt.tensors;
        return 0;
    }
    if (ls_safetensors_detect(w->map, w->map_len)) {
        if (ls_safetensors_open(w->map, w->map_len, w->path, &w->st, err) < 0)
            return -1;
        w->tensors = &w->st.tensors;
        return 0;
    }
    return ls_error_set(err, "%s: not a PyTorch checkpoint or safetensors file", w->path);
}

static int index_tensors(ls_weights *w, ls_error *err)
{
    size_t n = w->tensors->n;
    w->converted = calloc(n ? n : 1, sizeof *w->converted);
    w->used = calloc(n ? n : 1, 1);
    if (!w->converted || !w->used || ls_name_index_init(&w->by_name, n) < 0)
        return ls_error_set(err, "%s: out of memory", w->path);
    for (size_t i = 0; i < n; i++)
        w->by_name.slots[i] = (ls_name_slot){ w->tensors->items[i].name, i };
    const char *twice = ls_name_index_sort(&w->by_name);
    if (twice)
        return ls_error_set(err, "%s: two tensors are named '%s'", w->path, twice);
    return 0;
}

int ls_weights_open(const char *path, ls_weights **out, ls_error *err)
{
    *out = NULL;
    ls_weights *w = calloc(1, sizeof *w);
    if (!w)
        return ls_error_set(err, "%s: out of memory", path);
    w->path = strdup(path);
    w->scope = strdup("");
    if (!w->path || !w->scope) {
        ls_weights_close(w);
        return ls_error_set(err, "%s: out of memory", path);
    }
    if (map_file(w, err) < 0 || read_format(w, err) < 0 || index_tensors(w, err) < 0) {
        ls_weights_close(w);
        return -1;
    }
    *out = w;
    return 0;
}

void ls_weights_close(ls_weights *w)
{
    if (!w)
        return;
    if (w->converted)
        for (size_t i = 0; i < w->tensors->n; i++)
            free(w->converted[i]);
    free(w->converted);
    free(w->used);
    ls_name_index_free(&w->by_name);
    if (w->is_torch)
        ls_torch_ckpt_close(&w->ckpt);
    else
        ls_safetensors_close(&w->st);
    if (w->map)
        munmap(w->map, w->map_len);
    free(w->scope);
    free(w->path);
    free(w);
}

const char *ls_weights_path(const ls_weights *w)
{
    return w->path;
}

void ls_weights_set_scope(ls_weights *w, const char *scope)
{
    size_t n = scope ? strlen(scope) : 0;
    while (n && scope[n - 1] == '.')
        n--;
    char *copy = malloc(n + 1);
    if (!copy)
        return; /* keeps the old scope; lookups then fail and name the tensor */
    memcpy(copy, scope ? scope : "", n);
    copy[n] = '\0';
    free(w->scope);
    w->scope = copy;
}

/* "<scope>.<name>" (either part may be empty); NULL when out of memory. */
static char *scoped_name(const ls_weights *w, const char *name)
{
    size_t a = strlen(w->scope), b = strlen(name);
    char *full = malloc(a + b + 2);
    if (!full)
        return NULL;
    if (a && b)
        snprintf(full, a + b + 2, "%s.%s", w->scope, name);
    else
        snprintf(full, a + b + 2, "%s", a ? w->scope : name);
    return full;
}

static ptrdiff_t find(const ls_weights *w, const char *full)
{
    return full ? ls_name_index_find(&w->by_name, full) : -1;
}

int ls_weights_has(const ls_weights *w, const char *name)
{
    char *full = scoped_name(w, name);
    ptrdiff_t i = find(w, full);
    free(full);
    return i >= 0;
}

/* "(2, 3)", with "*" for an entry of -1. */
static void format_shape(char *buf, size_t size, int ndim, const int64_t *shape)
{
    size_t n = (size_t)snprintf(buf, size, "(");
    for (int i = 0; i < ndim && n < size; i++) {
        const char *sep = i ? ", " : "";
        if (shape[i] < 0)
            n += (size_t)snprintf(buf + n, size - n, "%s*", sep);
        else
            n += (size_t)snprintf(buf + n, size - n, "%s%lld", sep, (long long)shape[i]);
    }
    if (n < size)
        snprintf(buf + n, size - n, ")");
}

static int check_shape(const ls_weights *w, const char *full, const ls_raw_tensor *t, int ndim,
                       const int64_t *shape, ls_error *err)
{
    int same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++)
        same = shape[i] < 0 || shape[i] == t->shape[i];
    if (same)
        return 0;
    char have[160], want[160];
    format_shape(have, sizeof have, t->ndim, t->shape);
    format_shape(want, sizeof want, ndim, shape);
    return ls_error_set(err, "%s: tensor '%s' has shape %s, expected %s", w->path, full, have, want);
}

/* The tensor's data as fp32: in place when possible, else a cached copy. */
static float *fp32_data(ls_weights *w, size_t i, ls_error *err)
{
    const ls_raw_tensor *t = &w->tensors->items[i];
    if (w->converted[i])
        return w->converted[i];
    if (t->dtype == LS_DTYPE_F32 && ls_raw_tensor_is_contiguous(t) &&
        (uintptr_t)t->data % sizeof(float) == 0)
        return (float *)t->data; /* read-only mapping: the store's data is never written */
    int64_t numel, span;
    ls_raw_tensor_extent(t, &numel, &span); /* validated by the format reader */
    float *copy = malloc(numel ? (size_t)numel * sizeof(float) : 1);
    if (!copy) {
        ls_error_set(err, "%s: out of memory converting tensor '%s'", w->path, t->name);
        return NULL;
    }
    ls_raw_tensor_to_f32(t, copy);
    w->converted[i] = copy;
    return copy;
}

int ls_weights_get(ls_weights *w, const char *name, int ndim, int64_t *shape, nn_tensor *out,
                   ls_error *err)
{
    char *full = scoped_name(w, name);
    if (!full)
        return ls_error_set(err, "%s: out of memory", w->path);
    ptrdiff_t i = find(w, full);
    int rc = 0;
    if (i < 0) {
        rc = ls_error_set(err, "%s: missing tensor '%s'", w->path, full);
    } else if (!ls_dtype_is_float(w->tensors->items[i].dtype)) {
        rc = ls_error_set(err, "%s: tensor '%s' is %s, expected float", w->path, full,
                          ls_dtype_name(w->tensors->items[i].dtype));
    } else if (ndim < 0 || ndim > NN_MAX_DIMS) {
        rc = ls_error_set(err, "%s: tensor '%s': cannot fetch %d dimensions (at most %d)", w->path,
                          full, ndim, NN_MAX_DIMS);
    } else {
        rc = check_shape(w, full, &w->tensors->items[i], ndim, shape, err);
    }
    float *data = rc == 0 ? fp32_data(w, (size_t)i, err) : NULL;
    free(full);
    if (!data)
        return -1;
    const ls_raw_tensor *t = &w->tensors->items[i];
    out->data = data;
    out->ndim = ndim;
    for (int d = 0; d < ndim; d++)
        out->shape[d] = shape[d] = t->shape[d];
    w->used[i] = 1;
    return 0;
}

/* 1 when `name` is the scope itself or lies below it. */
static int under_scope(const char *scope, const char *name)
{
    size_t n = strlen(scope);
    return n == 0 || (strncmp(name, scope, n) == 0 && (name[n] == '\0' || name[n] == '.'));
}

int ls_weights_check_unused(const ls_weights *w, ls_error *err)
{
    char list[400] = "";
    size_t unused = 0, len = 0;
    for (size_t i = 0; i < w->tensors->n; i++) {
        const ls_raw_tensor *t = &w->tensors->items[i];
        /* Integer tensors (step counters, index buffers) cannot be fetched as weights. */
        if (w->used[i] || !ls_dtype_is_float(t->dtype) || !under_scope(w->scope, t->name))
            continue;
        if (unused++ < MAX_UNUSED_LISTED && len < sizeof list)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s'%s'", len ? ", " : "", t->name);
    }
    if (!unused)
        return 0;
    return ls_error_set(err, "%s: %zu tensor%s never used: %s%s", w->path, unused, unused > 1 ? "s" : "",
                        list, unused > MAX_UNUSED_LISTED ? ", ..." : "");
}

size_t ls_weights_count(const ls_weights *w)
{
    return w->tensors->n;
}

const char *ls_weights_name(const ls_weights *w, size_t i)
{
    return i < w->tensors->n ? w->tensors->items[i].name : NULL;
}

const ls_pkl *ls_weights_pickle_root(const ls_weights *w)
{
    return w->is_torch ? w->ckpt.root : NULL;
}

const char *ls_weights_metadata(const ls_weights *w, const char *key)
{
    return w->is_torch ? NULL : ls_safetensors_metadata(&w->st, key);
}
