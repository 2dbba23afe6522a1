/*
 * test_npy.c - .npy reading (versions 1-3; float32, float16 and float64
 * converted exactly) against numpy-written files, writing and reading back,
 * and rejection of malformed or unsupported files.
 *
 * Usage: test_npy <dir written by tests/ref/make_checkpoints.py>
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "io/npy.h"
#include "util/json.h"

static const char *ref_dir;

static void ref_path(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/npy/%s", ref_dir, name);
}

/* Each numpy-written file equals its float32 rendering, exactly: float16 and
 * float64 values convert to float32 with no rounding freedom. */
static void test_numpy_files(const ls_json *files)
{
    for (size_t i = 0; files && i < files->u.obj.n; i++) {
        const char *name = files->u.obj.keys[i];
        const ls_json *info = files->u.obj.values[i];
        const char *expect_name = NULL;
        ls_error err;
        ls_json_get_string(info, "expect", &expect_name, &err);
        char path[1024], expect_path[1024];
        ref_path(path, sizeof path, name);
        ref_path(expect_path, sizeof expect_path, expect_name);
        nn_tensor got, want;
        if (ls_npy_read(path, &got, &err) < 0) {
            CHECK(0, "%s", err.msg);
            continue;
        }
        CHECK(ls_npy_read(expect_path, &want, &err) == 0, "%s", err.msg);
        const ls_json *shape = ls_json_get(info, "shape");
        CHECK(got.ndim == (int)shape->u.arr.n, "%s: ndim %d", name, got.ndim);
        for (int d = 0; d < got.ndim && d < (int)shape->u.arr.n; d++)
            CHECK(got.shape[d] == (int64_t)shape->u.arr.items[d]->u.n, "%s: dim %d", name, d);
        check_close(name, got.data, want.data, nn_numel(&want), 0, 0);
        free(got.data);
        free(want.data);
    }
}

static void test_bad_files(const ls_json *bad)
{
    for (size_t i = 0; bad && i < bad->u.obj.n; i++) {
        const char *name = bad->u.obj.keys[i], *word = bad->u.obj.values[i]->u.str.s;
        char path[1024];
        ref_path(path, sizeof path, name);
        nn_tensor t;
        ls_error err = { 0 };
        int rc = ls_npy_read(path, &t, &err);
        CHECK(rc == -1, "%s accepted", name);
        if (rc == 0)
            free(t.data);
        CHECK(strstr(err.msg, word) && strstr(err.msg, name), "%s: message '%s' lacks '%s'", name, err.msg,
              word);
    }
    nn_tensor t;
    ls_error err;
    CHECK(ls_npy_read("/nonexistent/x.npy", &t, &err) == -1 && strstr(err.msg, "/nonexistent/x.npy"),
          "missing file: %s", err.msg);
}

static void round_trip(const char *path, int ndim, const int64_t *shape)
{
    nn_tensor t = { .ndim = ndim };
    memcpy(t.shape, shape, sizeof(int64_t) * (size_t)ndim);
    int64_t n = nn_numel(&t);
    t.data = malloc((size_t)(n ? n : 1) * sizeof(float));
    for (int64_t i = 0; i < n; i++)
        t.data[i] = (float)i / 4;
    ls_error err;
    nn_tensor back;
    CHECK(ls_npy_write(path, &t, &err) == 0, "%s", err.msg);
    if (ls_npy_read(path, &back, &err) < 0) {
        CHECK(0, "%s", err.msg);
        free(t.data);
        return;
    }
    CHECK(nn_same_shape(&t, &back), "%s: shape changed", path);
    check_close("npy round trip", back.data, t.data, n, 0, 0);
    FILE *f = fopen(path, "rb");
    unsigned char pre[10];
    CHECK(f && fread(pre, 1, 10, f) == 10, "reread");
    if (f)
        fclose(f);
    CHECK((10 + (pre[8] | pre[9] << 8)) % 64 == 0, "%s: data not 64-byte aligned", path);
    free(t.data);
    free(back.data);
}

static void test_writing(void)
{
    char path[1024];
    const int64_t s0[1] = { 0 }, s1[1] = { 5 }, s4[4] = { 1, 2, 3, 4 }, s2[2] = { 2, 3 };
    snprintf(path, sizeof path, "%s/round_trip.npy", ref_dir);
    round_trip(path, 0, s0);
    round_trip(path, 1, s1);
    round_trip(path, 1, s0);
    round_trip(path, 4, s4);
    /* Left for numpy to read (ctest npy_written_by_c). */
    snprintf(path, sizeof path, "%s/written_by_c.npy", ref_dir);
    round_trip(path, 2, s2);
    nn_tensor t = { .ndim = 1, .shape = { 1 } };
    ls_error err;
    CHECK(ls_npy_write("/nonexistent/dir/x.npy", &t, &err) == -1 && strstr(err.msg, "cannot create"),
          "unwritable path: %s", err.msg);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_npy REF_DIR\n");
        return 2;
    }
    ref_dir = argv[1];
    char path[1024];
    snprintf(path, sizeof path, "%s/manifest.json", ref_dir);
    ls_json *manifest = NULL;
    ls_error err;
    if (ls_json_read_file(path, &manifest, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    test_numpy_files(ls_json_get(manifest, "npy"));
    test_bad_files(ls_json_get(manifest, "npy_bad"));
    test_writing();
    ls_json_free(manifest);
    return check_result("test_npy");
}
