/*
 * model_files.h - finding model files on disk.
 *
 * Published models come as a folder (config + weights under fixed names) but
 * users often point at the weights file itself. ls_model_file() accepts
 * either: a regular file is taken as is, a folder is searched for the first
 * of a list of known file names (the list is in order of preference).
 */
#ifndef LS_MODELS_MODEL_FILES_H
#define LS_MODELS_MODEL_FILES_H

#include <stddef.h>

#include "util/error.h"

#define LS_PATH_MAX 4096

/* 1 when path names an existing directory / regular file. */
int ls_is_dir(const char *path);
int ls_is_file(const char *path);

/* out = "dir/name" (dir may end in '/'); -1 with an error when it does not fit. */
int ls_path_join(char *out, size_t size, const char *dir, const char *name, ls_error *err);

/* out = the folder holding `path` ("." when it has none). */
void ls_path_dir(char *out, size_t size, const char *path);

/* Resolves a weights path: a file as is, or the first of `names`
 * (NULL-terminated) found in the folder `path`. The error lists the names
 * looked for. */
int ls_model_file(const char *path, const char *const *names, char *out, size_t size,
                  ls_error *err);

#endif
