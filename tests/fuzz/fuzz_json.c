/*
 * fuzz_json.c - libFuzzer target: arbitrary bytes through the JSON parser
 * and the typed getters on every member of a top-level object.
 */
#include <stdint.h>

#include "util/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ls_json *v;
    ls_error err;
    if (ls_json_parse((const char *)data, size, &v, &err) < 0)
        return 0;
    if (v->kind == LS_JSON_OBJECT) {
        for (size_t i = 0; i < v->u.obj.n; i++) {
            const char *key = v->u.obj.keys[i], *s;
            int64_t n;
            double d;
            int b;
            ls_json_get_int(v, key, &n, &err);
            ls_json_get_number(v, key, &d, &err);
            ls_json_get_bool(v, key, &b, &err);
            ls_json_get_string(v, key, &s, &err);
        }
    }
    ls_json_free(v);
    return 0;
}
