/*
 * frame_plan.h - what each output frame shows, and the action-clip states.
 *
 * A session's audio is typed per 20 ms frame: 0 speech, 1 silence, >= 2 an
 * action clip's audio. The planner follows spec/api.md's action-clip rules:
 *  - audio: while a clip (audiotype >= 2) is requested, silence is replaced
 *    by the clip's audio, typed with its audiotype; when the clip's audio
 *    ends, the state returns to silence (1). ls_frame_plan_set_audiotype
 *    starts a clip from its beginning; ls_frame_plan_interrupt returns to
 *    state 0 (no clip);
 *  - pictures, per video frame (two audio frames): speech in either audio
 *    frame makes it a speaking frame (lip-synced avatar frame); otherwise
 *    the audiotype of its first audio frame picks a clip (1 = the idle clip)
 *    whose frames play ping-pong from where that clip left off (from 0
 *    after set_audiotype), or, without such a clip, the avatar frame. Avatar
 *    frames follow the output frame count ping-pong; when speech starts
 *    after silence and an idle clip exists, they restart at frame 0.
 * Single-threaded: the session engine serialises calls.
 */
#ifndef LS_LIVE_FRAME_PLAN_H
#define LS_LIVE_FRAME_PLAN_H

#include <stdint.h>

#include "live/action_clips.h"
#include "util/error.h"

typedef enum ls_frame_kind {
    LS_FRAME_SPEAK,   /* avatar frame `avatar_index` with the generated face */
    LS_FRAME_IDLE,    /* avatar frame `avatar_index` as it is */
    LS_FRAME_CLIP,    /* frame `clip_frame` of clip `clip` */
} ls_frame_kind;

typedef struct ls_frame_choice {
    ls_frame_kind kind;
    int avatar_index;
    const ls_action_clip *clip;
    int clip_frame;
} ls_frame_choice;

typedef struct ls_frame_plan ls_frame_plan;

/* clips may be NULL; avatar_frames >= 1. */
int ls_frame_plan_new(const ls_action_clips *clips, int avatar_frames, ls_frame_plan **out,
                      ls_error *err);
void ls_frame_plan_free(ls_frame_plan *p);

/* Starts action clip `audiotype` (>= 2, with a clip); -1 when there is none. */
int ls_frame_plan_set_audiotype(ls_frame_plan *p, int audiotype, ls_error *err);
void ls_frame_plan_interrupt(ls_frame_plan *p);

/* The audio of one incoming 20 ms frame of `type`: silence becomes the
 * playing clip's audio (samples replaced, zero-padded at its end).
 * Returns the frame's final type. */
int ls_frame_plan_audio(ls_frame_plan *p, int type, int16_t *samples, int n);

/* The picture of the next output frame, from its two audio frames' types. */
ls_frame_choice ls_frame_plan_next(ls_frame_plan *p, int type0, int type1);

#endif
