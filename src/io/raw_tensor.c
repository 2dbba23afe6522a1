/*
 * raw_tensor.c - extents, contiguity and fp32 conversion of stored tensors.
 *
 * Conversion walks the tensor in row-major order with an index counter per
 * dimension, so any non-negative strides (transposes, slices, broadcasts)
 * are handled by one loop; the innermost dimension is a tight loop over a
 * per-dtype element loader. Loads go through memcpy because mapped data is
 * only byte-aligned in general. The host is assumed little-endian, like the
 * files.
 */
#include "io/raw_tensor.h"

#include <stdlib.h>
#include <string.h>

int ls_raw_list_push(ls_raw_list *list, const char *name, const ls_raw_tensor *t, ls_error *err)
{
    if (list->n == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 64;
        ls_raw_tensor *bigger = realloc(list->items, cap * sizeof *bigger);
        if (!bigger)
            return ls_error_set(err, "out of memory");
        list->items = bigger;
        list->cap = cap;
    }
    char *copy = strdup(name);
    if (!copy)
        return ls_error_set(err, "out of memory");
    list->items[list->n] = *t;
    list->items[list->n].name = copy;
    list->n++;
    return 0;
}

void ls_raw_list_free(ls_raw_list *list)
{
    for (size_t i = 0; i < list->n; i++)
        free(list->items[i].name);
    free(list->items);
    *list = (ls_raw_list){ 0 };
}

int ls_raw_tensor_extent(const ls_raw_tensor *t, int64_t *numel, int64_t *span)
{
    int64_t n = 1, last = 0;
    if (t->ndim < 0 || t->ndim > LS_RAW_MAX_DIMS)
        return -1;
    for (int i = 0; i < t->ndim; i++) {
        if (t->shape[i] < 0 || t->stride[i] < 0)
            return -1;
        if (__builtin_mul_overflow(n, t->shape[i], &n))
            return -1;
        int64_t reach;
        if (t->shape[i] > 0 && (__builtin_mul_overflow(t->shape[i] - 1, t->stride[i], &reach) ||
                                __builtin_add_overflow(last, reach, &last)))
            return -1;
    }
    *numel = n;
    *span = n == 0 ? 0 : last + 1;
    return 0;
}

void ls_raw_tensor_set_contiguous(ls_raw_tensor *t)
{
    int64_t s = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        t->stride[i] = s;
        s *= t->shape[i];
    }
}

int ls_raw_tensor_is_contiguous(const ls_raw_tensor *t)
{
    int64_t s = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        if (t->shape[i] != 1 && t->stride[i] != s)
            return 0;
        s *= t->shape[i];
    }
    return 1;
}

int ls_dtype_is_float(ls_dtype t)
{
    return t == LS_DTYPE_F32 || t == LS_DTYPE_F16 || t == LS_DTYPE_BF16 || t == LS_DTYPE_F64;
}

float ls_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exponent = (h >> 10) & 0x1F;
    uint32_t mantissa = h & 0x3FF;
    uint32_t bits;
    if (exponent == 0x1F) {            /* inf, nan */
        bits = sign | 0x7F800000u | (mantissa << 13);
    } else if (exponent != 0) {        /* normal */
        bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
    } else if (mantissa == 0) {        /* zero */
        bits = sign;
    } else {                           /* subnormal: normalise */
        int e = 113;
        while (!(mantissa & 0x400)) {
            mantissa <<= 1;
            e--;
        }
        bits = sign | ((uint32_t)e << 23) | ((mantissa & 0x3FF) << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Converts `n` elements spaced `stride` elements apart. */
static void convert_row(ls_dtype dtype, const uint8_t *src, int64_t stride, int64_t n, float *dst)
{
    switch (dtype) {
    case LS_DTYPE_F32:
        if (stride == 1) {
            memcpy(dst, src, (size_t)n * sizeof(float));
            return;
        }
        for (int64_t i = 0; i < n; i++)
            memcpy(&dst[i], src + i * stride * 4, sizeof(float));
        return;
    case LS_DTYPE_F16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, src + i * stride * 2, sizeof h);
            dst[i] = ls_half_to_float(h);
        }
        return;
    case LS_DTYPE_BF16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, src + i * stride * 2, sizeof h);
            uint32_t bits = (uint32_t)h << 16;
            memcpy(&dst[i], &bits, sizeof(float));
        }
        return;
    case LS_DTYPE_F64:
        for (int64_t i = 0; i < n; i++) {
            double d;
            memcpy(&d, src + i * stride * 8, sizeof d);
            dst[i] = (float)d;
        }
        return;
    default:
        return; /* integer dtypes are rejected before conversion */
    }
}

void ls_raw_tensor_to_f32(const ls_raw_tensor *t, float *dst)
{
    int64_t numel, span;
    if (ls_raw_tensor_extent(t, &numel, &span) < 0 || numel == 0)
        return;
    if (t->ndim == 0) {
        convert_row(t->dtype, t->data, 1, 1, dst);
        return;
    }
    size_t esize = ls_dtype_size(t->dtype);
    int last = t->ndim - 1;
    int64_t row = t->shape[last];
    int64_t index[LS_RAW_MAX_DIMS] = { 0 };
    for (int64_t done = 0; done < numel; done += row) {
        int64_t offset = 0;
        for (int i = 0; i < last; i++)
            offset += index[i] * t->stride[i];
        convert_row(t->dtype, t->data + (size_t)offset * esize, t->stride[last], row, dst + done);
        for (int i = last - 1; i >= 0; i--) {
            if (++index[i] < t->shape[i])
                break;
            index[i] = 0;
        }
    }
}
