/*
 * avatar_device.c - the avatar's device copy (see avatar_device.h).
 *
 * Two backend allocations: every frame back to back, and every face
 * frame's mask back to back with its offset kept. A global lock makes the
 * first upload the only one, as for the latents.
 */
#include "avatar/avatar_device.h"

#include <pthread.h>
#include <stdlib.h>

#include "avatar/blend.h"

struct ls_avatar_device {
    const nn_backend *be;
    uint8_t *frames;        /* (nframes, height, width, 3) */
    uint8_t *masks;         /* the face frames' masks, back to back */
    int64_t *mask_offset;   /* (nframes) into masks, -1 without a face */
};

static pthread_mutex_t upload_lock = PTHREAD_MUTEX_INITIALIZER;

void ls_avatar_device_free(ls_avatar_device *d)
{
    if (!d)
        return;
    if (d->frames)
        d->be->free(d->frames);
    if (d->masks)
        d->be->free(d->masks);
    free(d->mask_offset);
    free(d);
}

/* Frame i's boxes and mask fit a paste; the masks' total size in *mask_bytes. */
static int check_frames(const ls_avatar *a, int64_t *mask_bytes, ls_error *err)
{
    *mask_bytes = 0;
    for (int i = 0; i < a->nframes; i++) {
        const ls_avatar_frame *f = &a->frames[i];
        if (f->image.width != a->width || f->image.height != a->height || f->image.channels != 3)
            return ls_error_set(err, "%s: frame %d is not a %dx%d BGR image", a->dir, i, a->width,
                                a->height);
        if (!ls_avatar_has_face(f))
            continue;
        if (!ls_blend_fits(a->width, a->height, f->face, &f->mask, f->crop))
            return ls_error_set(err, "%s: frame %d: its face box, crop box and mask do not fit "
                                "together", a->dir, i);
        *mask_bytes += (int64_t)f->mask.width * f->mask.height;
    }
    return 0;
}

static int upload(ls_avatar *a, const nn_backend *be, ls_error *err)
{
    int64_t mask_bytes, frame_bytes = (int64_t)a->width * a->height * 3;
    if (check_frames(a, &mask_bytes, err) != 0)
        return -1;
    ls_avatar_device *d = calloc(1, sizeof *d);
    if (!d)
        return ls_error_set(err, "%s: out of memory", a->dir);
    d->be = be;
    d->mask_offset = malloc((size_t)a->nframes * sizeof *d->mask_offset);
    d->frames = be->alloc((size_t)(frame_bytes * a->nframes));
    d->masks = be->alloc((size_t)(mask_bytes > 0 ? mask_bytes : 1));
    if (!d->mask_offset || !d->frames || !d->masks) {
        ls_avatar_device_free(d);
        return ls_error_exhausted(err, "%s: out of %s memory for the avatar's %d frames (%.0f MB)",
                                  a->dir, be->name, a->nframes,
                                  (double)(frame_bytes * a->nframes + mask_bytes) / 1e6);
    }
    int64_t offset = 0;
    for (int i = 0; i < a->nframes; i++) {
        const ls_avatar_frame *f = &a->frames[i];
        be->upload(NULL, d->frames + i * frame_bytes, f->image.data, (size_t)frame_bytes);
        d->mask_offset[i] = -1;
        if (ls_avatar_has_face(f)) {
            int64_t n = (int64_t)f->mask.width * f->mask.height;
            be->upload(NULL, d->masks + offset, f->mask.data, (size_t)n);
            d->mask_offset[i] = offset;
            offset += n;
        }
    }
    a->device = d;
    return 0;
}

int ls_avatar_upload(ls_avatar *a, const nn_backend *be, ls_error *err)
{
    pthread_mutex_lock(&upload_lock);
    int rc = 0;
    if (!a->device)
        rc = upload(a, be, err);
    else if (a->device->be != be)
        rc = ls_error_set(err, "%s: already on %s, not %s", a->dir, a->device->be->name, be->name);
    pthread_mutex_unlock(&upload_lock);
    return rc;
}

nn_paste ls_avatar_paste(const ls_avatar *a, int index, uint8_t *out)
{
    const ls_avatar_device *d = a->device;
    const ls_avatar_frame *f = &a->frames[index];
    NN_CHECK(d && d->mask_offset[index] >= 0, "avatar paste: frame not uploaded or without a face");
    return (nn_paste){
        .frame = d->frames + (int64_t)index * a->width * a->height * 3,
        .out = out,
        .width = a->width,
        .height = a->height,
        .mask = d->masks + d->mask_offset[index],
        .crop_x1 = f->crop.x1,
        .crop_y1 = f->crop.y1,
        .crop_width = ls_box_width(f->crop),
        .crop_height = ls_box_height(f->crop),
        .face_x1 = f->face.x1,
        .face_y1 = f->face.y1,
        .face_x2 = f->face.x2,
        .face_y2 = f->face.y2,
    };
}
