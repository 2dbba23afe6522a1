/*
 * avatar.c - avatar loading (layout detection), checks shared by both
 * layouts, frame decoding, and the small accessors of avatar.h.
 */
#include "avatar/avatar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "avatar/avatar_device.h"
#include "avatar/avatar_internal.h"
#include "image/image_io.h"

static int file_exists(const char *dir, const char *name)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0;
}

int ls_avatar_load(const char *dir, ls_avatar **out, ls_error *err)
{
    *out = NULL;
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return ls_error_set(err, "%s: avatar folder not found", dir);
    if (file_exists(dir, LS_AVATAR_MANIFEST))
        return avatar_load_lipstream(out, dir, err);
    if (file_exists(dir, "full_imgs") || file_exists(dir, "coords.pkl"))
        return avatar_load_livetalking(out, dir, err);
    return ls_error_set(err, "%s: not an avatar folder (no %s, no full_imgs/ + coords.pkl)", dir,
                        LS_AVATAR_MANIFEST);
}

ls_avatar *avatar_new(const char *dir, ls_avatar_format format, int nframes, ls_error *err)
{
    ls_avatar *a = calloc(1, sizeof *a);
    if (a) {
        a->dir = strdup(dir);
        a->frames = calloc((size_t)(nframes > 0 ? nframes : 1), sizeof *a->frames);
    }
    if (!a || !a->dir || !a->frames) {
        ls_avatar_free(a);
        ls_error_set(err, "%s: out of memory", dir);
        return NULL;
    }
    a->format = format;
    a->nframes = nframes;
    a->fps = 25;
    strcpy(a->version, "v15");
    strcpy(a->mask_kind, "unknown");
    return a;
}

void ls_avatar_free(ls_avatar *a)
{
    if (!a)
        return;
    for (int i = 0; a->frames && i < a->nframes; i++) {
        ls_image_free(&a->frames[i].image);
        ls_image_free(&a->frames[i].mask);
        free(a->frames[i].image_file);
        free(a->frames[i].mask_file);
    }
    free(a->frames);
    free(a->latents);
    ls_avatar_device_free(a->device);
    free(a->dir);
    free(a->id);
    free(a);
}

int avatar_read_images(ls_avatar *a, char *const *image_paths, char *const *mask_paths,
                       ls_error *err)
{
    int failed = -1;   /* lowest failing frame */
    ls_error first = { 0 };
#pragma omp parallel for schedule(dynamic)
    for (int i = 0; i < a->nframes; i++) {
        ls_error e;
        ls_avatar_frame *f = &a->frames[i];
        int rc = ls_image_read(image_paths[i], 3, &f->image, &e);
        if (rc == 0 && ls_avatar_has_face(f))
            rc = ls_image_read(mask_paths[i], 1, &f->mask, &e);
        if (rc) {
#pragma omp critical(avatar_read_error)
            if (failed < 0 || i < failed) {
                failed = i;
                first = e;
            }
        }
    }
    if (failed >= 0) {
        *err = first;
        return ls_error_prefix(err, "frame %d", failed);
    }
    return 0;
}

/* Cuts frame f's crop box (and its mask) to the frame. */
static int clip_crop_to_frame(ls_avatar_frame *f, int index, ls_error *err)
{
    ls_box c = f->crop;
    ls_box cut = { c.x1 < 0 ? 0 : c.x1, c.y1 < 0 ? 0 : c.y1,
                   c.x2 > f->image.width ? f->image.width : c.x2,
                   c.y2 > f->image.height ? f->image.height : c.y2 };
    if (memcmp(&cut, &c, sizeof c) == 0)
        return 0;
    ls_box in_mask = { cut.x1 - c.x1, cut.y1 - c.y1, cut.x2 - c.x1, cut.y2 - c.y1 };
    ls_image mask;
    if (ls_image_crop(&f->mask, in_mask, &mask, err))
        return ls_error_prefix(err, "frame %d: crop box (%d, %d, %d, %d) misses the frame", index,
                               c.x1, c.y1, c.x2, c.y2);
    ls_image_free(&f->mask);
    f->mask = mask;
    f->crop = cut;
    return 0;
}

int avatar_check(ls_avatar *a, ls_error *err)
{
    if (a->nframes <= 0)
        return ls_error_set(err, "%s: avatar has no frames", a->dir);
    a->width = a->frames[0].image.width;
    a->height = a->frames[0].image.height;
    for (int i = 0; i < a->nframes; i++) {
        ls_avatar_frame *f = &a->frames[i];
        if (f->image.width != a->width || f->image.height != a->height)
            return ls_error_set(err, "%s: frame %d is %dx%d, frame 0 is %dx%d", a->dir, i,
                                f->image.width, f->image.height, a->width, a->height);
        if (!ls_avatar_has_face(f)) {
            memset(&f->face, 0, sizeof f->face);
            memset(&f->crop, 0, sizeof f->crop);
            ls_image_free(&f->mask);
            continue;
        }
        ls_box b = f->face, c = f->crop;
        if (!ls_box_inside(b, a->width, a->height))
            return ls_error_set(err, "%s: frame %d: face box (%d, %d, %d, %d) outside the %dx%d frame",
                                a->dir, i, b.x1, b.y1, b.x2, b.y2, a->width, a->height);
        if (f->mask.width != ls_box_width(c) || f->mask.height != ls_box_height(c))
            return ls_error_set(err, "%s: frame %d: mask is %dx%d, crop box (%d, %d, %d, %d) is %dx%d",
                                a->dir, i, f->mask.width, f->mask.height, c.x1, c.y1, c.x2, c.y2,
                                ls_box_width(c), ls_box_height(c));
        if (b.x1 < c.x1 || b.y1 < c.y1 || b.x2 > c.x2 || b.y2 > c.y2)
            return ls_error_set(err, "%s: frame %d: face box (%d, %d, %d, %d) not inside crop box "
                                "(%d, %d, %d, %d)", a->dir, i, b.x1, b.y1, b.x2, b.y2, c.x1, c.y1,
                                c.x2, c.y2);
        if (clip_crop_to_frame(f, i, err))
            return ls_error_prefix(err, "%s", a->dir);
    }
    return 0;
}

const float *ls_avatar_latent(const ls_avatar *a, int i)
{
    if (!a->latents || i < 0 || i >= a->nframes || !ls_avatar_has_face(&a->frames[i]))
        return NULL;
    return a->latents + (size_t)i * LS_AVATAR_LATENT_SIZE;
}

int ls_avatar_cycle_index(int64_t i, int n)
{
    if (n <= 1)
        return 0;
    int64_t j = i % (2 * (int64_t)n);
    if (j < 0)
        j += 2 * (int64_t)n;
    return (int)(j < n ? j : 2 * (int64_t)n - 1 - j);
}

const char *ls_avatar_format_name(ls_avatar_format f)
{
    return f == LS_AVATAR_LIPSTREAM ? "lipstream" : "livetalking";
}
