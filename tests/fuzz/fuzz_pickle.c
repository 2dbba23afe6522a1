/*
 * fuzz_pickle.c - libFuzzer target: arbitrary bytes through the pickle VM,
 * then a walk over the whole result (which must be a finite tree).
 */
#include <stdint.h>

#include "io/pickle.h"

static size_t walk(const ls_pkl *v)
{
    size_t n = 1;
    if (v->kind == LS_PKL_LIST || v->kind == LS_PKL_TUPLE) {
        for (size_t i = 0; i < v->u.seq.n; i++)
            n += walk(v->u.seq.items[i]);
    } else if (v->kind == LS_PKL_DICT) {
        for (size_t i = 0; i < v->u.dict.n; i++)
            n += walk(v->u.dict.keys[i]) + walk(v->u.dict.values[i]);
    } else if (v->kind == LS_PKL_STRING || v->kind == LS_PKL_BYTES) {
        n += (unsigned char)v->u.str.data[v->u.str.len]; /* the terminating NUL is there */
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ls_pkl *v;
    ls_error err;
    if (ls_pkl_parse(data, size, "fuzz", &v, &err) < 0)
        return 0;
    volatile size_t nodes = walk(v);
    (void)nodes;
    ls_pkl_dict_get(v, "model_state_dict");
    ls_pkl_free(v);
    return 0;
}
