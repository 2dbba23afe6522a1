/*
 * blur.c - separable Gaussian blur: a normalised 1-D kernel applied along
 * rows into a float buffer, then along columns, rounding at the end.
 */
#include "image/blur.h"

#include <math.h>
#include <stdlib.h>

/* Mirror index i into [0, n) without repeating the edge (…2 1 | 0 1 2 … n-1 | n-2 …). */
static int reflect101(int i, int n)
{
    if (n == 1)
        return 0;
    while (i < 0 || i >= n) {
        if (i < 0)
            i = -i;
        if (i >= n)
            i = 2 * (n - 1) - i;
    }
    return i;
}

static void make_kernel(int ksize, float *k)
{
    /* OpenCV uses fixed binomial-like kernels for sizes up to 7 when sigma is 0. */
    static const float small[4][7] = {
        { 1.f },
        { 0.25f, 0.5f, 0.25f },
        { 0.0625f, 0.25f, 0.375f, 0.25f, 0.0625f },
        { 0.03125f, 0.109375f, 0.21875f, 0.28125f, 0.21875f, 0.109375f, 0.03125f },
    };
    if (ksize <= 7) {
        for (int i = 0; i < ksize; i++)
            k[i] = small[ksize / 2][i];
        return;
    }
    double sigma = 0.3 * ((ksize - 1) * 0.5 - 1) + 0.8;
    int r = ksize / 2;
    double sum = 0;
    for (int i = 0; i < ksize; i++) {
        double d = i - r;
        k[i] = (float)exp(-d * d / (2 * sigma * sigma));
        sum += k[i];
    }
    for (int i = 0; i < ksize; i++)
        k[i] = (float)(k[i] / sum);
}

int ls_gaussian_blur(ls_image *img, int ksize, ls_error *err)
{
    if (ksize < 1 || ksize % 2 == 0 || img->channels != 1)
        return ls_error_set(err, "gaussian blur: kernel %d must be odd on a grey image", ksize);
    if (ksize == 1)
        return 0;
    int w = img->width, h = img->height, r = ksize / 2;
    float *kernel = malloc(sizeof(float) * (size_t)ksize);
    float *rows = malloc(sizeof(float) * (size_t)w * h);
    int *column_of = malloc(sizeof(int) * (size_t)(w + 2 * r));
    if (!kernel || !rows || !column_of) {
        free(kernel);
        free(rows);
        free(column_of);
        return ls_error_set(err, "gaussian blur: out of memory");
    }
    make_kernel(ksize, kernel);
    for (int i = 0; i < w + 2 * r; i++)
        column_of[i] = reflect101(i - r, w);
    for (int y = 0; y < h; y++) {
        const uint8_t *src = ls_image_row(img, y);
        float *dst = rows + (size_t)y * w;
        for (int x = 0; x < w; x++) {
            float acc = 0;
            for (int i = 0; i < ksize; i++)
                acc += kernel[i] * src[column_of[x + i]];
            dst[x] = acc;
        }
    }
    for (int y = 0; y < h; y++) {
        uint8_t *dst = ls_image_row(img, y);
        for (int x = 0; x < w; x++) {
            float acc = 0;
            for (int i = 0; i < ksize; i++)
                acc += kernel[i] * rows[(size_t)reflect101(y + i - r, h) * w + x];
            dst[x] = (uint8_t)lrintf(fminf(fmaxf(acc, 0.f), 255.f));
        }
    }
    free(kernel);
    free(rows);
    free(column_of);
    return 0;
}
