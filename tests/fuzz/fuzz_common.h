/*
 * fuzz_common.h - helpers shared by the fuzzers: an in-memory file that a
 * path-based reader can open, and a full load of a weights file.
 */
#ifndef LS_FUZZ_COMMON_H
#define LS_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "io/weights.h"

/* Puts the input into one memfd reused across runs; returns its path. */
static inline const char *fuzz_input_file(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz_input", MFD_CLOEXEC);
        if (fd < 0)
            abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
        abort();
    return path;
}

/* Opens a weights file and fetches every tensor at the rank it has (each
 * rank is tried, as model code does not ask for unknown tensors). */
static inline void fuzz_load_weights(const char *path)
{
    ls_weights *w;
    ls_error err;
    if (ls_weights_open(path, &w, &err) < 0)
        return;
    for (size_t i = 0; i < ls_weights_count(w); i++) {
        for (int ndim = 0; ndim <= NN_MAX_DIMS; ndim++) {
            int64_t shape[NN_MAX_DIMS] = { -1, -1, -1, -1 };
            nn_tensor t;
            if (ls_weights_get(w, ls_weights_name(w, i), ndim, shape, &t, &err) == 0 && nn_numel(&t) > 0) {
                volatile float sink = t.data[0] + t.data[nn_numel(&t) - 1];
                (void)sink;
            }
        }
    }
    ls_weights_check_unused(w, &err);
    ls_weights_metadata(w, "format");
    ls_weights_close(w);
}

#endif
