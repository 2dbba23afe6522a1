/*
 * json.h - a strict JSON (RFC 8259) parser into a small value tree.
 *
 * Used for model configs (musetalk.json, config.json), safetensors headers,
 * and anything else lipstream reads as JSON. Strings are unescaped to UTF-8
 * (\uXXXX pairs included); objects keep key order; depth and size are
 * bounded; any syntax error names the byte offset.
 */
#ifndef LS_UTIL_JSON_H
#define LS_UTIL_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

typedef enum ls_json_kind {
    LS_JSON_NULL,
    LS_JSON_BOOL,
    LS_JSON_NUMBER,
    LS_JSON_STRING,
    LS_JSON_ARRAY,
    LS_JSON_OBJECT,
} ls_json_kind;

typedef struct ls_json ls_json;
struct ls_json {
    ls_json_kind kind;
    union {
        int b;
        double n;
        struct { char *s; size_t len; } str;                     /* NUL-terminated */
        struct { ls_json **items; size_t n; } arr;
        struct { char **keys; ls_json **values; size_t n; } obj;
    } u;
};

int ls_json_parse(const char *text, size_t len, ls_json **out, ls_error *err);
int ls_json_read_file(const char *path, ls_json **out, ls_error *err);
void ls_json_free(ls_json *v);

/* Member of an object, NULL if absent (or v is not an object). */
const ls_json *ls_json_get(const ls_json *obj, const char *key);

/* Typed member getters: 1 = found and converted, 0 = absent, -1 = present
 * but of the wrong type (an error naming `key` is set). Integers must be
 * whole numbers within range. */
int ls_json_get_int(const ls_json *obj, const char *key, int64_t *out, ls_error *err);
int ls_json_get_number(const ls_json *obj, const char *key, double *out, ls_error *err);
int ls_json_get_bool(const ls_json *obj, const char *key, int *out, ls_error *err);
int ls_json_get_string(const ls_json *obj, const char *key, const char **out, ls_error *err);

#endif
