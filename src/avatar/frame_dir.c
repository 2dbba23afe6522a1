/*
 * frame_dir.c - ls_frame_dir_list: readdir, keep "<digits>.<image ext>",
 * sort by the number, reject duplicates.
 */
#include "avatar/frame_dir.h"

#include <ctype.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/image_io.h"

/* Frame numbers above this are refused (they would not fit in memory anyway). */
#define MAX_FRAME_NUMBER 100000000LL

typedef struct numbered {
    long long number;
    char *path;
} numbered;

/* The frame number of a file name, or -1 when it is not "<digits>.<image ext>". */
static long long frame_number(const char *name)
{
    if (!ls_image_has_image_extension(name) || !isdigit((unsigned char)name[0]))
        return -1;
    long long n = 0;
    const char *p = name;
    for (; isdigit((unsigned char)*p); p++) {
        n = n * 10 + (*p - '0');
        if (n > MAX_FRAME_NUMBER)
            return -1;
    }
    return *p == '.' && strchr(p + 1, '.') == NULL ? n : -1;
}

static int by_number(const void *a, const void *b)
{
    long long x = ((const numbered *)a)->number, y = ((const numbered *)b)->number;
    return (x > y) - (x < y);
}

void ls_frame_list_free(ls_frame_list *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->paths[i]);
    free(l->paths);
    l->paths = NULL;
    l->n = 0;
}

int ls_frame_dir_list(const char *dir, ls_frame_list *out, ls_error *err)
{
    out->paths = NULL;
    out->n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return ls_error_set(err, "%s: cannot open folder", dir);
    numbered *items = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        long long number = frame_number(e->d_name);
        if (number < 0)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            numbered *grown = realloc(items, cap * sizeof *items);
            if (!grown) {
                rc = ls_error_set(err, "%s: out of memory", dir);
                break;
            }
            items = grown;
        }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        items[n].number = number;
        items[n].path = malloc(len);
        if (!items[n].path) {
            rc = ls_error_set(err, "%s: out of memory", dir);
            break;
        }
        snprintf(items[n].path, len, "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    if (rc == 0 && n > 0) {
        qsort(items, n, sizeof *items, by_number);
        for (size_t i = 1; i < n && rc == 0; i++)
            if (items[i].number == items[i - 1].number)
                rc = ls_error_set(err, "%s and %s have the same frame number", items[i - 1].path,
                                  items[i].path);
    }
    if (rc == 0 && n > 0) {
        out->paths = malloc(n * sizeof(char *));
        if (!out->paths)
            rc = ls_error_set(err, "%s: out of memory", dir);
    }
    for (size_t i = 0; i < n; i++) {
        if (rc == 0)
            out->paths[i] = items[i].path;
        else
            free(items[i].path);
    }
    if (rc == 0)
        out->n = (int)n;
    free(items);
    return rc;
}
