/*
 * avatar_device.h - an avatar's frames and masks in backend memory, for the
 * paste-back where the faces are made (avatar/paste.h).
 *
 * ls_avatar_upload copies every frame and every mask to the backend once
 * per avatar; sessions sharing the avatar share the copy, which is freed
 * with the avatar. It costs the avatar's size on the device (300 frames of
 * 1280x720 take 830 MB). Before uploading it checks each face frame's boxes
 * and mask as ls_blend_face does, so that a paste never meets boxes that do
 * not fit.
 */
#ifndef LS_AVATAR_AVATAR_DEVICE_H
#define LS_AVATAR_AVATAR_DEVICE_H

#include "avatar/avatar.h"
#include "nn/backend.h"

/* Uploads once (later calls for the same backend return at once; another
 * backend is refused). Thread-safe. */
int ls_avatar_upload(ls_avatar *a, const nn_backend *be, ls_error *err);

/* The paste of avatar frame `index` (which has a face; the avatar uploaded)
 * into `out`, backend memory of the frame's size. */
nn_paste ls_avatar_paste(const ls_avatar *a, int index, uint8_t *out);

/* Frees the device copy (ls_avatar_free calls it). */
void ls_avatar_device_free(ls_avatar_device *d);

#endif
