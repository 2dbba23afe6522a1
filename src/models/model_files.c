/*
 * model_files.c - path helpers and weights-file resolution (see model_files.h).
 */
#include "models/model_files.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int ls_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int ls_is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int ls_path_join(char *out, size_t size, const char *dir, const char *name, ls_error *err)
{
    size_t len = strlen(dir);
    const char *sep = len && dir[len - 1] == '/' ? "" : "/";
    int n = snprintf(out, size, "%s%s%s", dir, sep, name);
    if (n < 0 || (size_t)n >= size)
        return ls_error_set(err, "%s: path too long", dir);
    return 0;
}

void ls_path_dir(char *out, size_t size, const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(out, size, ".");
    else if (slash == path)
        snprintf(out, size, "/");
    else
        snprintf(out, size, "%.*s", (int)(slash - path), path);
}

int ls_model_file(const char *path, const char *const *names, char *out, size_t size,
                  ls_error *err)
{
    if (ls_is_file(path)) {
        if (strlen(path) >= size)
            return ls_error_set(err, "%s: path too long", path);
        snprintf(out, size, "%s", path);
        return 0;
    }
    if (!ls_is_dir(path))
        return ls_error_set(err, "%s: no such file or folder", path);
    char looked[512] = "";
    for (int i = 0; names[i]; i++) {
        if (ls_path_join(out, size, path, names[i], err) != 0)
            return -1;
        if (ls_is_file(out))
            return 0;
        size_t used = strlen(looked);
        snprintf(looked + used, sizeof looked - used, "%s%s", i ? ", " : "", names[i]);
    }
    return ls_error_set(err, "%s: no weights file in this folder (looked for %s)", path, looked);
}
