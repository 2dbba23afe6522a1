/*
 * frame_plan.c - the action-clip state machine of frame_plan.h.
 *
 * State: the clip whose audio replaces silence (0 = none), a read position
 * in each clip's audio and a frame counter per clip, the avatar frame
 * counter, and whether the previous frame was a speaking one.
 */
#include "live/frame_plan.h"

#include <stdlib.h>
#include <string.h>

#include "avatar/avatar.h"

struct ls_frame_plan {
    const ls_action_clips *clips;
    int avatar_frames;
    int playing;               /* audiotype whose audio plays (>= 2), or 0 / 1 */
    int64_t *audio_pos;        /* (clips->n) samples of each clip's audio played */
    int64_t *frame_count;      /* (clips->n) frames of each clip shown */
    int64_t avatar_count;
    int was_speaking;
};

int ls_frame_plan_new(const ls_action_clips *clips, int avatar_frames, ls_frame_plan **out,
                      ls_error *err)
{
    *out = NULL;
    int n = clips ? clips->n : 0;
    ls_frame_plan *p = calloc(1, sizeof *p);
    if (p) {
        p->audio_pos = calloc((size_t)n + 1, sizeof *p->audio_pos);
        p->frame_count = calloc((size_t)n + 1, sizeof *p->frame_count);
    }
    if (!p || !p->audio_pos || !p->frame_count) {
        ls_frame_plan_free(p);
        return ls_error_set(err, "frame plan: out of memory");
    }
    p->clips = clips;
    p->avatar_frames = avatar_frames;
    *out = p;
    return 0;
}

void ls_frame_plan_free(ls_frame_plan *p)
{
    if (!p)
        return;
    free(p->audio_pos);
    free(p->frame_count);
    free(p);
}

static int clip_slot(const ls_frame_plan *p, const ls_action_clip *c)
{
    return (int)(c - p->clips->clips);
}

int ls_frame_plan_set_audiotype(ls_frame_plan *p, int audiotype, ls_error *err)
{
    const ls_action_clip *c = ls_action_clips_find(p->clips, audiotype);
    if (!c || audiotype < 2)
        return ls_error_set(err, "no action clip for audiotype %d", audiotype);
    p->playing = audiotype;
    p->audio_pos[clip_slot(p, c)] = 0;
    p->frame_count[clip_slot(p, c)] = 0;
    return 0;
}

void ls_frame_plan_interrupt(ls_frame_plan *p)
{
    p->playing = LS_AUDIOTYPE_SPEECH;
}

int ls_frame_plan_audio(ls_frame_plan *p, int type, int16_t *samples, int n)
{
    const ls_action_clip *c = ls_action_clips_find(p->clips, p->playing);
    if (type != LS_AUDIOTYPE_SILENCE || p->playing < 2 || !c)
        return type;
    int64_t *pos = &p->audio_pos[clip_slot(p, c)];
    int64_t left = c->naudio - *pos, take = left < n ? left : n;
    memcpy(samples, c->audio + *pos, (size_t)take * sizeof *samples);
    memset(samples + take, 0, (size_t)(n - take) * sizeof *samples);
    *pos += take;
    if (*pos >= c->naudio)
        p->playing = LS_AUDIOTYPE_SILENCE;   /* the clip's audio ended */
    return c->audiotype;
}

ls_frame_choice ls_frame_plan_next(ls_frame_plan *p, int type0, int type1)
{
    ls_frame_choice f = { 0 };
    int speaking = type0 == LS_AUDIOTYPE_SPEECH || type1 == LS_AUDIOTYPE_SPEECH;
    const ls_action_clip *clip = speaking ? NULL : ls_action_clips_find(p->clips, type0);
    if (speaking && !p->was_speaking && ls_action_clips_find(p->clips, LS_AUDIOTYPE_SILENCE))
        p->avatar_count = 0;
    if (clip) {
        f.kind = LS_FRAME_CLIP;
        f.clip = clip;
        f.clip_frame = ls_avatar_cycle_index(p->frame_count[clip_slot(p, clip)]++, clip->nframes);
    } else {
        f.kind = speaking ? LS_FRAME_SPEAK : LS_FRAME_IDLE;
        f.avatar_index = ls_avatar_cycle_index(p->avatar_count, p->avatar_frames);
    }
    p->avatar_count++;
    p->was_speaking = speaking;
    return f;
}
