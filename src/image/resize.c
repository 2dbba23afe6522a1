/*
 * resize.c - separable fixed-point resampling (bilinear, Lanczos-4).
 *
 * For each output column and row we precompute K source indices (clamped
 * to the image: edge replication) and K weights scaled by 2^11 and rounded
 * to int16, each weight rounded on its own as OpenCV does. The horizontal
 * pass turns a source row into int32 sums (scale 2^11); the last K of those
 * rows are kept in a ring, tagged by source row, so each source row is
 * filtered at most once. The vertical pass combines K ring rows with the
 * row weights and shifts by 22 bits with rounding.
 *
 * Bilinear vertical rounding follows OpenCV's vectorised path, which drops
 * 4 bits of each row sum before multiplying: ((s0>>4)*b0 >> 16) +
 * ((s1>>4)*b1 >> 16) rounded by 2 bits. Bilinear source positions outside
 * the image snap to the edge pixel with weight 1 (as cv2 does); Lanczos
 * positions keep their fraction and read replicated edge pixels.
 */
#include "image/resize.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#define WEIGHT_BITS 11
#define WEIGHT_ONE (1 << WEIGHT_BITS)

typedef struct taps {
    int k;           /* taps per output sample: 2 or 8 */
    int *index;      /* (n, k) source indices, clamped */
    int16_t *weight; /* (n, k) weights scaled by 2^11 */
} taps;

static int16_t fixed_weight(double w)
{
    return (int16_t)lrint(w * WEIGHT_ONE);
}

/* Lanczos window of order 4 at distance d, not normalised. */
static double lanczos4(double d)
{
    if (fabs(d) < 1e-6)
        return 1.0;
    double a = M_PI * d;
    return 4.0 * sin(a) * sin(a / 4.0) / (a * a);
}

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static int make_taps(int src_n, int dst_n, ls_interp interp, taps *t)
{
    t->k = interp == LS_INTERP_LANCZOS4 ? 8 : 2;
    t->index = malloc(sizeof(int) * (size_t)dst_n * t->k);
    t->weight = malloc(sizeof(int16_t) * (size_t)dst_n * t->k);
    if (!t->index || !t->weight)
        return -1;
    double scale = (double)src_n / dst_n;
    for (int d = 0; d < dst_n; d++) {
        float pos = (float)((d + 0.5) * scale - 0.5);
        int s = (int)floorf(pos);
        float frac = pos - (float)s;
        int *idx = t->index + (size_t)d * t->k;
        int16_t *w = t->weight + (size_t)d * t->k;
        if (interp == LS_INTERP_BILINEAR) {
            if (s < 0)
                s = 0, frac = 0;
            if (s >= src_n - 1)
                s = src_n - 1, frac = 0;
            idx[0] = s;
            idx[1] = clampi(s + 1, 0, src_n - 1);
            w[0] = fixed_weight(1.0f - frac);
            w[1] = fixed_weight(frac);
        } else {
            double raw[8], sum = 0;
            for (int i = 0; i < 8; i++) {
                raw[i] = lanczos4((double)frac + 3 - i);
                sum += raw[i];
            }
            for (int i = 0; i < 8; i++) {
                idx[i] = clampi(s - 3 + i, 0, src_n - 1);
                w[i] = fixed_weight(raw[i] / sum);
            }
        }
    }
    return 0;
}

static void free_taps(taps *t)
{
    free(t->index);
    free(t->weight);
}

static void filter_row(const uint8_t *src, int channels, const taps *h, int dst_w, int32_t *out)
{
    for (int x = 0; x < dst_w; x++) {
        const int *idx = h->index + (size_t)x * h->k;
        const int16_t *w = h->weight + (size_t)x * h->k;
        for (int c = 0; c < channels; c++) {
            int32_t acc = 0;
            for (int i = 0; i < h->k; i++)
                acc += src[idx[i] * channels + c] * w[i];
            out[x * channels + c] = acc;
        }
    }
}

static uint8_t saturate_u8(int32_t v)
{
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

static void combine_rows_bilinear(int32_t *const *rows, const int16_t *w, int n, uint8_t *out)
{
    for (int i = 0; i < n; i++) {
        int32_t v = (((rows[0][i] >> 4) * w[0]) >> 16) + (((rows[1][i] >> 4) * w[1]) >> 16);
        out[i] = saturate_u8((v + 2) >> 2);
    }
}

static void combine_rows(int32_t *const *rows, const int16_t *w, int k, int n, uint8_t *out)
{
    for (int i = 0; i < n; i++) {
        int64_t v = 0;
        for (int j = 0; j < k; j++)
            v += (int64_t)rows[j][i] * w[j];
        out[i] = saturate_u8((int32_t)((v + (1 << 21)) >> 22));
    }
}

int ls_resize(const ls_image *src, ls_image *dst, ls_interp interp, ls_error *err)
{
    taps h = { 0 }, v = { 0 };
    int row_len = dst->width * dst->channels;
    int32_t *ring = NULL;
    int ring_tag[8];
    int rc = -1;
    if (make_taps(src->width, dst->width, interp, &h) ||
        make_taps(src->height, dst->height, interp, &v))
        goto done;
    ring = malloc(sizeof(int32_t) * (size_t)row_len * v.k);
    if (!ring)
        goto done;
    for (int i = 0; i < v.k; i++)
        ring_tag[i] = -1;
    for (int y = 0; y < dst->height; y++) {
        int32_t *rows[8];
        for (int j = 0; j < v.k; j++) {
            int sy = v.index[(size_t)y * v.k + j];
            int slot = sy % v.k;
            rows[j] = ring + (size_t)slot * row_len;
            if (ring_tag[slot] != sy) {
                filter_row(ls_image_row(src, sy), src->channels, &h, dst->width, rows[j]);
                ring_tag[slot] = sy;
            }
        }
        const int16_t *w = v.weight + (size_t)y * v.k;
        if (interp == LS_INTERP_BILINEAR)
            combine_rows_bilinear(rows, w, row_len, ls_image_row(dst, y));
        else
            combine_rows(rows, w, v.k, row_len, ls_image_row(dst, y));
    }
    rc = 0;
done:
    free(ring);
    free_taps(&h);
    free_taps(&v);
    return rc ? ls_error_set(err, "resize: out of memory") : 0;
}
