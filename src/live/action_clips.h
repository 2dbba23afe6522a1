/*
 * action_clips.h - an avatar's action clips (LiveTalking's custom videos).
 *
 * A clip is a folder of numbered frames played for one audiotype, with the
 * audio that plays along:
 *   audiotype 1   the idle clip, looped (ping-pong) while nothing is said;
 *                 any audio is ignored (silence plays);
 *   audiotype >= 2  played on request with its audio (16 kHz mono WAV, any
 *                 WAV is converted), which is required; when it ends,
 *                 playback returns to silence.
 * The configuration (--customvideo_config file, or the custom_config string
 * of an offer) is a JSON list of {"audiotype": int, "imgpath": folder,
 * "audiopath": wav}; relative paths are taken from the working directory,
 * as upstream. A configuration from a client (an offer's custom_config) is
 * confined: its paths must lie inside the folder the server allows
 * (--custom_config_dir; util/confine.h), relative ones taken inside it, so
 * that a client cannot stream the server's other files to itself. Every
 * frame is decoded at load and must have the avatar's size, so nothing can
 * fail while playing.
 */
#ifndef LS_LIVE_ACTION_CLIPS_H
#define LS_LIVE_ACTION_CLIPS_H

#include <stdint.h>

#include "image/image.h"
#include "util/error.h"

#define LS_AUDIOTYPE_SPEECH 0
#define LS_AUDIOTYPE_SILENCE 1   /* also the idle clip's audiotype */

typedef struct ls_action_clip {
    int audiotype;
    int nframes;
    ls_image *frames;    /* (nframes) BGR, the avatar's size */
    int16_t *audio;      /* (naudio) 16 kHz mono; NULL for the idle clip */
    int64_t naudio;
} ls_action_clip;

typedef struct ls_action_clips {
    int n;
    ls_action_clip *clips;
} ls_action_clips;

/* Where a configuration's paths may lead: every imgpath and audiopath
 * inside `dir` (a resolved folder; NULL: nowhere, so none are accepted). */
typedef struct ls_clip_paths {
    const char *dir;
    const char *option;   /* the server option that sets it, for messages */
} ls_clip_paths;

/* From JSON text (`what` names it in messages); frames must be width x
 * height; `confined` NULL trusts the paths (the server's own file). */
int ls_action_clips_parse(const char *json, const char *what, const ls_clip_paths *confined, int width,
                          int height, ls_action_clips **out, ls_error *err);
/* From a JSON file. */
int ls_action_clips_load(const char *path, int width, int height, ls_action_clips **out,
                         ls_error *err);
void ls_action_clips_free(ls_action_clips *c);

/* The clip of `audiotype`, or NULL. clips may be NULL (none). */
const ls_action_clip *ls_action_clips_find(const ls_action_clips *clips, int audiotype);

#endif
