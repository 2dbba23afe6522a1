/*
 * frame_dir.h - the numbered image files of a folder, in numeric order.
 *
 * LiveTalking's full_imgs/ and mask/ folders and its action clips name
 * frames by number (00000000.png, 1.jpg, ...) and play them in numeric
 * order. Files whose name is not digits plus .png/.jpg/.jpeg are ignored;
 * two files with the same number (1.png and 01.png) are an error.
 */
#ifndef LS_AVATAR_FRAME_DIR_H
#define LS_AVATAR_FRAME_DIR_H

#include "util/error.h"

typedef struct ls_frame_list {
    char **paths;   /* "dir/name", in numeric order */
    int n;
} ls_frame_list;

/* Lists `dir`; an empty folder gives n = 0. Free with ls_frame_list_free. */
int ls_frame_dir_list(const char *dir, ls_frame_list *out, ls_error *err);
void ls_frame_list_free(ls_frame_list *l);

#endif
