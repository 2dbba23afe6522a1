/*
 * avatars.c - avatar ids to folders (see avatars.h).
 */
#include "server/avatars.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int ls_avatar_name_valid(const char *id)
{
    return id[0] && id[0] != '.' && !strchr(id, '/') && !strchr(id, '\\') && strlen(id) < 256;
}

int ls_server_avatar_acquire(const ls_server_options *o, const char *id, ls_avatar **out, unsigned *status,
                             ls_error *err)
{
    *status = 500;
    if (!id && o->avatar)
        return ls_avatar_acquire(o->avatar, out, err);
    if (!id)
        id = o->avatar_id;
    if (!ls_avatar_name_valid(id)) {
        *status = 400;
        return ls_error_set(err, "avatar '%.80s': not an avatar id (a folder name under %s)", id,
                            o->avatar_dir);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", o->avatar_dir, id);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        *status = 404;
        return ls_error_set(err, "avatar '%s': no folder %s", id, path);
    }
    return ls_avatar_acquire(path, out, err);
}
