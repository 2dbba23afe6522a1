/*
 * file.c - ls_read_file (see file.h).
 */
#include "util/file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ls_read_file(const char *path, size_t max_bytes, void **data, size_t *len, ls_error *err)
{
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return ls_error_set(err, "%s: cannot open: %s", path, strerror(errno));
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (n + 1 >= cap) {   /* room for the terminating NUL */
            size_t want = cap ? cap * 2 : 1 << 16;
            if (cap > max_bytes) {
                rc = ls_error_set(err, "%s: larger than the %zu-byte limit for this kind of file",
                                  path, max_bytes);
                break;
            }
            char *bigger = realloc(buf, want);
            if (!bigger) {
                rc = ls_error_set(err, "%s: out of memory", path);
                break;
            }
            buf = bigger;
            cap = want;
        }
        size_t got = fread(buf + n, 1, cap - 1 - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f))
                rc = ls_error_set(err, "%s: read error", path);
            break;
        }
    }
    fclose(f);
    if (rc == 0 && n > max_bytes)
        rc = ls_error_set(err, "%s: larger than the %zu-byte limit for this kind of file", path,
                          max_bytes);
    if (rc != 0) {
        free(buf);
        return -1;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
}
