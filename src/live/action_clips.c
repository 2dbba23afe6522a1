/*
 * action_clips.c - loading the action clips of action_clips.h: the JSON
 * list, each clip's numbered frames (avatar/frame_dir.h) and its WAV.
 */
#include "live/action_clips.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audio_load.h"
#include "avatar/frame_dir.h"
#include "image/image_io.h"
#include "util/confine.h"
#include "util/json.h"

#define MAX_AUDIOTYPE 1000000

static void clip_clear(ls_action_clip *c)
{
    for (int i = 0; i < c->nframes; i++)
        ls_image_free(&c->frames[i]);
    free(c->frames);
    free(c->audio);
}

void ls_action_clips_free(ls_action_clips *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->n; i++)
        clip_clear(&c->clips[i]);
    free(c->clips);
    free(c);
}

const ls_action_clip *ls_action_clips_find(const ls_action_clips *clips, int audiotype)
{
    for (int i = 0; clips && i < clips->n; i++)
        if (clips->clips[i].audiotype == audiotype)
            return &clips->clips[i];
    return NULL;
}

static int load_frames(const char *dir, int width, int height, ls_action_clip *c, ls_error *err)
{
    ls_frame_list list = { 0 };
    if (ls_frame_dir_list(dir, &list, err) != 0)
        return -1;
    int rc = -1;
    if (list.n == 0) {
        ls_error_set(err, "%s: no numbered frames (0.png, 1.jpg, ...)", dir);
        goto done;
    }
    c->frames = calloc((size_t)list.n, sizeof *c->frames);
    if (!c->frames) {
        ls_error_set(err, "%s: out of memory", dir);
        goto done;
    }
    for (; c->nframes < list.n; c->nframes++) {
        ls_image *img = &c->frames[c->nframes];
        if (ls_image_read(list.paths[c->nframes], 3, img, err) != 0)
            goto done;
        if (img->width != width || img->height != height) {
            ls_error_set(err, "%s: %dx%d, the avatar's frames are %dx%d", list.paths[c->nframes],
                         img->width, img->height, width, height);
            ls_image_free(img);
            goto done;
        }
    }
    rc = 0;
done:
    ls_frame_list_free(&list);
    return rc;
}

static int load_audio(const char *path, ls_action_clip *c, ls_error *err)
{
    ls_audio a = { 0 };
    if (ls_audio_load_16k(path, &a, err) != 0)
        return -1;
    if (a.n == 0) {
        ls_audio_free(&a);
        return ls_error_set(err, "%s: no audio samples", path);
    }
    c->audio = malloc((size_t)a.n * sizeof *c->audio);
    if (!c->audio) {
        ls_audio_free(&a);
        return ls_error_set(err, "%s: out of memory", path);
    }
    for (int64_t i = 0; i < a.n; i++) {
        double v = rint(a.samples[i] * 32768.0);
        c->audio[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
    }
    c->naudio = a.n;
    ls_audio_free(&a);
    return 0;
}

/* The path to open for `name`: itself when trusted, else its resolved
 * path inside the allowed folder (free() it). */
static char *clip_path(const ls_clip_paths *confined, const char *name, ls_confine_kind kind, const char *field,
                       ls_error *err)
{
    if (!confined) {
        char *copy = strdup(name);
        if (!copy)
            ls_error_set(err, "out of memory");
        return copy;
    }
    return ls_confine(confined->dir, name, kind, field, confined->option, err);
}

/* One list item {audiotype, imgpath, audiopath}. */
static int load_clip(const ls_json *item, const ls_action_clips *done, const ls_clip_paths *confined, int width,
                     int height, ls_action_clip *c, ls_error *err)
{
    int64_t type;
    const char *imgpath, *audiopath = NULL;
    if (!item || item->kind != LS_JSON_OBJECT)
        return ls_error_set(err, "not an object");
    int has_type = ls_json_get_int(item, "audiotype", &type, err);
    int has_img = has_type < 0 ? -1 : ls_json_get_string(item, "imgpath", &imgpath, err);
    int has_audio = has_img < 0 ? -1 : ls_json_get_string(item, "audiopath", &audiopath, err);
    if (has_audio < 0)
        return -1;
    if (has_type == 0 || has_img == 0)
        return ls_error_set(err, "needs \"audiotype\" and \"imgpath\"");
    if (type < LS_AUDIOTYPE_SILENCE || type > MAX_AUDIOTYPE)
        return ls_error_set(err, "audiotype %lld: must be 1 (idle) or an action number >= 2",
                            (long long)type);
    if (ls_action_clips_find(done, (int)type))
        return ls_error_set(err, "audiotype %lld given twice", (long long)type);
    if (type >= 2 && has_audio == 0)
        return ls_error_set(err, "audiotype %lld needs \"audiopath\"", (long long)type);
    c->audiotype = (int)type;
    char *frames = clip_path(confined, imgpath, LS_CONFINE_DIR, "imgpath", err);
    int rc = frames ? load_frames(frames, width, height, c, err) : -1;
    free(frames);
    if (rc != 0 || type < 2)
        return rc;
    char *audio = clip_path(confined, audiopath, LS_CONFINE_FILE, "audiopath", err);
    rc = audio ? load_audio(audio, c, err) : -1;
    free(audio);
    return rc;
}

static int from_json(const ls_json *root, const char *what, const ls_clip_paths *confined, int width, int height,
                     ls_action_clips **out, ls_error *err)
{
    if (root->kind != LS_JSON_ARRAY)
        return ls_error_set(err, "%s: action clips: not a JSON list", what);
    ls_action_clips *clips = calloc(1, sizeof *clips);
    if (!clips || !(clips->clips = calloc(root->u.arr.n + 1, sizeof *clips->clips))) {
        free(clips);
        return ls_error_set(err, "%s: out of memory", what);
    }
    for (size_t i = 0; i < root->u.arr.n; i++) {
        if (load_clip(root->u.arr.items[i], clips, confined, width, height, &clips->clips[i], err) != 0) {
            clip_clear(&clips->clips[i]);
            ls_action_clips_free(clips);
            return ls_error_prefix(err, "%s: action clip %zu", what, i);
        }
        clips->n++;
    }
    *out = clips;
    return 0;
}

int ls_action_clips_parse(const char *json, const char *what, const ls_clip_paths *confined, int width,
                          int height, ls_action_clips **out, ls_error *err)
{
    *out = NULL;
    ls_json *root;
    if (ls_json_parse(json, strlen(json), &root, err) != 0)
        return ls_error_prefix(err, "%s", what);
    int rc = from_json(root, what, confined, width, height, out, err);
    ls_json_free(root);
    return rc;
}

int ls_action_clips_load(const char *path, int width, int height, ls_action_clips **out,
                         ls_error *err)
{
    *out = NULL;
    ls_json *root;
    if (ls_json_read_file(path, &root, err) != 0)
        return -1;
    int rc = from_json(root, path, NULL, width, height, out, err);
    ls_json_free(root);
    return rc;
}
