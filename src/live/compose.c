/*
 * compose.c - building output pictures (see compose.h).
 *
 * One output image, overwritten for every frame; a second one keeps the
 * picture a transition fades from, copied at the switch.
 */
#include "live/compose.h"

#include <stdlib.h>
#include <string.h>

#include "avatar/blend.h"

struct ls_compose {
    const ls_avatar *avatar;
    int transition;        /* frames a fade lasts, 0: none */
    ls_image out;          /* the current picture */
    ls_image from;         /* the picture being faded from */
    int fade;              /* frames since the last switch */
    int shown, was_speaking;
};

int ls_compose_new(const ls_avatar *avatar, int transition_frames, ls_compose **out,
                   ls_error *err)
{
    *out = NULL;
    ls_compose *c = calloc(1, sizeof *c);
    if (!c)
        return ls_error_set(err, "compose: out of memory");
    c->avatar = avatar;
    c->transition = transition_frames > 0 ? transition_frames : 0;
    c->fade = c->transition + 1;
    if (ls_image_alloc(&c->out, avatar->width, avatar->height, 3, err) != 0 ||
        (c->transition > 0 && ls_image_alloc(&c->from, avatar->width, avatar->height, 3, err) != 0)) {
        ls_compose_free(c);
        return ls_error_prefix(err, "compose");
    }
    *out = c;
    return 0;
}

void ls_compose_free(ls_compose *c)
{
    if (!c)
        return;
    ls_image_free(&c->out);
    ls_image_free(&c->from);
    free(c);
}

static size_t image_bytes(const ls_image *img)
{
    return (size_t)img->width * img->height * img->channels;
}

/* out = round(((T + 1 - j) from + j out) / (T + 1)) */
static void fade(ls_compose *c)
{
    unsigned total = (unsigned)c->transition + 1, j = (unsigned)c->fade;
    uint8_t *dst = c->out.data;
    const uint8_t *src = c->from.data;
    size_t n = image_bytes(&c->out);
    for (size_t i = 0; i < n; i++)
        dst[i] = (uint8_t)((src[i] * (total - j) + dst[i] * j + total / 2) / total);
}

/* The next picture: `pasted` as it is, or the choice's picture with `face`
 * (or none) blended in; then the fade. */
static int compose(ls_compose *c, const ls_frame_choice *choice, const uint8_t *pasted,
                   const uint8_t *face, int face_height, int face_width, const ls_image **out,
                   ls_error *err)
{
    int speaking = choice->kind == LS_FRAME_SPEAK;
    if (c->transition > 0 && c->shown && speaking != c->was_speaking) {
        memcpy(c->from.data, c->out.data, image_bytes(&c->out));
        c->fade = 0;
    }
    const ls_avatar_frame *af = &c->avatar->frames[choice->avatar_index];
    const ls_image *picture =
        choice->kind == LS_FRAME_CLIP ? &choice->clip->frames[choice->clip_frame] : &af->image;
    memcpy(c->out.data, pasted ? pasted : picture->data, image_bytes(&c->out));
    if (!pasted && speaking && face && ls_avatar_has_face(af)) {
        ls_image generated = { (uint8_t *)face, face_width, face_height, 3 };
        if (ls_blend_face(&c->out, &generated, af->face, &af->mask, af->crop, err) != 0)
            return ls_error_prefix(err, "compose: frame %d", choice->avatar_index);
    }
    if (c->fade < c->transition) {
        c->fade++;
        fade(c);
    }
    c->shown = 1;
    c->was_speaking = speaking;
    *out = &c->out;
    return 0;
}

int ls_compose_frame(ls_compose *c, const ls_frame_choice *choice, const uint8_t *face,
                     int face_height, int face_width, const ls_image **out, ls_error *err)
{
    return compose(c, choice, NULL, face, face_height, face_width, out, err);
}

int ls_compose_pasted(ls_compose *c, const ls_frame_choice *choice, const uint8_t *pasted,
                      const ls_image **out, ls_error *err)
{
    return compose(c, choice, pasted, NULL, 0, 0, out, err);
}
