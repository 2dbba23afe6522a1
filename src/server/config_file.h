/*
 * config_file.h - options from a YAML file (`lipstream serve --config FILE`).
 *
 * The file is one YAML mapping of option names (as on the command line,
 * without "--") to single values:
 *     listenport: 8010
 *     avatar_id: demo
 *     max_session: 4
 * Values are converted as the command line converts them (cli/args.h);
 * flags take true/false. Unknown names, nested values, duplicate keys and
 * YAML syntax errors are errors naming the file and line. The file's string
 * values are copied into `owned` (freed by the caller), so they outlive the
 * parser.
 */
#ifndef LS_SERVER_CONFIG_FILE_H
#define LS_SERVER_CONFIG_FILE_H

#include "cli/args.h"
#include "util/error.h"

typedef struct ls_owned_strings {
    char **items;
    int n;
} ls_owned_strings;

void ls_owned_strings_free(ls_owned_strings *s);
/* Keeps `s` (malloc'd) and returns it; NULL when out of memory (s is freed). */
char *ls_owned_strings_keep(ls_owned_strings *s, char *str);

int ls_config_file_apply(const char *path, const ls_arg *spec, int nspec, ls_owned_strings *owned,
                         ls_error *err);

#endif
