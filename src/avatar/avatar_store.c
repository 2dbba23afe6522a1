/*
 * avatar_store.c - ls_avatar_save / ls_avatar_save_latents: PNG frames and
 * masks, a one-tensor safetensors file written by hand (8-byte header
 * length, JSON header padded to 8 bytes, raw little-endian floats), and the
 * manifest, each through a temporary file and rename().
 */
#include "avatar/avatar_store.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "image/image_io.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors data is little-endian");

int ls_avatar_id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 64 || id[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)id[i]) && id[i] != '_' && id[i] != '.' && id[i] != '-')
            return 0;
    return 1;
}

/* mkdir -p */
static int make_dir(const char *path, ls_error *err)
{
    char partial[4096];
    size_t n = strlen(path);
    if (n >= sizeof partial)
        return ls_error_set(err, "%s: path too long", path);
    memcpy(partial, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (partial[i] != '/' && partial[i] != '\0')
            continue;
        char saved = partial[i];
        partial[i] = '\0';
        if (mkdir(partial, 0755) != 0 && errno != EEXIST)
            return ls_error_set(err, "%s: cannot create folder: %s", partial, strerror(errno));
        partial[i] = saved;
    }
    return 0;
}

static int commit_file(const char *tmp, const char *path, ls_error *err)
{
    if (rename(tmp, path) != 0) {
        remove(tmp);
        return ls_error_set(err, "%s: cannot rename into place: %s", path, strerror(errno));
    }
    return 0;
}

static int write_latents(const ls_avatar *a, ls_error *err)
{
    char path[4096], tmp[4200], header[256];
    snprintf(path, sizeof path, "%s/%s", a->dir, LS_AVATAR_LATENTS_FILE);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    size_t count = (size_t)a->nframes * LS_AVATAR_LATENT_SIZE;
    int len = snprintf(header, sizeof header,
                       "{\"latents\":{\"dtype\":\"F32\",\"shape\":[%d,%d,%d,%d],"
                       "\"data_offsets\":[0,%zu]}}",
                       a->nframes, LS_AVATAR_LATENT_CHANNELS, LS_AVATAR_LATENT_SIDE,
                       LS_AVATAR_LATENT_SIDE, count * sizeof(float));
    while (len % 8)
        header[len++] = ' ';
    uint64_t header_len = (uint64_t)len;
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return ls_error_set(err, "%s: cannot create: %s", tmp, strerror(errno));
    int ok = fwrite(&header_len, 8, 1, f) == 1 && fwrite(header, 1, (size_t)len, f) == (size_t)len &&
             fwrite(a->latents, sizeof(float), count, f) == count;
    if (fclose(f) != 0 || !ok) {
        remove(tmp);
        return ls_error_set(err, "%s: write failed", tmp);
    }
    return commit_file(tmp, path, err);
}

static void write_box(FILE *f, const char *key, ls_box b)
{
    fprintf(f, "\"%s\": [%d, %d, %d, %d]", key, b.x1, b.y1, b.x2, b.y2);
}

static int write_manifest(const ls_avatar *a, int with_latents, ls_error *err)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/%s", a->dir, LS_AVATAR_MANIFEST);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return ls_error_set(err, "%s: cannot create: %s", tmp, strerror(errno));
    fprintf(f, "{\n  \"format\": \"%s\",\n  \"format_version\": %d,\n", LS_AVATAR_FORMAT_NAME,
            LS_AVATAR_FORMAT_VERSION);
    fprintf(f, "  \"id\": \"%s\",\n  \"version\": \"%s\",\n  \"fps\": %g,\n", a->id, a->version,
            a->fps);
    fprintf(f, "  \"width\": %d,\n  \"height\": %d,\n  \"mask\": \"%s\",\n", a->width, a->height,
            a->mask_kind);
    if (with_latents)
        fprintf(f, "  \"latents\": \"%s\",\n", LS_AVATAR_LATENTS_FILE);
    else
        fprintf(f, "  \"latents\": null,\n");
    fprintf(f, "  \"frames\": [\n");
    for (int i = 0; i < a->nframes; i++) {
        const ls_avatar_frame *fr = &a->frames[i];
        fprintf(f, "    {\"image\": \"%s\", ", fr->image_file);
        if (ls_avatar_has_face(fr)) {
            fprintf(f, "\"mask\": \"%s\", ", fr->mask_file);
            write_box(f, "face_box", fr->face);
            fprintf(f, ", ");
            write_box(f, "crop_box", fr->crop);
        } else {
            fprintf(f, "\"face_box\": null");
        }
        fprintf(f, "}%s\n", i + 1 < a->nframes ? "," : "");
    }
    fprintf(f, "  ]\n}\n");
    if (ferror(f) | (fclose(f) != 0)) {
        remove(tmp);
        return ls_error_set(err, "%s: write failed", tmp);
    }
    return commit_file(tmp, path, err);
}

/* Writes img as DIR/<folder>/<index>.png and records the relative name. */
static int save_image(const ls_avatar *a, const char *folder, int index, const ls_image *img,
                      char **name, ls_error *err)
{
    char rel[64], path[4096], tmp[4200];
    snprintf(rel, sizeof rel, "%s/%08d.png", folder, index);
    snprintf(path, sizeof path, "%s/%s", a->dir, rel);
    snprintf(tmp, sizeof tmp, "%s/%s/.%08d.tmp.png", a->dir, folder, index);
    if (ls_image_write(tmp, img, err) || commit_file(tmp, path, err))
        return -1;
    free(*name);
    if (!(*name = strdup(rel)))
        return ls_error_set(err, "%s: out of memory", path);
    return 0;
}

int ls_avatar_save(ls_avatar *a, ls_error *err)
{
    char sub[4096];
    if (!ls_avatar_id_valid(a->id))
        return ls_error_set(err, "avatar id '%s' must be 1-64 of A-Z a-z 0-9 _ . -", a->id);
    if (make_dir(a->dir, err))
        return -1;
    snprintf(sub, sizeof sub, "%s/frames", a->dir);
    if (make_dir(sub, err))
        return -1;
    snprintf(sub, sizeof sub, "%s/masks", a->dir);
    if (make_dir(sub, err))
        return -1;
    for (int i = 0; i < a->nframes; i++) {
        ls_avatar_frame *f = &a->frames[i];
        if (save_image(a, "frames", i, &f->image, &f->image_file, err))
            return -1;
        if (ls_avatar_has_face(f) && save_image(a, "masks", i, &f->mask, &f->mask_file, err))
            return -1;
    }
    if (a->latents && write_latents(a, err))
        return -1;
    return write_manifest(a, a->latents != NULL, err);
}

int ls_avatar_save_latents(const ls_avatar *a, ls_error *err)
{
    if (a->format != LS_AVATAR_LIPSTREAM || !a->latents)
        return ls_error_set(err, "%s: only lipstream avatars with latents can store them", a->dir);
    if (write_latents(a, err))
        return -1;
    return write_manifest(a, 1, err);
}
