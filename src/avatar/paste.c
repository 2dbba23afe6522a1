/*
 * paste.c - ls_paste_faces: the backend's operator, or the host code over
 * the same memory (see paste.h).
 */
#include "avatar/paste.h"

#include <stdlib.h>
#include <string.h>

#include "avatar/blend.h"
#include "models/musetalk.h"

void ls_paste_faces_host(const nn_tensor *faces, const nn_paste *pastes)
{
    int64_t n = faces->shape[0], h = faces->shape[2], w = faces->shape[3];
    uint8_t *bytes = malloc((size_t)(h * w * 3));
    NN_CHECK(bytes != NULL, "paste: out of memory for a face");
    for (int64_t i = 0; i < n; i++) {
        const nn_paste *p = &pastes[i];
        nn_tensor face = nn_view4(faces->data + i * 3 * h * w, 1, 3, h, w);
        ls_musetalk_faces_to_bgr(&face, bytes);
        if (p->out != p->frame)
            memcpy(p->out, p->frame, (size_t)p->width * p->height * 3);
        ls_image out = { p->out, p->width, p->height, 3 };
        ls_image generated = { bytes, (int)w, (int)h, 3 };
        ls_image mask = { (uint8_t *)p->mask, p->crop_width, p->crop_height, 1 };
        ls_box face_box = { p->face_x1, p->face_y1, p->face_x2, p->face_y2 };
        ls_box crop_box = { p->crop_x1, p->crop_y1, p->crop_x1 + p->crop_width,
                            p->crop_y1 + p->crop_height };
        ls_error err = { 0 };
        NN_CHECK(ls_blend_face(&out, &generated, face_box, &mask, crop_box, &err) == 0,
                 "paste: boxes that do not fit (the paste's maker checks them)");
    }
    free(bytes);
}

void ls_paste_faces(nn_ctx *c, const nn_tensor *faces, const nn_paste *pastes)
{
    if (c->be->paste_faces)
        c->be->paste_faces(c, faces, pastes);
    else
        ls_paste_faces_host(faces, pastes);
}
