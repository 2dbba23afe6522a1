/*
 * bench_blend.c - time of the paste-back blend on a 1080p frame, one thread.
 *
 * Usage: bench_blend [RUNS]. A random 1920x1080 BGR frame, a random 256x256
 * face and a blurred-ellipse-like mask; the face box is 256x256 (no scaling)
 * and then 384x384 (upscaled, a close-up avatar), crop boxes 1.5x as
 * LiveTalking makes them. Prints the median and the 10th/90th percentiles
 * in milliseconds of ls_blend_face (resize + blend) over RUNS runs.
 */
#include <stdio.h>
#include <stdlib.h>

#include "avatar/blend.h"
#include "bench_clock.h"

static void fill_random(ls_image *img, unsigned seed)
{
    int64_t n = (int64_t)img->width * img->height * img->channels;
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        img->data[i] = (uint8_t)(seed >> 24);
    }
}

static int bench(int side, int runs)
{
    ls_error err;
    ls_image frame, face, mask;
    int half = side * 3 / 4;
    ls_box face_box = { 960 - side / 2, 400 - side / 2, 960 - side / 2 + side, 400 - side / 2 + side };
    ls_box crop_box = { 960 - half, 400 - half, 960 + half, 400 + half };
    if (ls_image_alloc(&frame, 1920, 1080, 3, &err) || ls_image_alloc(&face, 256, 256, 3, &err) ||
        ls_image_alloc(&mask, 2 * half, 2 * half, 1, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    fill_random(&frame, 1);
    fill_random(&face, 2);
    for (int y = 0; y < mask.height; y++)
        for (int x = 0; x < mask.width; x++)
            mask.data[y * mask.width + x] = y < half ? 0 : (uint8_t)(x * 255 / mask.width);
    double *ms = malloc(sizeof(double) * (size_t)runs);
    for (int i = 0; i < runs; i++) {
        double t0 = bench_seconds();
        if (ls_blend_face(&frame, &face, face_box, &mask, crop_box, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        ms[i] = (bench_seconds() - t0) * 1e3;
    }
    bench_sort_times(ms, (size_t)runs);
    printf("blend 1920x1080, face 256x256 -> box %dx%d, crop %dx%d: median %.3f ms "
           "(p10 %.3f, p90 %.3f, %d runs)\n",
           side, side, 2 * half, 2 * half, ms[runs / 2], ms[runs / 10], ms[runs * 9 / 10], runs);
    free(ms);
    ls_image_free(&frame);
    ls_image_free(&face);
    ls_image_free(&mask);
    return 0;
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 300;
    if (runs < 10)
        runs = 10;
    return bench(256, runs) || bench(384, runs);
}
