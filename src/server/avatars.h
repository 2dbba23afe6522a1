/*
 * avatars.h - finding a session's avatar folder.
 *
 * The server's avatar is --avatar (a folder path) or --avatar_id under
 * --avatar_dir (LiveTalking's data/avatars/<id>); a session may ask for
 * another id in its offer. Ids are plain folder names: no path separators,
 * not starting with a dot, so a request cannot reach outside --avatar_dir.
 * Folders load through ls_avatar_acquire, one shared copy per folder.
 */
#ifndef LS_SERVER_AVATARS_H
#define LS_SERVER_AVATARS_H

#include "avatar/avatar.h"
#include "server/options.h"
#include "util/error.h"

int ls_avatar_name_valid(const char *id);

/* The avatar `id` (NULL: the server's default), acquired. -1 with a message
 * and the HTTP status that fits: 400 when the id is not a name, 404 when
 * there is no such folder, 500 when the folder does not load. */
int ls_server_avatar_acquire(const ls_server_options *o, const char *id, ls_avatar **out, unsigned *status,
                             ls_error *err);

#endif
