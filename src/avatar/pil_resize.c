/*
 * pil_resize.c - Pillow's two-pass resampler (see pil_resize.h).
 *
 * For each output position a tap table holds the first source index, the
 * tap count and the weights: the filter centred on the output pixel's
 * centre in source coordinates, stretched by the scale when shrinking,
 * clipped to the image, normalised to sum 1, then rounded half away from
 * zero to 22-bit fixed point. A pass adds 2^21 for rounding, sums the taps
 * and clips the result to 0..255.
 */
#include "avatar/pil_resize.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PRECISION_BITS 22
#define CUBIC_A (-0.5)

typedef struct taps {
    int ksize;
    int *first, *count;   /* (out) */
    int32_t *weight;      /* (out, ksize) */
} taps;

static double filter_support(ls_pil_filter f)
{
    return f == LS_PIL_BICUBIC ? 2.0 : 1.0;
}

static double filter_value(ls_pil_filter f, double x)
{
    x = fabs(x);
    if (f == LS_PIL_BILINEAR)
        return x < 1.0 ? 1.0 - x : 0.0;
    if (x < 1.0)
        return ((CUBIC_A + 2.0) * x - (CUBIC_A + 3.0)) * x * x + 1;
    if (x < 2.0)
        return (((x - 5) * x + 8) * x - 4) * CUBIC_A;
    return 0.0;
}

static void taps_free(taps *t)
{
    free(t->first);
    free(t->count);
    free(t->weight);
}

static int taps_make(int in_size, int out_size, ls_pil_filter f, taps *t, ls_error *err)
{
    double scale = (double)in_size / out_size, filterscale = scale < 1.0 ? 1.0 : scale;
    double support = filter_support(f) * filterscale;
    t->ksize = (int)ceil(support) * 2 + 1;
    t->first = malloc(sizeof *t->first * (size_t)out_size);
    t->count = malloc(sizeof *t->count * (size_t)out_size);
    t->weight = calloc((size_t)out_size * t->ksize, sizeof *t->weight);
    double *w = malloc(sizeof *w * (size_t)t->ksize);
    if (!t->first || !t->count || !t->weight || !w) {
        free(w);
        taps_free(t);
        return ls_error_set(err, "out of memory");
    }
    for (int o = 0; o < out_size; o++) {
        double center = (o + 0.5) * scale, sum = 0.0;
        int lo = (int)(center - support + 0.5), hi = (int)(center + support + 0.5);
        lo = lo < 0 ? 0 : lo;
        hi = hi > in_size ? in_size : hi;
        int n = hi - lo;
        for (int i = 0; i < n; i++) {
            w[i] = filter_value(f, (i + lo - center + 0.5) / filterscale);
            sum += w[i];
        }
        int32_t *k = t->weight + (size_t)o * t->ksize;
        for (int i = 0; i < n; i++) {
            double v = sum != 0.0 ? w[i] / sum : w[i];
            k[i] = (int32_t)(v < 0 ? -0.5 + v * (1 << PRECISION_BITS) : 0.5 + v * (1 << PRECISION_BITS));
        }
        t->first[o] = lo;
        t->count[o] = n;
    }
    free(w);
    return 0;
}

static uint8_t clip8(int64_t v)
{
    if (v >= (int64_t)255 << PRECISION_BITS)
        return 255;
    return v <= 0 ? 0 : (uint8_t)(v >> PRECISION_BITS);
}

/* dst (dst.width x src.height) = src resampled along x. */
static void pass_horizontal(const ls_image *src, ls_image *dst, const taps *t)
{
    int ch = src->channels;
    for (int y = 0; y < src->height; y++) {
        const uint8_t *in = ls_image_row(src, y);
        uint8_t *out = ls_image_row(dst, y);
        for (int x = 0; x < dst->width; x++) {
            const int32_t *k = t->weight + (size_t)x * t->ksize;
            const uint8_t *p = in + (size_t)t->first[x] * ch;
            for (int c = 0; c < ch; c++) {
                int64_t sum = 1 << (PRECISION_BITS - 1);
                for (int i = 0; i < t->count[x]; i++)
                    sum += (int64_t)p[i * ch + c] * k[i];
                out[x * ch + c] = clip8(sum);
            }
        }
    }
}

/* dst (src.width x dst.height) = src resampled along y. */
static void pass_vertical(const ls_image *src, ls_image *dst, const taps *t)
{
    size_t row = (size_t)src->width * src->channels;
    for (int y = 0; y < dst->height; y++) {
        const int32_t *k = t->weight + (size_t)y * t->ksize;
        const uint8_t *in = ls_image_row(src, t->first[y]);
        uint8_t *out = ls_image_row(dst, y);
        for (size_t x = 0; x < row; x++) {
            int64_t sum = 1 << (PRECISION_BITS - 1);
            for (int i = 0; i < t->count[y]; i++)
                sum += (int64_t)in[i * row + x] * k[i];
            out[x] = clip8(sum);
        }
    }
}

int ls_pil_resize(const ls_image *src, ls_image *dst, ls_pil_filter filter, ls_error *err)
{
    int horizontal = dst->width != src->width, vertical = dst->height != src->height;
    if (!horizontal && !vertical) {
        memcpy(dst->data, src->data, (size_t)src->width * src->height * src->channels);
        return 0;
    }
    taps tx = { 0 }, ty = { 0 };
    ls_image mid = { 0 };
    int rc = -1;
    if ((horizontal && taps_make(src->width, dst->width, filter, &tx, err)) ||
        (vertical && taps_make(src->height, dst->height, filter, &ty, err)))
        goto done;
    if (!vertical) {
        pass_horizontal(src, dst, &tx);
    } else if (!horizontal) {
        pass_vertical(src, dst, &ty);
    } else {
        if (ls_image_alloc(&mid, dst->width, src->height, src->channels, err))
            goto done;
        pass_horizontal(src, &mid, &tx);
        pass_vertical(&mid, dst, &ty);
    }
    rc = 0;
done:
    ls_image_free(&mid);
    taps_free(&tx);
    taps_free(&ty);
    return rc;
}
