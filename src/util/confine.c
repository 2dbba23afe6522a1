/*
 * confine.c - client-named files kept inside a folder (see confine.h).
 */
#include "util/confine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* 1 when `path` is below `dir` (both absolute, without a trailing '/'). */
static int is_under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    if (n == 1 && dir[0] == '/')   /* the root holds everything */
        return path[0] == '/';
    return strncmp(path, dir, n) == 0 && path[n] == '/';
}

static int has_dotdot(const char *path)
{
    for (const char *p = path; (p = strstr(p, "..")) != NULL; p += 2)
        if ((p == path || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
            return 1;
    return 0;
}

char *ls_confine(const char *dir, const char *name, ls_confine_kind kind, const char *field, const char *option,
                 ls_error *err)
{
    if (!dir) {
        ls_error_set(err, "%s: local files must be inside %s (the server has no %s)", field, option, option);
        return NULL;
    }
    if (has_dotdot(name) || (name[0] == '/' && !is_under(name, dir))) {
        ls_error_set(err, "%s: local files must be inside %s", field, option);
        return NULL;
    }
    size_t n = strlen(dir) + strlen(name) + 2;
    char *joined = malloc(n);
    if (!joined) {
        ls_error_set(err, "out of memory");
        return NULL;
    }
    if (name[0] == '/')
        snprintf(joined, n, "%s", name);
    else
        snprintf(joined, n, "%s/%s", dir, name);
    char *resolved = realpath(joined, NULL);
    int resolve_errno = errno;
    free(joined);
    struct stat st;
    if (!resolved)
        ls_error_set(err, "%s: '%.200s': %s", field, name, strerror(resolve_errno));
    else if (!is_under(resolved, dir))
        ls_error_set(err, "%s: local files must be inside %s", field, option);
    else if (stat(resolved, &st) != 0 || (kind == LS_CONFINE_FILE ? !S_ISREG(st.st_mode) : !S_ISDIR(st.st_mode)))
        ls_error_set(err, "%s: '%.200s' is not a %s", field, name, kind == LS_CONFINE_FILE ? "regular file" : "folder");
    else
        return resolved;
    free(resolved);
    return NULL;
}

int ls_confine_dir_option(const char *option, const char **value, char **resolved, ls_error *err)
{
    *resolved = NULL;
    if (!*value || !(*value)[0]) {
        *value = NULL;
        return 0;
    }
    struct stat st;
    char *path = realpath(*value, NULL);
    if (!path || stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        free(path);
        return ls_error_set(err, "--%s: '%s' is not a folder", option, *value);
    }
    *value = *resolved = path;
    return 0;
}
