/*
 * avatar_livetalking.c - LiveTalking / MuseTalk avatar folders, read as is.
 *
 *   full_imgs/<n>.png|jpg   the frames, numeric order
 *   mask/<n>.png            blend masks (crop box size), one per frame
 *   coords.pkl              pickled list of face boxes (x1, y1, x2, y2): plain ints,
 *                           numpy int64 scalars, or (0.0, 0.0, 0.0, 0.0) for "no face"
 *   mask_coords.pkl         pickled list of crop boxes
 *   latents.pt              torch.save'd list of (1, 8, 32, 32) tensors (CPU or CUDA
 *                           storages): one per frame, or one per frame with a face
 *                           (MuseTalk skips faceless frames when encoding)
 *   avator_info.json        optional: avatar_id, version ("v1"/"v15")
 * The lists must agree in length with the frames; any disagreement is an error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avatar/avatar_internal.h"
#include "avatar/frame_dir.h"
#include "io/pickle.h"
#include "io/weights.h"
#include "util/json.h"

static int pkl_whole_number(const ls_pkl *v, int *out)
{
    if (v->kind == LS_PKL_INT && v->u.i > -1000000000 && v->u.i < 1000000000) {
        *out = (int)v->u.i;
        return 0;
    }
    if (v->kind == LS_PKL_FLOAT && v->u.f > -1e9 && v->u.f < 1e9 && v->u.f == (int)v->u.f) {
        *out = (int)v->u.f;
        return 0;
    }
    return -1;
}

/* Reads a pickled list of n boxes of 4 whole numbers. */
static int read_boxes(const char *dir, const char *name, int n, ls_box *boxes, ls_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    ls_pkl *root;
    if (ls_pkl_read_file(path, &root, err))
        return -1;
    int rc = 0;
    if (root->kind != LS_PKL_LIST && root->kind != LS_PKL_TUPLE)
        rc = ls_error_set(err, "%s: expected a list of boxes", path);
    else if ((int)root->u.seq.n != n)
        rc = ls_error_set(err, "%s: %zu boxes for %d frames in full_imgs/", path, root->u.seq.n, n);
    for (int i = 0; rc == 0 && i < n; i++) {
        const ls_pkl *item = root->u.seq.items[i];
        int v[4];
        int ok = (item->kind == LS_PKL_LIST || item->kind == LS_PKL_TUPLE) && item->u.seq.n == 4;
        for (int k = 0; ok && k < 4; k++)
            ok = pkl_whole_number(item->u.seq.items[k], &v[k]) == 0;
        if (!ok)
            rc = ls_error_set(err, "%s: box %d is not 4 whole numbers", path, i);
        else
            boxes[i] = (ls_box){ v[0], v[1], v[2], v[3] };
    }
    ls_pkl_free(root);
    return rc;
}

static int read_info(ls_avatar *a, const char *dir, ls_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/avator_info.json", dir);
    FILE *probe = fopen(path, "rb");
    if (!probe)
        return 0;
    fclose(probe);
    ls_json *info;
    if (ls_json_read_file(path, &info, err))
        return -1;
    const char *id = NULL, *version = NULL;
    int rc = 0;
    if (ls_json_get_string(info, "avatar_id", &id, err) < 0 ||
        ls_json_get_string(info, "version", &version, err) < 0)
        rc = ls_error_prefix(err, "%s", path);
    else if (version && strcmp(version, "v1") != 0 && strcmp(version, "v15") != 0)
        rc = ls_error_set(err, "%s: version '%s' is not v1 or v15", path, version);
    if (rc == 0 && version)
        strcpy(a->version, version);
    if (rc == 0 && id && !(a->id = strdup(id)))
        rc = ls_error_set(err, "%s: out of memory", path);
    ls_json_free(info);
    return rc;
}

/* latents.pt: one (1, 8, 32, 32) tensor per frame or per frame with a face. */
static int read_latents(ls_avatar *a, const char *dir, ls_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/latents.pt", dir);
    ls_weights *w;
    if (ls_weights_open(path, &w, err))
        return -1;
    int faces = 0;
    for (int i = 0; i < a->nframes; i++)
        faces += ls_avatar_has_face(&a->frames[i]);
    size_t count = ls_weights_count(w);
    int rc = 0;
    if ((int)count != a->nframes && (int)count != faces)
        rc = ls_error_set(err, "%s: %zu latents for %d frames (%d with a face)", path, count,
                          a->nframes, faces);
    if (rc == 0 && !(a->latents = calloc((size_t)a->nframes, sizeof(float) * LS_AVATAR_LATENT_SIZE)))
        rc = ls_error_set(err, "%s: out of memory", path);
    for (int i = 0, next = 0; rc == 0 && i < a->nframes; i++) {
        if ((int)count == faces && !ls_avatar_has_face(&a->frames[i]))
            continue;
        char name[32];
        snprintf(name, sizeof name, "%d", next++);
        int64_t shape[4] = { 1, LS_AVATAR_LATENT_CHANNELS, LS_AVATAR_LATENT_SIDE,
                             LS_AVATAR_LATENT_SIDE };
        nn_tensor t;
        rc = ls_weights_get(w, name, 4, shape, &t, err);
        if (rc == 0 && ls_avatar_has_face(&a->frames[i]))
            memcpy(a->latents + (size_t)i * LS_AVATAR_LATENT_SIZE, t.data,
                   sizeof(float) * LS_AVATAR_LATENT_SIZE);
    }
    ls_weights_close(w);
    return rc;
}

int avatar_load_livetalking(ls_avatar **out, const char *dir, ls_error *err)
{
    char sub[4096];
    ls_frame_list frames = { 0 }, masks = { 0 };
    ls_box *faces = NULL, *crops = NULL;
    ls_avatar *a = NULL;
    int rc = -1;
    snprintf(sub, sizeof sub, "%s/full_imgs", dir);
    if (ls_frame_dir_list(sub, &frames, err))
        goto done;
    if (frames.n == 0) {
        ls_error_set(err, "%s: no numbered .png/.jpg frames", sub);
        goto done;
    }
    snprintf(sub, sizeof sub, "%s/mask", dir);
    if (ls_frame_dir_list(sub, &masks, err))
        goto done;
    if (masks.n != frames.n) {
        ls_error_set(err, "%s: %d masks for %d frames in full_imgs/", sub, masks.n, frames.n);
        goto done;
    }
    if (!(a = avatar_new(dir, LS_AVATAR_LIVETALKING, frames.n, err)))
        goto done;
    strcpy(a->mask_kind, "livetalking");
    faces = malloc(sizeof(ls_box) * (size_t)frames.n);
    crops = malloc(sizeof(ls_box) * (size_t)frames.n);
    if (!faces || !crops) {
        ls_error_set(err, "%s: out of memory", dir);
        goto done;
    }
    if (read_boxes(dir, "coords.pkl", frames.n, faces, err) ||
        read_boxes(dir, "mask_coords.pkl", frames.n, crops, err) || read_info(a, dir, err))
        goto done;
    for (int i = 0; i < frames.n; i++) {
        a->frames[i].face = faces[i];
        a->frames[i].crop = crops[i];
    }
    if (avatar_read_images(a, frames.paths, masks.paths, err) || avatar_check(a, err) ||
        read_latents(a, dir, err))
        goto done;
    if (!a->id) {
        const char *slash = strrchr(dir, '/');
        if (!(a->id = strdup(slash && slash[1] ? slash + 1 : dir))) {
            ls_error_set(err, "%s: out of memory", dir);
            goto done;
        }
    }
    rc = 0;
done:
    if (rc) {
        ls_avatar_free(a);
        a = NULL;
    }
    *out = a;
    ls_frame_list_free(&frames);
    ls_frame_list_free(&masks);
    free(faces);
    free(crops);
    return rc;
}
