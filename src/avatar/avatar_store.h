/*
 * avatar_store.h - writing avatars in lipstream's folder layout.
 *
 *   DIR/avatar.json            the manifest (README "Avatars")
 *   DIR/frames/<n>.png         frames (PNG or JPEG)
 *   DIR/masks/<n>.png          blend masks, crop box size, frames with a face only
 *   DIR/latents.safetensors    one F32 tensor "latents" (N, 8, 32, 32), when computed
 * Files are written under temporary names and renamed into place, the
 * manifest last, so an interrupted write never leaves a manifest that
 * points at missing or half-written data.
 */
#ifndef LS_AVATAR_AVATAR_STORE_H
#define LS_AVATAR_AVATAR_STORE_H

#include "avatar/avatar.h"
#include "util/error.h"

#define LS_AVATAR_FORMAT_NAME "lipstream-avatar"
#define LS_AVATAR_FORMAT_VERSION 1
#define LS_AVATAR_LATENTS_FILE "latents.safetensors"

/* Writes the whole avatar into a->dir (created if missing): frames and masks
 * as PNG (their file names are recorded in the frames), latents when
 * a->latents is set, then the manifest. */
int ls_avatar_save(ls_avatar *a, ls_error *err);

/* Writes a->latents and rewrites the manifest to point at them (for an
 * avatar loaded from, or saved as, the lipstream layout). */
int ls_avatar_save_latents(const ls_avatar *a, ls_error *err);

/* 1 when `id` is a usable avatar name: 1-64 of [A-Za-z0-9_.-], not starting with '.'. */
int ls_avatar_id_valid(const char *id);

#endif
