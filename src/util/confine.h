/*
 * confine.h - a file named by a client, kept inside a folder the server
 * allows.
 *
 * Three gates: lexical (no ".." component; an absolute name only under the
 * folder), then resolved (realpath, symbolic links followed, still under the
 * folder), then the kind of file. A name failing the lexical gate is refused
 * before the file system is asked, so the answer tells nothing about files
 * outside. A relative name is taken inside the folder. Messages name the
 * file as the client did, never the folder's own path.
 */
#ifndef LS_UTIL_CONFINE_H
#define LS_UTIL_CONFINE_H

#include "util/error.h"

typedef enum ls_confine_kind { LS_CONFINE_FILE, LS_CONFINE_DIR } ls_confine_kind;

/* The resolved path (free() it) of `name` inside `dir` (a resolved path, or
 * NULL when the server allows none), which must be a regular file or a
 * folder as `kind` says. NULL with a message: `field` names the request's
 * field, `option` the server option that sets the folder. */
char *ls_confine(const char *dir, const char *name, ls_confine_kind kind, const char *field, const char *option,
                 ls_error *err);

/* A folder option's value as a resolved path, kept in *value; NULL or ""
 * becomes NULL (none allowed). -1 when it is not a folder. */
int ls_confine_dir_option(const char *option, const char **value, char **resolved, ls_error *err);

#endif
