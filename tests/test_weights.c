/*
 * test_weights.c - the weight store over torch.save zips (stored, deflated,
 * ZIP64) and safetensors: every tensor's values against PyTorch's exactly
 * (fp16/bf16/fp64 converted, strided views, storage offsets, shared
 * storages, nested containers), the exact error messages for shape
 * mismatches, missing and integer tensors, scopes and unused tensors, and
 * malformed files: Python-made broken files, every truncation length class
 * and byte corruptions (which must fail cleanly or load consistently).
 *
 * Usage: test_weights <dir written by tests/ref/make_checkpoints.py>
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "io/npy.h"
#include "io/weights.h"
#include "util/json.h"

static const char *ref_dir;

static void ref_path(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", ref_dir, name);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int is_float_dtype(const char *dtype)
{
    return !strcmp(dtype, "float32") || !strcmp(dtype, "float16") || !strcmp(dtype, "bfloat16") ||
           !strcmp(dtype, "float64");
}

/* Fetches one tensor as PyTorch described it and compares its values. */
static void check_tensor(ls_weights *w, const char *file, const ls_json *entry)
{
    const char *name = ls_json_get(entry, "name")->u.str.s;
    const char *dtype = ls_json_get(entry, "dtype")->u.str.s;
    const ls_json *shape = ls_json_get(entry, "shape");
    int ndim = (int)shape->u.arr.n;
    int64_t want_shape[8], got_shape[8];
    for (int d = 0; d < ndim; d++) {
        want_shape[d] = (int64_t)shape->u.arr.items[d]->u.n;
        got_shape[d] = -1;
    }
    nn_tensor t;
    ls_error err = { 0 };
    CHECK(ls_weights_has(w, name), "%s: no tensor '%s'", file, name);
    int rc = ls_weights_get(w, name, ndim, got_shape, &t, &err);
    if (!is_float_dtype(dtype)) {
        CHECK(rc == -1 && strstr(err.msg, dtype) && strstr(err.msg, "expected float"),
              "%s: integer tensor '%s': %s", file, name, err.msg);
        return;
    }
    if (ndim > NN_MAX_DIMS) {
        CHECK(rc == -1 && strstr(err.msg, "cannot fetch 5"), "%s: 5-d tensor '%s': %s", file, name, err.msg);
        return;
    }
    if (rc < 0) {
        CHECK(0, "%s", err.msg);
        return;
    }
    CHECK(t.ndim == ndim, "%s: '%s' ndim", file, name);
    for (int d = 0; d < ndim; d++)
        CHECK(got_shape[d] == want_shape[d] && t.shape[d] == want_shape[d], "%s: '%s' dim %d", file, name, d);
    char expect_path[1024], label[200];
    ref_path(expect_path, sizeof expect_path, ls_json_get(entry, "expect")->u.str.s);
    nn_tensor want;
    if (ls_npy_read(expect_path, &want, &err) < 0) {
        CHECK(0, "%s", err.msg);
        return;
    }
    /* Exact: every source dtype converts to float32 without rounding choices. */
    snprintf(label, sizeof label, "%s:%s (%s)", file, name, dtype);
    check_close(label, t.data, want.data, nn_numel(&want), 0, 0);
    free(want.data);
    nn_tensor again;
    CHECK(ls_weights_get(w, name, ndim, want_shape, &again, &err) == 0 && again.data == t.data,
          "%s: second fetch of '%s' returns the same data", file, name);
}

static void test_valid_files(const ls_json *files)
{
    for (size_t i = 0; files && i < files->u.obj.n; i++) {
        const char *file = files->u.obj.keys[i];
        const ls_json *entries = files->u.obj.values[i];
        char path[1024];
        ref_path(path, sizeof path, file);
        ls_weights *w;
        ls_error err;
        if (ls_weights_open(path, &w, &err) < 0) {
            CHECK(0, "%s", err.msg);
            continue;
        }
        CHECK(strcmp(ls_weights_path(w), path) == 0, "path");
        CHECK(ls_weights_count(w) == entries->u.arr.n, "%s: %zu tensors, PyTorch has %zu", file,
              ls_weights_count(w), entries->u.arr.n);
        for (size_t k = 0; k < entries->u.arr.n && k < ls_weights_count(w); k++) {
            const char *name = ls_json_get(entries->u.arr.items[k], "name")->u.str.s;
            CHECK(strcmp(ls_weights_name(w, k), name) == 0, "%s: tensor %zu is '%s', expected '%s'", file, k,
                  ls_weights_name(w, k), name);
            check_tensor(w, file, entries->u.arr.items[k]);
        }
        CHECK(ls_weights_name(w, ls_weights_count(w)) == NULL, "name past the end");
        int unused = ls_weights_check_unused(w, &err);
        if (strncmp(file, "dtypes", 6) == 0)   /* dtypes.pt and dtypes_legacy.pt */
            CHECK(unused == -1 && strstr(err.msg, "1 tensor never used: 'state.five_d'"),
                  "unfetchable 5-d tensor reported: %s", err.msg);
        else
            CHECK(unused == 0, "%s: %s", file, err.msg);
        ls_weights_close(w);
    }
}

static void test_scope_and_messages(const ls_json *dims)
{
    char path[1024];
    ref_path(path, sizeof path, "whisper_like.pt");
    ls_weights *w;
    ls_error err;
    if (ls_weights_open(path, &w, &err) < 0) {
        CHECK(0, "%s", err.msg);
        return;
    }
    const ls_pkl *root_dims = ls_pkl_dict_get(ls_weights_pickle_root(w), "dims");
    CHECK(root_dims != NULL, "dims in the pickle root");
    for (size_t i = 0; root_dims && dims && i < dims->u.obj.n; i++) {
        const ls_pkl *v = ls_pkl_dict_get(root_dims, dims->u.obj.keys[i]);
        CHECK(v && v->kind == LS_PKL_INT && (double)v->u.i == dims->u.obj.values[i]->u.n, "dims.%s",
              dims->u.obj.keys[i]);
    }
    CHECK(ls_weights_metadata(w, "format") == NULL, "no metadata in a torch file");

    ls_weights_set_scope(w, "model_state_dict.");
    nn_tensor t;
    int64_t conv[3] = { 8, 80, 3 }, wrong[3] = { 8, 80, 4 }, any2[2] = { -1, 80 };
    CHECK(ls_weights_has(w, "encoder.conv1.weight") && !ls_weights_has(w, "conv1.weight"), "scoped has");
    CHECK(ls_weights_get(w, "encoder.conv1.weight", 3, conv, &t, &err) == 0, "%s", err.msg);

    char want[1200];
    CHECK(ls_weights_get(w, "encoder.conv1.weight", 3, wrong, &t, &err) == -1, "wrong shape accepted");
    snprintf(want, sizeof want,
             "%s: tensor 'model_state_dict.encoder.conv1.weight' has shape (8, 80, 3), expected (8, 80, 4)", path);
    CHECK(strcmp(err.msg, want) == 0, "message '%s'", err.msg);
    CHECK(wrong[2] == 4, "shape untouched on failure");
    CHECK(ls_weights_get(w, "encoder.conv1.weight", 2, any2, &t, &err) == -1, "wrong rank accepted");
    snprintf(want, sizeof want,
             "%s: tensor 'model_state_dict.encoder.conv1.weight' has shape (8, 80, 3), expected (*, 80)", path);
    CHECK(strcmp(err.msg, want) == 0, "message '%s'", err.msg);
    CHECK(ls_weights_get(w, "encoder.nope", 1, conv, &t, &err) == -1, "missing accepted");
    snprintf(want, sizeof want, "%s: missing tensor 'model_state_dict.encoder.nope'", path);
    CHECK(strcmp(err.msg, want) == 0, "message '%s'", err.msg);

    CHECK(ls_weights_check_unused(w, &err) == -1 && strstr(err.msg, "3 tensors never used") &&
              strstr(err.msg, "'model_state_dict.encoder.conv1.bias'") && !strstr(err.msg, "conv1.weight'"),
          "unused: %s", err.msg);
    ls_weights_set_scope(w, "model_state_dict.encoder.conv1");
    int64_t bias[1] = { 8 };
    CHECK(ls_weights_get(w, "bias", 1, bias, &t, &err) == 0, "%s", err.msg);
    CHECK(ls_weights_check_unused(w, &err) == 0, "scope fully used: %s", err.msg);
    ls_weights_set_scope(w, NULL);
    CHECK(ls_weights_has(w, "model_state_dict.encoder.ln_post.weight"), "scope cleared");
    CHECK(ls_weights_check_unused(w, &err) == -1 && strstr(err.msg, "2 tensors"), "unused: %s", err.msg);
    ls_weights_close(w);
}

static void test_safetensors_metadata(const ls_json *meta)
{
    char path[1024];
    ref_path(path, sizeof path, "model.safetensors");
    ls_weights *w;
    ls_error err;
    if (ls_weights_open(path, &w, &err) < 0) {
        CHECK(0, "%s", err.msg);
        return;
    }
    for (size_t i = 0; meta && i < meta->u.obj.n; i++) {
        const char *v = ls_weights_metadata(w, meta->u.obj.keys[i]);
        CHECK(v && strcmp(v, meta->u.obj.values[i]->u.str.s) == 0, "metadata %s", meta->u.obj.keys[i]);
    }
    CHECK(ls_weights_metadata(w, "absent") == NULL, "absent metadata");
    CHECK(ls_weights_pickle_root(w) == NULL, "no pickle in safetensors");
    ls_weights_close(w);
}

static void expect_open_error(const char *path, const char *word)
{
    ls_weights *w = NULL;
    ls_error err = { 0 };
    int rc = ls_weights_open(path, &w, &err);
    CHECK(rc == -1 && w == NULL, "%s accepted", path);
    CHECK(strstr(err.msg, path) && strstr(err.msg, word), "%s: message '%s' lacks '%s'", path, err.msg, word);
    if (rc == 0)
        ls_weights_close(w);
}

static void test_bad_files(const ls_json *bad)
{
    for (size_t i = 0; bad && i < bad->u.obj.n; i++) {
        char path[1024];
        ref_path(path, sizeof path, bad->u.obj.keys[i]);
        const char *word = bad->u.obj.values[i]->u.str.s;
        if (strcmp(word, "deflate") == 0) {
            /* A flipped bit in deflate data fails to inflate or fails the CRC. */
            ls_weights *w = NULL;
            ls_error err = { 0 };
            CHECK(ls_weights_open(path, &w, &err) == -1 &&
                      (strstr(err.msg, "deflate") || strstr(err.msg, "CRC")),
                  "%s: %s", path, err.msg);
            ls_weights_close(w);
            continue;
        }
        expect_open_error(path, word);
    }
    char path[1024];
    ref_path(path, sizeof path, "empty.bin");
    fclose(fopen(path, "w"));
    expect_open_error(path, "empty");
    expect_open_error(ref_dir, "not a regular file");
    expect_open_error("/nonexistent/model.bin", "cannot open");
}

static unsigned char *read_whole(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *data = malloc(*len);
    if (fread(data, 1, *len, f) != *len) {
        free(data);
        data = NULL;
    }
    fclose(f);
    return data;
}

/* Replaces the contents of an in-memory file (no disk traffic per variant). */
static void rewrite(int fd, const unsigned char *data, size_t len)
{
    CHECK(ftruncate(fd, 0) == 0 && pwrite(fd, data, len, 0) == (ssize_t)len, "memfd write");
}

/* Opens and fetches everything; returns 0 when it loaded. The fetch tries
 * each rank, since only the file knows a tensor's shape. */
static int load_everything(const char *path, ls_error *err)
{
    ls_weights *w;
    if (ls_weights_open(path, &w, err) < 0)
        return -1;
    for (size_t i = 0; i < ls_weights_count(w); i++) {
        for (int ndim = 0; ndim <= NN_MAX_DIMS; ndim++) {
            int64_t shape[NN_MAX_DIMS] = { -1, -1, -1, -1 };
            nn_tensor t;
            ls_error ignored;
            if (ls_weights_get(w, ls_weights_name(w, i), ndim, shape, &t, &ignored) == 0 && nn_numel(&t) > 0) {
                volatile float sink = t.data[0] + t.data[nn_numel(&t) - 1];
                (void)sink;
            }
        }
    }
    ls_weights_close(w);
    return 0;
}

/* Every prefix class of a valid file must be refused with a message; byte
 * flips must either be refused or load without faults (ASan watches). */
static void test_damage(const char *file)
{
    char src[1024], tmp[64];
    ref_path(src, sizeof src, file);
    size_t len;
    unsigned char *data = read_whole(src, &len);
    int fd = memfd_create("damaged", MFD_CLOEXEC);
    if (!data || fd < 0) {
        CHECK(0, "cannot read %s or make a memory file", src);
        free(data);
        return;
    }
    snprintf(tmp, sizeof tmp, "/proc/self/fd/%d", fd);
    int truncations = 0, refused_flips = 0, flips = 0;
    for (size_t cut = 1; cut < len; cut += cut < 64 || len - cut < 64 ? 1 : 37) {
        rewrite(fd, data, cut);
        ls_error err = { 0 };
        CHECK(load_everything(tmp, &err) == -1 && strstr(err.msg, tmp), "%s cut to %zu bytes loaded", file, cut);
        truncations++;
    }
    for (size_t at = 0; at < len; at += 1 + at % 7) {
        unsigned char saved = data[at];
        data[at] ^= (unsigned char)(0x5A + at);
        rewrite(fd, data, len);
        ls_error err = { 0 };
        if (load_everything(tmp, &err) < 0) {
            CHECK(err.msg[0] != '\0', "%s: flip at %zu: empty message", file, at);
            refused_flips++;
        }
        flips++;
        data[at] = saved;
    }
    printf("%-40s %d truncations refused, %d/%d byte flips refused (rest loaded)\n", file, truncations,
           refused_flips, flips);
    close(fd);
    free(data);
}

static void test_many_tensors(const ls_json *many)
{
    char path[1024];
    ref_path(path, sizeof path, ls_json_get(many, "file")->u.str.s);
    double start = now_seconds();
    ls_weights *w;
    ls_error err;
    if (ls_weights_open(path, &w, &err) < 0) {
        CHECK(0, "%s", err.msg);
        return;
    }
    double opened = now_seconds();
    size_t n = ls_weights_count(w);
    CHECK((double)n == ls_json_get(many, "count")->u.n, "count %zu", n);
    for (size_t i = 0; i < n; i++) {
        int64_t shape[2] = { 4, 4 };
        nn_tensor t;
        CHECK(ls_weights_get(w, ls_weights_name(w, i), 2, shape, &t, &err) == 0 && t.data[15] == (float)i,
              "tensor %zu", i);
    }
    CHECK(ls_weights_check_unused(w, &err) == 0, "%s", err.msg);
    double done = now_seconds();
    ls_weights_close(w);
    printf("%-40s %zu tensors: open %.2f ms, fetch all %.2f ms (sanitizer build)\n", "many.pt", n,
           (opened - start) * 1e3, (done - opened) * 1e3);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_weights REF_DIR\n");
        return 2;
    }
    ref_dir = argv[1];
    char path[1024];
    ref_path(path, sizeof path, "manifest.json");
    ls_json *manifest = NULL;
    ls_error err;
    if (ls_json_read_file(path, &manifest, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    test_valid_files(ls_json_get(manifest, "weights"));
    test_scope_and_messages(ls_json_get(manifest, "whisper_dims"));
    test_safetensors_metadata(ls_json_get(manifest, "safetensors_metadata"));
    test_bad_files(ls_json_get(manifest, "bad"));
    test_many_tensors(ls_json_get(manifest, "many"));
    test_damage("whisper_like.pt");
    test_damage("zip64.pt");
    test_damage("dtypes_legacy.pt");
    test_damage("model.safetensors");
    ls_json_free(manifest);
    return check_result("test_weights");
}
