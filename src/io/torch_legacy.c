/*
 * torch_legacy.c - the legacy torch.save layout (see torch_legacy.h).
 *
 * The first pickle is matched byte for byte (PROTO 2, LONG1 of the ten-byte
 * magic number, STOP); the next four are parsed by the pickle reader one
 * after the other. The storages then follow in the order of the key list:
 * each one's element size comes from the storage type its persistent id
 * named, and its element count must be the one the id gave. Nothing may
 * follow the last storage.
 */
#include "io/torch_legacy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEGACY_VERSION 1001
#define MAX_STORAGES (1u << 20)

static const unsigned char legacy_magic[] = {
    0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, '.',
};

int ls_torch_legacy_detect(const void *data, size_t len)
{
    return len >= sizeof legacy_magic && memcmp(data, legacy_magic, sizeof legacy_magic) == 0;
}

/* Parses the next pickle at *at; the caller frees *out. */
static int next_pickle(const uint8_t *data, size_t len, size_t *at, const char *what, const char *part,
                       ls_pkl **out, ls_error *err)
{
    size_t used;
    char where[600];
    snprintf(where, sizeof where, "%s (%s)", what, part);
    if (ls_pkl_parse_prefix(data + *at, len - *at, where, out, &used, err) < 0)
        return -1;
    *at += used;
    return 0;
}

static int check_header(const uint8_t *data, size_t len, size_t *at, const char *what, ls_error *err)
{
    ls_pkl *version = NULL, *sys_info = NULL;
    int rc = -1;
    if (next_pickle(data, len, at, what, "format version", &version, err) < 0 ||
        next_pickle(data, len, at, what, "sys_info", &sys_info, err) < 0)
        goto done;
    if (version->kind != LS_PKL_INT || version->u.i != LEGACY_VERSION) {
        ls_error_set(err, "%s: legacy torch.save format version is not %d", what, LEGACY_VERSION);
        goto done;
    }
    const ls_pkl *little = ls_pkl_dict_get(sys_info, "little_endian");
    if (!little || little->kind != LS_PKL_BOOL || !little->u.b) {
        ls_error_set(err, "%s: saved on a big-endian machine (not supported)", what);
        goto done;
    }
    rc = 0;
done:
    ls_pkl_free(version);
    ls_pkl_free(sys_info);
    return rc;
}

/* Locates each storage of the key list in the bytes after *at. */
static int read_storages(const uint8_t *data, size_t len, size_t at, const ls_pkl *root, const ls_pkl *keys,
                         const char *what, ls_torch_storages *s, ls_error *err)
{
    if (keys->kind != LS_PKL_LIST || keys->u.seq.n > MAX_STORAGES)
        return ls_error_set(err, "%s: the storage key list is not a list", what);
    s->items = calloc(keys->u.seq.n ? keys->u.seq.n : 1, sizeof *s->items);
    if (!s->items)
        return ls_error_set(err, "%s: out of memory", what);
    for (size_t i = 0; i < keys->u.seq.n; i++) {
        const ls_pkl *key = keys->u.seq.items[i];
        ls_dtype dtype;
        if (key->kind != LS_PKL_STRING || ls_pkl_storage_dtype(root, key->u.str.data, &dtype) < 0)
            return ls_error_set(err, "%s: storage key %zu names no storage of the object", what, i);
        if (len - at < 8)
            return ls_error_set(err, "%s: storage '%s' is truncated", what, key->u.str.data);
        uint64_t numel = 0;
        for (int b = 7; b >= 0; b--)
            numel = numel << 8 | data[at + (size_t)b];
        at += 8;
        uint64_t bytes;
        if (__builtin_mul_overflow(numel, (uint64_t)ls_dtype_size(dtype), &bytes) || bytes > len - at)
            return ls_error_set(err, "%s: storage '%s' (%llu elements) is truncated", what, key->u.str.data,
                                (unsigned long long)numel);
        ls_torch_storage *st = &s->items[s->n++];
        st->key = strdup(key->u.str.data);
        if (!st->key)
            return ls_error_set(err, "%s: out of memory", what);
        st->bytes = data + at;
        st->len = (size_t)bytes;
        at += (size_t)bytes;
    }
    if (at != len)
        return ls_error_set(err, "%s: %zu bytes after the last storage", what, len - at);
    return 0;
}

int ls_torch_legacy_open(const void *data, size_t len, const char *what, ls_pkl **root,
                         ls_torch_storages *storages, ls_error *err)
{
    *root = NULL;
    memset(storages, 0, sizeof *storages);
    if (!ls_torch_legacy_detect(data, len))
        return ls_error_set(err, "%s: not a legacy torch.save file", what);
    size_t at = sizeof legacy_magic;
    ls_pkl *keys = NULL;
    if (check_header(data, len, &at, what, err) < 0 ||
        next_pickle(data, len, &at, what, "object", root, err) < 0 ||
        next_pickle(data, len, &at, what, "storage keys", &keys, err) < 0 ||
        read_storages(data, len, at, *root, keys, what, storages, err) < 0) {
        ls_pkl_free(keys);
        ls_pkl_free(*root);
        *root = NULL;
        ls_torch_storages_free(storages);
        return -1;
    }
    ls_pkl_free(keys);
    return 0;
}

void ls_torch_storages_free(ls_torch_storages *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->items[i].key);
    free(s->items);
    memset(s, 0, sizeof *s);
}

const ls_torch_storage *ls_torch_storages_find(const ls_torch_storages *s, const char *key)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->items[i].key, key) == 0)
            return &s->items[i];
    return NULL;
}
