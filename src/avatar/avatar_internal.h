/*
 * avatar_internal.h - what the folder loaders share (not for other modules).
 *
 * A loader allocates the avatar with avatar_new, fills frame boxes and the
 * per-frame image and mask paths, calls avatar_read_images (parallel
 * decoding) and avatar_check (geometry), and sets latents when it has them.
 */
#ifndef LS_AVATAR_INTERNAL_H
#define LS_AVATAR_INTERNAL_H

#include "avatar/avatar.h"

ls_avatar *avatar_new(const char *dir, ls_avatar_format format, int nframes, ls_error *err);

/* Decodes frame i from image_paths[i] (BGR) and, for frames with a face, its
 * mask from mask_paths[i] (grey). */
int avatar_read_images(ls_avatar *a, char *const *image_paths, char *const *mask_paths,
                       ls_error *err);

/* Checks every frame: one size for all, face box inside the frame, mask the
 * crop box's size. A crop box reaching past the frame edge (LiveTalking
 * allows that) is cut to the frame and its mask cut with it; a face box
 * outside the frame, or not inside its crop box, is an error. */
int avatar_check(ls_avatar *a, ls_error *err);

int avatar_load_lipstream(ls_avatar **out, const char *dir, ls_error *err);
int avatar_load_livetalking(ls_avatar **out, const char *dir, ls_error *err);

#endif
