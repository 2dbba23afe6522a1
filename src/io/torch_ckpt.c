/*
 * torch_ckpt.c - tensors of a torch.save checkpoint (see torch_ckpt.h).
 *
 * Zip format:
 * The archive holds <archive>/data.pkl (the pickled object, tensors as
 * _rebuild_tensor_v2 calls on persistent-id storages), one raw
 * little-endian record per storage at <archive>/data/<key>, and small
 * files such as <archive>/version and <archive>/byteorder. The archive
 * folder is whatever single top-level folder holds data.pkl. The legacy
 * format (io/torch_legacy.c) holds the same pickled object and its storages
 * in one stream.
 *
 * Walking the unpickled tree names each tensor by its path. A tensor's
 * bytes are checked to lie inside its storage record: storage offset plus
 * the furthest element its size and strides reach. The record's length, not
 * the element count in the persistent id, is what counts, as in PyTorch.
 * Views with more elements than their storage (broadcasts) are refused,
 * which also bounds the memory a conversion to fp32 can take.
 */
#include "io/torch_ckpt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TENSORS (1u << 20)
#define MAX_DEPTH 64

/* Finds the single "<folder>/data.pkl"; *prefix_len covers "<folder>/". */
static int find_data_pkl(const ls_zip *z, const char *what, size_t *index, size_t *prefix_len,
                         ls_error *err)
{
    int found = 0;
    for (size_t i = 0; i < ls_zip_count(z); i++) {
        const char *name = ls_zip_name(z, i);
        const char *slash = strchr(name, '/');
        if (!slash || slash == name || strcmp(slash + 1, "data.pkl") != 0)
            continue;
        if (found++)
            return ls_error_set(err, "%s: checkpoint holds more than one data.pkl", what);
        *index = i;
        *prefix_len = (size_t)(slash - name) + 1;
    }
    if (!found)
        return ls_error_set(err, "%s: zip archive without <folder>/data.pkl: not a PyTorch checkpoint",
                            what);
    return 0;
}

static int check_byteorder(ls_zip *z, const char *prefix, const char *what, ls_error *err)
{
    char name[512];
    snprintf(name, sizeof name, "%sbyteorder", prefix);
    ptrdiff_t i = ls_zip_find(z, name);
    const uint8_t *data;
    size_t len;
    if (i < 0)
        return 0; /* older writers: always little-endian */
    if (ls_zip_read(z, (size_t)i, &data, &len, err) < 0)
        return -1;
    if (len != 6 || memcmp(data, "little", 6) != 0)
        return ls_error_set(err, "%s: checkpoint is not little-endian", what);
    return 0;
}

/* ------------------------------------------------------------- the walk */

typedef struct walker {
    ls_torch_ckpt *ck;
    const char *what;
    const char *prefix;   /* "<folder>/" */
    ls_error *err;
    char *path;           /* dotted name of the current object */
    size_t len, cap;
} walker;

/* Appends ".segment" (no dot at the root) to the path. */
static int path_push(walker *w, const char *segment, size_t n)
{
    size_t need = w->len + 1 + n + 1;
    if (need > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < need)
            cap *= 2;
        char *bigger = realloc(w->path, cap);
        if (!bigger)
            return ls_error_set(w->err, "%s: out of memory", w->what);
        w->path = bigger;
        w->cap = cap;
    }
    if (w->len)
        w->path[w->len++] = '.';
    memcpy(w->path + w->len, segment, n);
    w->len += n;
    w->path[w->len] = '\0';
    return 0;
}

/* The bytes of storage `key`, named in *record for messages. */
static int storage_bytes(walker *w, const char *key, const char *name, char record[512], const uint8_t **bytes,
                         size_t *len)
{
    if (w->ck->zip) {
        snprintf(record, 512, "%sdata/%s", w->prefix, key);
        ptrdiff_t index = ls_zip_find(w->ck->zip, record);
        if (index >= 0)
            return ls_zip_read(w->ck->zip, (size_t)index, bytes, len, w->err);
    } else {
        snprintf(record, 512, "%s", key);
        const ls_torch_storage *s = ls_torch_storages_find(&w->ck->legacy, key);
        if (s) {
            *bytes = s->bytes;
            *len = s->len;
            return 0;
        }
    }
    return ls_error_set(w->err, "%s: storage '%s' of tensor '%s' is missing", w->what, record, name);
}

static int add_tensor(walker *w, const ls_pkl_tensor *pt)
{
    const char *name = w->path ? w->path : "";
    if (w->ck->tensors.n >= MAX_TENSORS)
        return ls_error_set(w->err, "%s: more than %u tensors", w->what, MAX_TENSORS);
    char record[512];
    const uint8_t *bytes;
    size_t len;
    if (storage_bytes(w, pt->storage_key, name, record, &bytes, &len) < 0)
        return -1;
    ls_raw_tensor t = { .dtype = pt->dtype, .ndim = pt->ndim, .data = bytes };
    memcpy(t.shape, pt->shape, sizeof t.shape);
    memcpy(t.stride, pt->stride, sizeof t.stride);
    int64_t storage_elements = (int64_t)(len / ls_dtype_size(pt->dtype)), numel, span, end;
    if (ls_raw_tensor_extent(&t, &numel, &span) < 0 || __builtin_add_overflow(pt->offset, span, &end) ||
        (numel > 0 && end > storage_elements))
        return ls_error_set(w->err, "%s: tensor '%s' (storage offset %lld) reaches past the end of its "
                            "%lld-element storage '%s'", w->what, name, (long long)pt->offset,
                            (long long)storage_elements, record);
    if (numel > storage_elements)
        return ls_error_set(w->err, "%s: tensor '%s' has more elements than its storage "
                            "(broadcast views are not supported)", w->what, name);
    if (numel > 0)
        t.data = bytes + (size_t)pt->offset * ls_dtype_size(pt->dtype);
    return ls_raw_list_push(&w->ck->tensors, name, &t, w->err);
}

static int walk(walker *w, const ls_pkl *v, int depth);

/* A dict key as a name segment: strings as they are, integers in decimal.
 * Entries under other keys are skipped unless they hold tensors. */
static int walk_dict_entry(walker *w, const ls_pkl *key, const ls_pkl *value, int depth)
{
    char number[32];
    const char *segment;
    size_t n;
    if (key->kind == LS_PKL_STRING) {
        segment = key->u.str.data;
        n = key->u.str.len;
    } else if (key->kind == LS_PKL_INT) {
        n = (size_t)snprintf(number, sizeof number, "%lld", (long long)key->u.i);
        segment = number;
    } else {
        size_t before = w->ck->tensors.n;
        if (walk(w, value, depth + 1) < 0)
            return -1;
        if (w->ck->tensors.n != before)
            return ls_error_set(w->err, "%s: tensors under a dict key that is not a string or an int",
                                w->what);
        return 0;
    }
    size_t saved = w->len;
    if (path_push(w, segment, n) < 0 || walk(w, value, depth + 1) < 0)
        return -1;
    w->len = saved;
    w->path[saved] = '\0';
    return 0;
}

static int walk(walker *w, const ls_pkl *v, int depth)
{
    if (depth > MAX_DEPTH)
        return ls_error_set(w->err, "%s: data.pkl is nested too deeply", w->what);
    switch (v->kind) {
    case LS_PKL_TENSOR:
        return add_tensor(w, &v->u.tensor);
    case LS_PKL_DICT:
        for (size_t i = 0; i < v->u.dict.n; i++)
            if (walk_dict_entry(w, v->u.dict.keys[i], v->u.dict.values[i], depth) < 0)
                return -1;
        return 0;
    case LS_PKL_LIST:
    case LS_PKL_TUPLE:
        for (size_t i = 0; i < v->u.seq.n; i++) {
            char number[32];
            size_t saved = w->len;
            int n = snprintf(number, sizeof number, "%zu", i);
            if (path_push(w, number, (size_t)n) < 0 || walk(w, v->u.seq.items[i], depth + 1) < 0)
                return -1;
            w->len = saved;
            w->path[saved] = '\0';
        }
        return 0;
    default:
        return 0;
    }
}

/* -------------------------------------------------------------- opening */

int ls_torch_ckpt_detect(const void *data, size_t len)
{
    return (len >= 4 && memcmp(data, "PK\3\4", 4) == 0) || ls_torch_legacy_detect(data, len);
}

static int list_tensors(ls_torch_ckpt *ck, const char *what, const char *prefix, ls_error *err)
{
    walker w = { .ck = ck, .what = what, .prefix = prefix, .err = err };
    int rc = walk(&w, ck->root, 0);
    free(w.path);
    return rc;
}

int ls_torch_ckpt_open(const void *data, size_t len, const char *what, ls_torch_ckpt *ck,
                       ls_error *err)
{
    memset(ck, 0, sizeof *ck);
    if (ls_torch_legacy_detect(data, len)) {
        if (ls_torch_legacy_open(data, len, what, &ck->root, &ck->legacy, err) < 0 ||
            list_tensors(ck, what, "", err) < 0) {
            ls_torch_ckpt_close(ck);
            return -1;
        }
        return 0;
    }
    size_t pkl_index = 0, prefix_len = 0;
    const uint8_t *pkl;
    size_t pkl_len;
    char prefix[256], pkl_what[600];
    if (ls_zip_open(data, len, what, &ck->zip, err) < 0 ||
        find_data_pkl(ck->zip, what, &pkl_index, &prefix_len, err) < 0)
        goto fail;
    if (prefix_len >= sizeof prefix) {
        ls_error_set(err, "%s: archive folder name too long", what);
        goto fail;
    }
    memcpy(prefix, ls_zip_name(ck->zip, pkl_index), prefix_len);
    prefix[prefix_len] = '\0';
    snprintf(pkl_what, sizeof pkl_what, "%s: %sdata.pkl", what, prefix);
    if (check_byteorder(ck->zip, prefix, what, err) < 0 ||
        ls_zip_read(ck->zip, pkl_index, &pkl, &pkl_len, err) < 0 ||
        ls_pkl_parse(pkl, pkl_len, pkl_what, &ck->root, err) < 0)
        goto fail;
    if (list_tensors(ck, what, prefix, err) < 0)
        goto fail;
    return 0;
fail:
    ls_torch_ckpt_close(ck);
    return -1;
}

void ls_torch_ckpt_close(ls_torch_ckpt *ck)
{
    ls_raw_list_free(&ck->tensors);
    ls_pkl_free(ck->root);
    ls_zip_close(ck->zip);
    ls_torch_storages_free(&ck->legacy);
    memset(ck, 0, sizeof *ck);
}
