/*
 * safetensors.c - safetensors header validation (see safetensors.h).
 *
 * Checks, each an error naming the file and the tensor: the header length
 * fits the file; the header is a JSON object; every tensor has a supported
 * dtype (F32 F16 BF16 F64 I64 I32 U8), a shape of at most LS_RAW_MAX_DIMS
 * non-negative integers and data_offsets [begin, end] with
 * begin <= end <= size of the data section and end - begin equal to
 * numel * dtype size; no two tensors share bytes (checked after sorting by
 * begin); "__metadata__" maps strings to strings.
 */
#include "io/safetensors.h"

#include <stdlib.h>
#include <string.h>

#define MAX_HEADER_BYTES (100u << 20)
#define MAX_EXACT_INTEGER 9007199254740992.0 /* 2^53: larger doubles skip integers */

static uint64_t header_length(const uint8_t *p)
{
    uint64_t n = 0;
    for (int i = 0; i < 8; i++)
        n |= (uint64_t)p[i] << (8 * i);
    return n;
}

int ls_safetensors_detect(const void *data, size_t len)
{
    const uint8_t *p = data;
    return len > 8 && p[8] == '{' && header_length(p) <= MAX_HEADER_BYTES;
}

static int dtype_from_name(const char *s, ls_dtype *out)
{
    static const struct { const char *name; ls_dtype dtype; } known[] = {
        { "F32", LS_DTYPE_F32 }, { "F16", LS_DTYPE_F16 }, { "BF16", LS_DTYPE_BF16 },
        { "F64", LS_DTYPE_F64 }, { "I64", LS_DTYPE_I64 }, { "I32", LS_DTYPE_I32 },
        { "U8", LS_DTYPE_U8 },
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (strcmp(s, known[i].name) == 0) {
            *out = known[i].dtype;
            return 0;
        }
    }
    return -1;
}

/* A JSON array of at most `max` exact non-negative integers. */
static int integer_array(const ls_json *v, int64_t *out, int max, int *n)
{
    if (!v || v->kind != LS_JSON_ARRAY || v->u.arr.n > (size_t)max)
        return -1;
    for (size_t i = 0; i < v->u.arr.n; i++) {
        const ls_json *e = v->u.arr.items[i];
        if (e->kind != LS_JSON_NUMBER || e->u.n < 0 || e->u.n > MAX_EXACT_INTEGER ||
            e->u.n != (double)(int64_t)e->u.n)
            return -1;
        out[i] = (int64_t)e->u.n;
    }
    *n = (int)v->u.arr.n;
    return 0;
}

typedef struct byte_range {
    int64_t begin, end;
    const char *name;
} byte_range;

static int compare_ranges(const void *a, const void *b)
{
    const byte_range *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

static int check_metadata(const ls_json *meta, const char *what, ls_error *err)
{
    if (meta->kind != LS_JSON_OBJECT)
        return ls_error_set(err, "%s: safetensors: __metadata__ is not an object", what);
    for (size_t i = 0; i < meta->u.obj.n; i++)
        if (meta->u.obj.values[i]->kind != LS_JSON_STRING)
            return ls_error_set(err, "%s: safetensors: __metadata__ '%s' is not a string", what,
                                meta->u.obj.keys[i]);
    return 0;
}

/* Reads one tensor's description; *range gets its byte range. */
static int read_tensor(const char *name, const ls_json *desc, const uint8_t *section, uint64_t section_len,
                       ls_raw_tensor *t, byte_range *range, const char *what, ls_error *err)
{
    const char *dtype;
    ls_error ignored;
    if (!desc || desc->kind != LS_JSON_OBJECT || ls_json_get_string(desc, "dtype", &dtype, &ignored) != 1)
        return ls_error_set(err, "%s: safetensors: tensor '%s' has no dtype", what, name);
    if (dtype_from_name(dtype, &t->dtype) < 0)
        return ls_error_set(err, "%s: safetensors: tensor '%s' has unsupported dtype '%.16s'", what,
                            name, dtype);
    if (integer_array(ls_json_get(desc, "shape"), t->shape, LS_RAW_MAX_DIMS, &t->ndim) < 0)
        return ls_error_set(err, "%s: safetensors: tensor '%s' has a bad shape", what, name);
    int64_t offsets[2];
    int n_offsets = 0;
    if (integer_array(ls_json_get(desc, "data_offsets"), offsets, 2, &n_offsets) < 0 || n_offsets != 2)
        return ls_error_set(err, "%s: safetensors: tensor '%s' has bad data_offsets", what, name);
    if (offsets[0] > offsets[1] || (uint64_t)offsets[1] > section_len)
        return ls_error_set(err, "%s: safetensors: tensor '%s' data_offsets [%lld, %lld] outside the "
                            "%llu-byte data section", what, name, (long long)offsets[0],
                            (long long)offsets[1], (unsigned long long)section_len);
    ls_raw_tensor_set_contiguous(t);
    int64_t numel, span, bytes;
    if (ls_raw_tensor_extent(t, &numel, &span) < 0 ||
        __builtin_mul_overflow(numel, (int64_t)ls_dtype_size(t->dtype), &bytes) ||
        bytes != offsets[1] - offsets[0])
        return ls_error_set(err, "%s: safetensors: tensor '%s' holds %lld bytes, its shape and dtype "
                            "need another size", what, name, (long long)(offsets[1] - offsets[0]));
    t->data = section + offsets[0];
    *range = (byte_range){ offsets[0], offsets[1], name };
    return 0;
}

static int read_tensors(ls_safetensors *st, const uint8_t *section, uint64_t section_len, const char *what,
                        ls_error *err)
{
    const ls_json *h = st->header;
    byte_range *ranges = malloc((h->u.obj.n ? h->u.obj.n : 1) * sizeof *ranges);
    if (!ranges)
        return ls_error_set(err, "%s: out of memory", what);
    size_t n = 0;
    int rc = 0;
    for (size_t i = 0; i < h->u.obj.n && rc == 0; i++) {
        const char *name = h->u.obj.keys[i];
        if (strcmp(name, "__metadata__") == 0) {
            rc = check_metadata(h->u.obj.values[i], what, err);
            continue;
        }
        ls_raw_tensor t = { 0 };
        rc = read_tensor(name, h->u.obj.values[i], section, section_len, &t, &ranges[n], what, err);
        if (rc == 0)
            rc = ls_raw_list_push(&st->tensors, name, &t, err);
        if (rc == 0 && ranges[n].end > ranges[n].begin)
            n++;
    }
    qsort(ranges, n, sizeof *ranges, compare_ranges);
    for (size_t i = 1; i < n && rc == 0; i++)
        if (ranges[i].begin < ranges[i - 1].end)
            rc = ls_error_set(err, "%s: safetensors: tensors '%s' and '%s' overlap", what,
                              ranges[i - 1].name, ranges[i].name);
    free(ranges);
    return rc;
}

int ls_safetensors_open(const void *data, size_t len, const char *what, ls_safetensors *st,
                        ls_error *err)
{
    const uint8_t *p = data;
    memset(st, 0, sizeof *st);
    if (len < 8)
        return ls_error_set(err, "%s: safetensors: file too short", what);
    uint64_t n = header_length(p);
    if (n > len - 8)
        return ls_error_set(err, "%s: safetensors: header length %llu exceeds the file size (truncated?)",
                            what, (unsigned long long)n);
    if (n > MAX_HEADER_BYTES)
        return ls_error_set(err, "%s: safetensors: header length %llu too large", what,
                            (unsigned long long)n);
    if (ls_json_parse((const char *)p + 8, (size_t)n, &st->header, err) < 0)
        return ls_error_prefix(err, "%s: safetensors header", what);
    if (st->header->kind != LS_JSON_OBJECT) {
        ls_safetensors_close(st);
        return ls_error_set(err, "%s: safetensors header is not a JSON object", what);
    }
    if (read_tensors(st, p + 8 + n, len - 8 - n, what, err) < 0) {
        ls_safetensors_close(st);
        return -1;
    }
    return 0;
}

void ls_safetensors_close(ls_safetensors *st)
{
    ls_json_free(st->header);
    ls_raw_list_free(&st->tensors);
    st->header = NULL;
}

const char *ls_safetensors_metadata(const ls_safetensors *st, const char *key)
{
    const ls_json *v = ls_json_get(ls_json_get(st->header, "__metadata__"), key);
    return v && v->kind == LS_JSON_STRING ? v->u.str.s : NULL;
}
