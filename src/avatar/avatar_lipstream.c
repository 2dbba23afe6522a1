/*
 * avatar_lipstream.c - loads lipstream's avatar layout (avatar_store.h).
 *
 * The manifest is validated field by field (format name and version, id,
 * MuseTalk version, fps, frame size, one entry per frame with its image,
 * and for frames with a face its mask, face box and crop box); file names
 * must be relative and stay inside the folder. Frame sizes must match the
 * manifest. "latents": null means not computed yet; otherwise the named
 * safetensors file must hold "latents" of shape (N, 8, 32, 32).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avatar/avatar_internal.h"
#include "avatar/avatar_store.h"
#include "io/weights.h"
#include "util/json.h"

typedef struct manifest_ctx {
    const char *path;   /* the manifest, for messages */
    ls_error *err;
} manifest_ctx;

/* A relative path that cannot leave the folder. */
static int safe_relative(const char *name)
{
    return name[0] && name[0] != '/' && strstr(name, "..") == NULL;
}

static int get_file(manifest_ctx *m, const ls_json *obj, const char *key, int index, char **out)
{
    const char *s = NULL;
    int found = ls_json_get_string(obj, key, &s, m->err);
    if (found < 0)
        return ls_error_prefix(m->err, "%s: frame %d", m->path, index);
    if (!found || !safe_relative(s))
        return ls_error_set(m->err, "%s: frame %d: \"%s\" must be a file name inside the folder",
                            m->path, index, key);
    if (!(*out = strdup(s)))
        return ls_error_set(m->err, "%s: out of memory", m->path);
    return 0;
}

/* Reads a [x1, y1, x2, y2] array of integers; null gives the zero box when allowed. */
static int get_box(manifest_ctx *m, const ls_json *obj, const char *key, int index, int allow_null,
                   ls_box *out)
{
    const ls_json *v = ls_json_get(obj, key);
    memset(out, 0, sizeof *out);
    if (allow_null && (!v || v->kind == LS_JSON_NULL))
        return 0;
    int ok = v && v->kind == LS_JSON_ARRAY && v->u.arr.n == 4;
    int c[4];
    for (int k = 0; ok && k < 4; k++) {
        const ls_json *e = v->u.arr.items[k];
        ok = e->kind == LS_JSON_NUMBER && e->u.n == (int)e->u.n && e->u.n > -1e9 && e->u.n < 1e9;
        if (ok)
            c[k] = (int)e->u.n;
    }
    if (!ok)
        return ls_error_set(m->err, "%s: frame %d: \"%s\" must be [x1, y1, x2, y2] integers",
                            m->path, index, key);
    *out = (ls_box){ c[0], c[1], c[2], c[3] };
    return 0;
}

static int read_header(manifest_ctx *m, const ls_json *root, ls_avatar *a, int64_t *width,
                       int64_t *height, const char **latents)
{
    const char *format = NULL, *id = NULL, *version = NULL, *mask = NULL;
    int64_t format_version = 0;
    ls_error *err = m->err;
    if (ls_json_get_string(root, "format", &format, err) != 1 || strcmp(format, LS_AVATAR_FORMAT_NAME))
        return ls_error_set(err, "%s: \"format\" must be \"%s\"", m->path, LS_AVATAR_FORMAT_NAME);
    if (ls_json_get_int(root, "format_version", &format_version, err) != 1 ||
        format_version != LS_AVATAR_FORMAT_VERSION)
        return ls_error_set(err, "%s: \"format_version\" must be %d", m->path,
                            LS_AVATAR_FORMAT_VERSION);
    if (ls_json_get_string(root, "id", &id, err) != 1 || !ls_avatar_id_valid(id))
        return ls_error_set(err, "%s: \"id\" must be 1-64 of A-Z a-z 0-9 _ . -", m->path);
    if (ls_json_get_string(root, "version", &version, err) != 1 ||
        (strcmp(version, "v1") != 0 && strcmp(version, "v15") != 0))
        return ls_error_set(err, "%s: \"version\" must be \"v1\" or \"v15\"", m->path);
    if (ls_json_get_number(root, "fps", &a->fps, err) != 1 || !(a->fps > 0 && a->fps <= 240))
        return ls_error_set(err, "%s: \"fps\" must be a number in (0, 240]", m->path);
    if (ls_json_get_int(root, "width", width, err) != 1 ||
        ls_json_get_int(root, "height", height, err) != 1 || *width <= 0 || *height <= 0)
        return ls_error_set(err, "%s: \"width\" and \"height\" must be positive integers", m->path);
    if (ls_json_get_string(root, "mask", &mask, err) < 0)
        return ls_error_prefix(err, "%s", m->path);
    const ls_json *lat = ls_json_get(root, "latents");
    *latents = NULL;
    if (lat && lat->kind == LS_JSON_STRING && safe_relative(lat->u.str.s))
        *latents = lat->u.str.s;
    else if (!lat || lat->kind != LS_JSON_NULL)
        return ls_error_set(err, "%s: \"latents\" must be null or a file name inside the folder",
                            m->path);
    strcpy(a->version, version);
    snprintf(a->mask_kind, sizeof a->mask_kind, "%s", mask ? mask : "unknown");
    if (!(a->id = strdup(id)))
        return ls_error_set(err, "%s: out of memory", m->path);
    return 0;
}

static int read_frame_entries(manifest_ctx *m, const ls_json *frames, ls_avatar *a, char **images,
                              char **masks)
{
    for (int i = 0; i < a->nframes; i++) {
        const ls_json *e = frames->u.arr.items[i];
        ls_avatar_frame *f = &a->frames[i];
        if (e->kind != LS_JSON_OBJECT)
            return ls_error_set(m->err, "%s: frame %d is not an object", m->path, i);
        if (get_file(m, e, "image", i, &f->image_file) ||
            get_box(m, e, "face_box", i, 1, &f->face))
            return -1;
        if (ls_avatar_has_face(f) &&
            (get_file(m, e, "mask", i, &f->mask_file) || get_box(m, e, "crop_box", i, 0, &f->crop)))
            return -1;
        size_t len = strlen(a->dir) + strlen(f->image_file) + 2;
        images[i] = malloc(len);
        if (images[i])
            snprintf(images[i], len, "%s/%s", a->dir, f->image_file);
        if (f->mask_file) {
            len = strlen(a->dir) + strlen(f->mask_file) + 2;
            masks[i] = malloc(len);
            if (masks[i])
                snprintf(masks[i], len, "%s/%s", a->dir, f->mask_file);
        }
        if (!images[i] || (f->mask_file && !masks[i]))
            return ls_error_set(m->err, "%s: out of memory", m->path);
    }
    return 0;
}

static int read_latents(ls_avatar *a, const char *file, ls_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", a->dir, file);
    ls_weights *w;
    if (ls_weights_open(path, &w, err))
        return -1;
    int64_t shape[4] = { a->nframes, LS_AVATAR_LATENT_CHANNELS, LS_AVATAR_LATENT_SIDE,
                         LS_AVATAR_LATENT_SIDE };
    size_t bytes = sizeof(float) * LS_AVATAR_LATENT_SIZE * (size_t)a->nframes;
    nn_tensor t;
    int rc = ls_weights_get(w, "latents", 4, shape, &t, err);
    if (rc == 0 && !(a->latents = malloc(bytes)))
        rc = ls_error_set(err, "%s: out of memory", path);
    if (rc == 0)
        memcpy(a->latents, t.data, bytes);
    ls_weights_close(w);
    return rc;
}

static void free_paths(char **paths, int n)
{
    for (int i = 0; paths && i < n; i++)
        free(paths[i]);
    free(paths);
}

int avatar_load_lipstream(ls_avatar **out, const char *dir, ls_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, LS_AVATAR_MANIFEST);
    manifest_ctx m = { path, err };
    *out = NULL;
    ls_json *root;
    if (ls_json_read_file(path, &root, err))
        return -1;
    const ls_json *frames = ls_json_get(root, "frames");
    ls_avatar *a = NULL;
    char **images = NULL, **masks = NULL;
    int64_t width, height;
    const char *latents = NULL;
    int n = 0, rc = -1;
    if (!frames || frames->kind != LS_JSON_ARRAY || frames->u.arr.n == 0 ||
        frames->u.arr.n > 1000000) {
        ls_error_set(err, "%s: \"frames\" must be a non-empty list", path);
        goto done;
    }
    n = (int)frames->u.arr.n;
    if (!(a = avatar_new(dir, LS_AVATAR_LIPSTREAM, n, err)))
        goto done;
    images = calloc((size_t)n, sizeof(char *));
    masks = calloc((size_t)n, sizeof(char *));
    if (!images || !masks) {
        ls_error_set(err, "%s: out of memory", path);
        goto done;
    }
    if (read_header(&m, root, a, &width, &height, &latents) ||
        read_frame_entries(&m, frames, a, images, masks) ||
        avatar_read_images(a, images, masks, err) || avatar_check(a, err))
        goto done;
    if (a->width != width || a->height != height) {
        ls_error_set(err, "%s: frames are %dx%d, the manifest says %lldx%lld", path, a->width,
                     a->height, (long long)width, (long long)height);
        goto done;
    }
    if (latents && read_latents(a, latents, err))
        goto done;
    rc = 0;
done:
    free_paths(images, n);
    free_paths(masks, n);
    ls_json_free(root);
    if (rc) {
        ls_avatar_free(a);
        a = NULL;
    }
    *out = a;
    return rc;
}
