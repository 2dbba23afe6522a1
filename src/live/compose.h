/*
 * compose.h - a session's output pictures.
 *
 * Each output frame is built from its ls_frame_choice (live/frame_plan.h):
 * a speaking frame is the avatar frame with the generated face pasted back
 * (avatar/blend.h: resize to the face box, mask blend in the crop box); an
 * idle frame is the avatar frame as it is, a clip frame the clip's picture.
 * A speaking frame without a face (its inference was skipped, or the avatar
 * frame has no face box) is the avatar frame as it is.
 *
 * Transitions: with transition_frames T > 0, when output switches between
 * speaking and not speaking, the last picture before the switch fades into
 * the new frames over T frames: frame j = 1 .. T after the switch shows
 * (1 - a) last + a new with a = j / (T + 1) (rounded to nearest), the way
 * LiveTalking blends with cv2.addWeighted, but counted in frames rather than
 * wall-clock time so that a rendered file and a live stream look the same.
 */
#ifndef LS_LIVE_COMPOSE_H
#define LS_LIVE_COMPOSE_H

#include <stdint.h>

#include "avatar/avatar.h"
#include "live/frame_plan.h"

typedef struct ls_compose ls_compose;

int ls_compose_new(const ls_avatar *avatar, int transition_frames, ls_compose **out,
                   ls_error *err);
void ls_compose_free(ls_compose *c);

/* The picture of the next output frame; `face` (face_height x face_width
 * BGR) for a speaking frame, or NULL. The image stays valid until the next
 * call. */
int ls_compose_frame(ls_compose *c, const ls_frame_choice *choice, const uint8_t *face,
                     int face_height, int face_width, const ls_image **out, ls_error *err);

/* The same for a speaking frame whose face was pasted where it was made
 * (live/infer_worker.h's paste): `pasted` is that whole avatar frame. */
int ls_compose_pasted(ls_compose *c, const ls_frame_choice *choice, const uint8_t *pasted,
                      const ls_image **out, ls_error *err);

#endif
