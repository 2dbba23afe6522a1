/*
 * npy.c - NumPy .npy reader and writer (see npy.h).
 *
 * A .npy file is the magic "\x93NUMPY", a version (1.0: 16-bit header
 * length; 2.0 and 3.0: 32-bit), then a Python dict literal such as
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 * padded with spaces and a newline, then the raw array data. The header is
 * read with a small parser for exactly that literal grammar (quoted keys;
 * string, boolean and integer-tuple values). The data must be exactly
 * numel * itemsize bytes; '<f2' and '<f8' data is converted to fp32.
 */
#include "io/npy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/raw_tensor.h"

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAX_HEADER (1u << 20)

typedef struct npy_header {
    ls_dtype dtype;
    int have_descr, have_order, have_shape;
    int fortran;
    int ndim;
    int64_t shape[NN_MAX_DIMS];
} npy_header;

typedef struct header_cursor {
    const char *s;
    size_t len, pos;
} header_cursor;

static void skip_spaces(header_cursor *c)
{
    while (c->pos < c->len && (c->s[c->pos] == ' ' || c->s[c->pos] == '\n'))
        c->pos++;
}

static int accept(header_cursor *c, char ch)
{
    skip_spaces(c);
    if (c->pos < c->len && c->s[c->pos] == ch) {
        c->pos++;
        return 1;
    }
    return 0;
}

/* A quoted Python string without escapes, located by start and n. */
static int quoted(header_cursor *c, const char **start, size_t *n)
{
    skip_spaces(c);
    if (c->pos >= c->len || (c->s[c->pos] != '\'' && c->s[c->pos] != '"'))
        return -1;
    char q = c->s[c->pos++];
    size_t from = c->pos;
    while (c->pos < c->len && c->s[c->pos] != q) {
        if (c->s[c->pos] == '\\')
            return -1;
        c->pos++;
    }
    if (c->pos >= c->len)
        return -1;
    *start = c->s + from;
    *n = c->pos - from;
    c->pos++;
    return 0;
}

static int word(header_cursor *c, const char *w)
{
    skip_spaces(c);
    size_t n = strlen(w);
    if (c->len - c->pos >= n && memcmp(c->s + c->pos, w, n) == 0) {
        c->pos += n;
        return 1;
    }
    return 0;
}

static int parse_shape(header_cursor *c, npy_header *h, const char *path, ls_error *err)
{
    if (!accept(c, '('))
        return ls_error_set(err, "%s: npy header: shape is not a tuple", path);
    h->ndim = 0;
    while (!accept(c, ')')) {
        skip_spaces(c);
        int64_t v = 0;
        size_t digits = 0;
        while (c->pos < c->len && c->s[c->pos] >= '0' && c->s[c->pos] <= '9') {
            if (v > (INT64_MAX - 9) / 10)
                return ls_error_set(err, "%s: npy header: dimension too large", path);
            v = v * 10 + (c->s[c->pos++] - '0');
            digits++;
        }
        if (!digits)
            return ls_error_set(err, "%s: npy header: bad shape", path);
        if (h->ndim == NN_MAX_DIMS)
            return ls_error_set(err, "%s: npy: more than %d dimensions", path, NN_MAX_DIMS);
        h->shape[h->ndim++] = v;
        if (!accept(c, ',')) {
            if (!accept(c, ')'))
                return ls_error_set(err, "%s: npy header: bad shape", path);
            break;
        }
    }
    return 0;
}

static int parse_descr(const char *s, size_t n, npy_header *h, const char *path, ls_error *err)
{
    static const struct { const char *descr; ls_dtype dtype; } known[] = {
        { "<f4", LS_DTYPE_F32 }, { "<f2", LS_DTYPE_F16 }, { "<f8", LS_DTYPE_F64 },
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (n == 3 && memcmp(s, known[i].descr, 3) == 0) {
            h->dtype = known[i].dtype;
            return 0;
        }
    }
    return ls_error_set(err, "%s: npy: dtype '%.*s' not supported (float16/32/64 little-endian only)",
                        path, (int)(n > 32 ? 32 : n), s);
}

static int parse_header(const char *text, size_t len, npy_header *h, const char *path, ls_error *err)
{
    header_cursor c = { text, len, 0 };
    memset(h, 0, sizeof *h);
    if (!accept(&c, '{'))
        return ls_error_set(err, "%s: npy header is not a dict", path);
    while (!accept(&c, '}')) {
        const char *key, *value;
        size_t key_len, value_len;
        if (quoted(&c, &key, &key_len) < 0 || !accept(&c, ':'))
            return ls_error_set(err, "%s: npy header: key expected", path);
        if (key_len == 5 && memcmp(key, "descr", 5) == 0) {
            if (quoted(&c, &value, &value_len) < 0)
                return ls_error_set(err, "%s: npy header: descr is not a string", path);
            if (parse_descr(value, value_len, h, path, err) < 0)
                return -1;
            h->have_descr = 1;
        } else if (key_len == 13 && memcmp(key, "fortran_order", 13) == 0) {
            if (word(&c, "True"))
                h->fortran = 1;
            else if (!word(&c, "False"))
                return ls_error_set(err, "%s: npy header: fortran_order is not a boolean", path);
            h->have_order = 1;
        } else if (key_len == 5 && memcmp(key, "shape", 5) == 0) {
            if (parse_shape(&c, h, path, err) < 0)
                return -1;
            h->have_shape = 1;
        } else {
            return ls_error_set(err, "%s: npy header: unknown key '%.*s'", path,
                                (int)(key_len > 32 ? 32 : key_len), key);
        }
        if (!accept(&c, ',')) {
            if (!accept(&c, '}'))
                return ls_error_set(err, "%s: npy header: ',' or '}' expected", path);
            break;
        }
    }
    skip_spaces(&c);
    if (c.pos != c.len)
        return ls_error_set(err, "%s: npy header: trailing characters", path);
    if (!h->have_descr || !h->have_order || !h->have_shape)
        return ls_error_set(err, "%s: npy header lacks descr, fortran_order or shape", path);
    if (h->fortran && h->ndim > 1)
        return ls_error_set(err, "%s: npy: Fortran-order arrays are not supported", path);
    return 0;
}

/* Reads the magic, version and header text; leaves f at the data. */
static int read_header(FILE *f, npy_header *h, const char *path, ls_error *err)
{
    unsigned char pre[12];
    if (fread(pre, 1, 8, f) != 8 || memcmp(pre, NPY_MAGIC, 6) != 0)
        return ls_error_set(err, "%s: not a .npy file (bad magic)", path);
    uint32_t header_len;
    if (pre[6] == 1 && pre[7] == 0) {
        if (fread(pre + 8, 1, 2, f) != 2)
            return ls_error_set(err, "%s: npy: truncated header", path);
        header_len = pre[8] | (uint32_t)pre[9] << 8;
    } else if ((pre[6] == 2 || pre[6] == 3) && pre[7] == 0) {
        if (fread(pre + 8, 1, 4, f) != 4)
            return ls_error_set(err, "%s: npy: truncated header", path);
        header_len = pre[8] | (uint32_t)pre[9] << 8 | (uint32_t)pre[10] << 16 | (uint32_t)pre[11] << 24;
    } else {
        return ls_error_set(err, "%s: npy: unsupported format version %d.%d", path, pre[6], pre[7]);
    }
    if (header_len > NPY_MAX_HEADER)
        return ls_error_set(err, "%s: npy: header length %u too large", path, header_len);
    char *text = malloc(header_len ? header_len : 1);
    if (!text)
        return ls_error_set(err, "%s: out of memory", path);
    int rc = 0;
    if (fread(text, 1, header_len, f) != header_len)
        rc = ls_error_set(err, "%s: npy: truncated header", path);
    else
        rc = parse_header(text, header_len, h, path, err);
    free(text);
    return rc;
}

/* Bytes left in f after the current position. */
static int bytes_left(FILE *f, uint64_t *left)
{
    struct stat st;
    long at = ftell(f);
    if (at < 0 || fstat(fileno(f), &st) < 0 || st.st_size < at)
        return -1;
    *left = (uint64_t)(st.st_size - at);
    return 0;
}

/* Reads the array data after the header: exactly numel * itemsize bytes
 * must remain, which is checked before anything is allocated. */
static int read_data(FILE *f, const npy_header *h, float **out, const char *path, ls_error *err)
{
    ls_raw_tensor rt = { .dtype = h->dtype, .ndim = h->ndim };
    memcpy(rt.shape, h->shape, sizeof h->shape);
    ls_raw_tensor_set_contiguous(&rt);
    int64_t numel, span;
    uint64_t bytes, left;
    if (ls_raw_tensor_extent(&rt, &numel, &span) < 0 ||
        __builtin_mul_overflow((uint64_t)numel, (uint64_t)ls_dtype_size(h->dtype), &bytes))
        return ls_error_set(err, "%s: npy: shape too large", path);
    if (bytes_left(f, &left) < 0)
        return ls_error_set(err, "%s: npy: cannot tell the file size", path);
    if (left != bytes)
        return ls_error_set(err, "%s: npy: %s (the shape needs %llu data bytes, the file has %llu)", path,
                            left < bytes ? "data truncated" : "more data than the shape needs",
                            (unsigned long long)bytes, (unsigned long long)left);
    uint8_t *raw = malloc(bytes ? bytes : 1);
    float *data = h->dtype == LS_DTYPE_F32 ? (float *)raw : malloc(numel ? (size_t)numel * sizeof(float) : 1);
    int rc = 0;
    if (!raw || !data)
        rc = ls_error_set(err, "%s: out of memory", path);
    else if (fread(raw, 1, bytes, f) != bytes)
        rc = ls_error_set(err, "%s: npy: read error", path);
    if (data != (float *)raw) {
        if (rc == 0) {
            rt.data = raw;
            ls_raw_tensor_to_f32(&rt, data);
        }
        free(raw);
    }
    if (rc < 0) {
        free(data);
        return -1;
    }
    *out = data;
    return 0;
}

int ls_npy_read(const char *path, nn_tensor *t, ls_error *err)
{
    memset(t, 0, sizeof *t);
    FILE *f = fopen(path, "rb");
    if (!f)
        return ls_error_set(err, "%s: cannot open: %s", path, strerror(errno));
    npy_header h = { 0 };
    float *data = NULL;
    int rc = read_header(f, &h, path, err);
    if (rc == 0)
        rc = read_data(f, &h, &data, path, err);
    fclose(f);
    if (rc < 0)
        return -1;
    t->data = data;
    t->ndim = h.ndim;
    memcpy(t->shape, h.shape, sizeof t->shape);
    return 0;
}

int ls_npy_write(const char *path, const nn_tensor *t, ls_error *err)
{
    if (t->ndim < 0 || t->ndim > NN_MAX_DIMS)
        return ls_error_set(err, "%s: npy: cannot write a tensor of %d dimensions", path, t->ndim);
    char dict[160];
    int n = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (int i = 0; i < t->ndim; i++)
        n += snprintf(dict + n, sizeof dict - n, "%lld,%s", (long long)t->shape[i],
                      i + 1 < t->ndim ? " " : "");
    if (t->ndim > 1)
        n--; /* "(2, 3)" rather than "(2, 3,)"; one-element tuples keep the comma */
    n += snprintf(dict + n, sizeof dict - n, "), }");
    /* Pad with spaces so that magic + version + length + header is a multiple of 64. */
    size_t total = 10 + (size_t)n + 1;
    size_t padded = (total + 63) / 64 * 64;
    size_t header_len = padded - 10;
    unsigned char pre[10] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(header_len & 0xFF),
                              (unsigned char)(header_len >> 8) };
    FILE *f = fopen(path, "wb");
    if (!f)
        return ls_error_set(err, "%s: cannot create: %s", path, strerror(errno));
    int ok = fwrite(pre, 1, sizeof pre, f) == sizeof pre && fwrite(dict, 1, (size_t)n, f) == (size_t)n;
    for (size_t i = (size_t)n; ok && i + 1 < header_len; i++)
        ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF;
    size_t count = (size_t)nn_numel(t);
    ok = ok && fwrite(t->data, sizeof(float), count, f) == count;
    if (fclose(f) != 0)
        ok = 0;
    if (!ok)
        return ls_error_set(err, "%s: write error: %s", path, strerror(errno));
    return 0;
}
