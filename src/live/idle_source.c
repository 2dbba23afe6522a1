/*
 * idle_source.c - the idle avatar as a video source: frame n shows avatar
 * frame ls_avatar_cycle_index(n) (forward, then backward).
 */
#include "live/video_source.h"

static const ls_image *idle_frame(ls_video_source *src, int64_t n, const int16_t audio[LS_MEDIA_AUDIO_PER_VIDEO])
{
    const ls_avatar *a = ((ls_idle_source *)src)->avatar;
    return &a->frames[ls_avatar_cycle_index(n, a->nframes)].image;
}

void ls_idle_source_init(ls_idle_source *s, const ls_avatar *avatar)
{
    s->base.frame = idle_frame;
    s->avatar = avatar;
}
