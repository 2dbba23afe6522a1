/*
 * test_pickle.c - the pickle subset: Python-written pickles (protocols 2, 4
 * and 5; numpy scalars and arrays; coords.pkl-style lists) compared value by
 * value with a JSON rendering written next to them, and hand-made streams
 * for each error the VM must report (bad opcode, truncation, unknown
 * global, memo misuse, cycles, deep nesting, exponential sharing, ...).
 *
 * Usage: test_pickle <dir written by tests/ref/make_checkpoints.py>
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "io/pickle.h"
#include "util/json.h"

/* Compares a pickled value with its tagged JSON form (see make_checkpoints.py). */
static int same_value(const ls_pkl *v, const ls_json *j)
{
    const ls_json *tag;
    switch (j->kind) {
    case LS_JSON_NULL:
        return v->kind == LS_PKL_NONE;
    case LS_JSON_BOOL:
        return v->kind == LS_PKL_BOOL && v->u.b == j->u.b;
    case LS_JSON_NUMBER:
        return v->kind == LS_PKL_INT && (double)v->u.i == j->u.n;
    case LS_JSON_STRING:
        return v->kind == LS_PKL_STRING && v->u.str.len == j->u.str.len &&
               memcmp(v->u.str.data, j->u.str.s, j->u.str.len) == 0;
    case LS_JSON_ARRAY:
        if (v->kind != LS_PKL_LIST || v->u.seq.n != j->u.arr.n)
            return 0;
        for (size_t i = 0; i < j->u.arr.n; i++)
            if (!same_value(v->u.seq.items[i], j->u.arr.items[i]))
                return 0;
        return 1;
    case LS_JSON_OBJECT:
        if ((tag = ls_json_get(j, "__float__")))
            return v->kind == LS_PKL_FLOAT && v->u.f == tag->u.n;
        if ((tag = ls_json_get(j, "__bytes__"))) {
            if (v->kind != LS_PKL_BYTES || v->u.str.len * 2 != tag->u.str.len)
                return 0;
            for (size_t i = 0; i < v->u.str.len; i++) {
                unsigned byte;
                if (sscanf(tag->u.str.s + 2 * i, "%2x", &byte) != 1 || byte != (unsigned char)v->u.str.data[i])
                    return 0;
            }
            return 1;
        }
        if ((tag = ls_json_get(j, "__tuple__"))) {
            if (v->kind != LS_PKL_TUPLE || v->u.seq.n != tag->u.arr.n)
                return 0;
            for (size_t i = 0; i < tag->u.arr.n; i++)
                if (!same_value(v->u.seq.items[i], tag->u.arr.items[i]))
                    return 0;
            return 1;
        }
        if (v->kind != LS_PKL_DICT || v->u.dict.n != j->u.obj.n)
            return 0;
        for (size_t i = 0; i < j->u.obj.n; i++) {
            const ls_pkl *key = v->u.dict.keys[i];
            if (key->kind != LS_PKL_STRING || strcmp(key->u.str.data, j->u.obj.keys[i]) != 0 ||
                !same_value(v->u.dict.values[i], j->u.obj.values[i]))
                return 0;
        }
        return 1;
    }
    return 0;
}

static void test_python_pickles(const char *dir, const ls_json *pickles, const ls_json *bad)
{
    for (size_t i = 0; pickles && i < pickles->u.obj.n; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, pickles->u.obj.keys[i]);
        ls_pkl *v = NULL;
        ls_error err;
        if (ls_pkl_read_file(path, &v, &err) < 0) {
            CHECK(0, "%s", err.msg);
            continue;
        }
        CHECK(same_value(v, pickles->u.obj.values[i]), "%s: contents differ from Python's", path);
        printf("%-40s matches Python\n", pickles->u.obj.keys[i]);
        if (strcmp(pickles->u.obj.keys[i], "misc_p4.pkl") == 0) {
            const ls_pkl *shared = ls_pkl_dict_get(v, "shared");
            CHECK(shared && shared->u.seq.n == 2 && shared->u.seq.items[0] == shared->u.seq.items[1],
                  "memo-shared list is one object");
            const ls_pkl *text = ls_pkl_dict_get(v, "text");
            CHECK(text && text->kind == LS_PKL_STRING, "dict_get");
            CHECK(ls_pkl_dict_get(v, "nope") == NULL && ls_pkl_dict_get(text, "x") == NULL, "dict_get misses");
        }
        ls_pkl_free(v);
    }
    for (size_t i = 0; bad && i < bad->u.obj.n; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, bad->u.obj.keys[i]);
        ls_pkl *v = NULL;
        ls_error err = { 0 };
        CHECK(ls_pkl_read_file(path, &v, &err) == -1 && v == NULL, "%s accepted", path);
        CHECK(strstr(err.msg, bad->u.obj.values[i]->u.str.s) && strstr(err.msg, path), "%s: message '%s'",
              path, err.msg);
    }
    ls_pkl *v;
    ls_error err;
    CHECK(ls_pkl_read_file("/nonexistent.pkl", &v, &err) == -1 && strstr(err.msg, "/nonexistent.pkl"),
          "missing file: %s", err.msg);
}

/* Parses `len` bytes from an exact-size heap copy (ASan sees over-reads). */
static int parse(const char *bytes, size_t len, ls_pkl **out, ls_error *err)
{
    char *copy = malloc(len ? len : 1);
    memcpy(copy, bytes, len);
    int rc = ls_pkl_parse(copy, len, "test", out, err);
    free(copy);
    return rc;
}

static void expect_error(const char *what, const char *bytes, size_t len, const char *word)
{
    ls_pkl *v = NULL;
    ls_error err = { 0 };
    int rc = parse(bytes, len, &v, &err);
    CHECK(rc == -1 && v == NULL, "%s: accepted", what);
    CHECK(strstr(err.msg, word) != NULL, "%s: message '%s' lacks '%s'", what, err.msg, word);
    if (rc == 0)
        ls_pkl_free(v);
}

#define BYTES(s) s, sizeof(s) - 1

static void test_errors(void)
{
    expect_error("unknown opcode", BYTES("\x80\x02\xff."), "opcode 0xff");
    expect_error("opcode offset", BYTES("\x80\x02N\xfe."), "byte 3");
    expect_error("empty", "", 0, "truncated");
    expect_error("no STOP", BYTES("\x80\x02N"), "truncated");
    expect_error("cut string", BYTES("\x80\x02X\x10\x00\x00\x00" "ab."), "truncated");
    expect_error("huge string", BYTES("\x80\x02\x8d\xff\xff\xff\xff\xff\xff\xff\xff" "ab."), "truncated");
    expect_error("cut int", BYTES("\x80\x02J\x01\x00"), "truncated");
    expect_error("protocol 6", BYTES("\x80\x06N."), "protocol");
    expect_error("global", BYTES("\x80\x02" "cbuiltins\neval\n."), "builtins.eval");
    expect_error("global without newline", BYTES("\x80\x02" "cos\nsystem"), "newline");
    expect_error("stack global of ints", BYTES("\x80\x04K\x01K\x02\x93."), "two strings");
    expect_error("global left in result", BYTES("\x80\x02" "ccollections\nOrderedDict\n."),
                 "OrderedDict");
    expect_error("unset memo", BYTES("\x80\x02h\x05."), "memo entry 5");
    expect_error("memo index too big", BYTES("\x80\x02Nr\x00\x00\x00\x10."), "memo index");
    expect_error("stack underflow", BYTES("\x80\x02" "a."), "underflow");
    expect_error("pop across mark", BYTES("\x80\x02](a."), "underflow");
    expect_error("no mark", BYTES("\x80\x02t."), "MARK");
    expect_error("append to tuple", BYTES("\x80\x02)Na."), "APPEND to a tuple");
    expect_error("setitem on list", BYTES("\x80\x02]NNs."), "SETITEM on a list");
    expect_error("odd setitems", BYTES("\x80\x02}(Nu."), "odd");
    expect_error("after STOP", BYTES("\x80\x02N.N"), "after STOP");
    expect_error("two results", BYTES("\x80\x02NN."), "2 objects");
    expect_error("open mark", BYTES("\x80\x02(N."), "marks");
    expect_error("wide long", BYTES("\x80\x02\x8a\x09\x01\x02\x03\x04\x05\x06\x07\x08\x09."), "64 bits");
    expect_error("reduce on a value", BYTES("\x80\x02N)R."), "REDUCE on a None");
    expect_error("build on a list", BYTES("\x80\x02]Nb."), "BUILD on a list");
    expect_error("cycle", BYTES("\x80\x02]q\x00h\x00" "a."), "cycle");
    expect_error("dict cycle", BYTES("\x80\x02}q\x00Nh\x00s."), "cycle");
    expect_error("bad persistent id", BYTES("\x80\x02NQ."), "persistent id");
    expect_error("rebuild without storage",
                 BYTES("\x80\x02\x63torch._utils\n_rebuild_tensor_v2\n(NK\x00)))\x89NtR."), "bad arguments");

    char deep[256] = "\x80\x02N";
    memset(deep + 3, 0x85, 200); /* TUPLE1 x200: 200 levels of nesting */
    deep[203] = '.';
    expect_error("deep nesting", deep, 204, "nested");

    /* Each level is a tuple holding the previous one twice: 2^30 leaves. */
    char wide[512] = "\x80\x02]N";
    size_t n = 4;
    for (int level = 0; level < 30; level++) {
        memcpy(wide + n, "q\x00" "a" "h\x00h\x00\x86", 8);
        n += 8;
    }
    memcpy(wide + n, "a.", 2);
    expect_error("exponential sharing", wide, n + 2, "more than");
}

static void test_small_values(void)
{
    ls_pkl *v = NULL;
    ls_error err;
    /* [LONG1 -2 (1 byte), LONG1 2^63-1 (8 bytes), BININT2 65535, BINFLOAT 1.5, True] */
    const char s[] = "\x80\x02](\x8a\x01\xfe\x8a\x08\xff\xff\xff\xff\xff\xff\xff\x7fM\xff\xff"
                     "G\x3f\xf8\x00\x00\x00\x00\x00\x00\x88\x8a\x00" "e.";
    if (parse(s, sizeof s - 1, &v, &err) < 0) {
        CHECK(0, "%s", err.msg);
        return;
    }
    CHECK(v->kind == LS_PKL_LIST && v->u.seq.n == 6, "list of 6");
    if (v->u.seq.n == 6) {
        ls_pkl **it = v->u.seq.items;
        CHECK(it[0]->kind == LS_PKL_INT && it[0]->u.i == -2, "LONG1 negative");
        CHECK(it[1]->u.i == INT64_MAX, "LONG1 8 bytes");
        CHECK(it[2]->u.i == 65535, "BININT2");
        CHECK(it[3]->kind == LS_PKL_FLOAT && it[3]->u.f == 1.5, "BINFLOAT");
        CHECK(it[4]->kind == LS_PKL_BOOL && it[4]->u.b == 1, "NEWTRUE");
        CHECK(it[5]->kind == LS_PKL_INT && it[5]->u.i == 0, "LONG1 zero length");
    }
    ls_pkl_free(v);

    /* One list memoized and placed twice in a tuple: freed once. */
    const char shared[] = "\x80\x02(]q\x00h\x00t.";
    CHECK(parse(shared, sizeof shared - 1, &v, &err) == 0, "%s", err.msg);
    if (v) {
        CHECK(v->kind == LS_PKL_TUPLE && v->u.seq.items[0] == v->u.seq.items[1], "shared object");
        ls_pkl_free(v);
    }
    ls_pkl_free(NULL);

    CHECK(ls_dtype_size(LS_DTYPE_BF16) == 2 && ls_dtype_size(LS_DTYPE_I64) == 8 &&
              strcmp(ls_dtype_name(LS_DTYPE_U8), "uint8") == 0,
          "dtype helpers");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_pickle REF_DIR\n");
        return 2;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/manifest.json", argv[1]);
    ls_json *manifest = NULL;
    ls_error err;
    if (ls_json_read_file(path, &manifest, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    test_python_pickles(argv[1], ls_json_get(manifest, "pickles"), ls_json_get(manifest, "pickles_bad"));
    test_errors();
    test_small_values();
    ls_json_free(manifest);
    return check_result("test_pickle");
}
