/*
 * test_compose.c - action clips, the frame planner and output composition.
 *
 * usage: test_compose WORK_DIR   (clip folders and WAVs are written there)
 *
 * A synthetic 3-frame avatar of solid colours (48x40, face box inside a crop
 * box, an all-255 mask), so every expected pixel is known exactly:
 *  - action clips: a valid list loads (frames in numeric order, audio equal
 *    to the WAV's samples); broken lists fail with a message naming the
 *    fault (not a list, bad JSON, audiotype 0, twice the same audiotype, no
 *    audio for an action, frames of another size, an empty folder, a missing
 *    WAV);
 *  - the planner: ping-pong avatar frames, speech in either audio frame,
 *    the idle clip while silent, the restart at avatar frame 0 when speech
 *    follows silence with an idle clip, an action clip's audio replacing
 *    silence (zero-padded at its end) and its frames, the return to silence
 *    when its audio ends, speech taking precedence, set_audiotype starting
 *    over, interrupt, unknown audiotypes refused;
 *  - composition: idle and clip frames equal their pictures; a speaking
 *    frame is the avatar frame with the face in the face box and nothing
 *    changed outside it; no face pasted when the face is missing; the
 *    speaking <-> idle cross-fade over T frames, pixel for pixel.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "image/image_io.h"
#include "io/wav.h"
#include "live/compose.h"
#include "live/frame_plan.h"

#define W 48
#define H 40
#define FACE_SIDE 16
#define CLIP_AUDIO 1000   /* samples: 3 frames and 40 samples */

static const char *work;
static char idle_dir[4096], wave_dir[4096], small_dir[4096], empty_dir[4096], wav_path[4096];

static void solid(ls_image *img, int w, int h, uint8_t b, uint8_t g, uint8_t r)
{
    ls_error err = { 0 };
    ls_image_alloc(img, w, h, 3, &err);
    for (int i = 0; i < w * h; i++) {
        img->data[3 * i] = b;
        img->data[3 * i + 1] = g;
        img->data[3 * i + 2] = r;
    }
}

static void write_frames(const char *dir, int n, int w, int h, int shade)
{
    char path[4200];
    ls_error err = { 0 };
    mkdir(dir, 0755);
    for (int i = 0; i < n; i++) {
        ls_image img;
        solid(&img, w, h, (uint8_t)(shade + 10 * i), 7, 9);
        snprintf(path, sizeof path, "%s/%d.png", dir, i);
        CHECK(ls_image_write(path, &img, &err) == 0, "%s", err.msg);
        ls_image_free(&img);
    }
}

static void make_files(void)
{
    ls_error err = { 0 };
    mkdir(work, 0755);
    snprintf(idle_dir, sizeof idle_dir, "%s/idle", work);
    snprintf(wave_dir, sizeof wave_dir, "%s/wave", work);
    snprintf(small_dir, sizeof small_dir, "%s/small", work);
    snprintf(empty_dir, sizeof empty_dir, "%s/empty", work);
    snprintf(wav_path, sizeof wav_path, "%s/wave.wav", work);
    write_frames(idle_dir, 2, W, H, 100);
    write_frames(wave_dir, 3, W, H, 200);
    write_frames(small_dir, 1, W / 2, H, 50);
    mkdir(empty_dir, 0755);
    float samples[CLIP_AUDIO];
    for (int i = 0; i < CLIP_AUDIO; i++)
        samples[i] = (float)(((i % 200) - 100) * 64) / 32768.0f;   /* exact in 16 bits */
    CHECK(ls_wav_write16(wav_path, samples, CLIP_AUDIO, 16000, &err) == 0, "%s", err.msg);
}

static ls_action_clips *load_good(void)
{
    char json[16384];
    ls_error err = { 0 };
    ls_action_clips *clips = NULL;
    snprintf(json, sizeof json,
             "[{\"audiotype\": 1, \"imgpath\": \"%s\"},"
             " {\"audiotype\": 2, \"imgpath\": \"%s\", \"audiopath\": \"%s\"}]",
             idle_dir, wave_dir, wav_path);
    CHECK(ls_action_clips_parse(json, "good", NULL, W, H, &clips, &err) == 0, "%s", err.msg);
    return clips;
}

static void test_clips_load(void)
{
    ls_action_clips *clips = load_good();
    if (!clips)
        return;
    const ls_action_clip *idle = ls_action_clips_find(clips, 1), *wave = ls_action_clips_find(clips, 2);
    CHECK(clips->n == 2 && idle && wave && !ls_action_clips_find(clips, 3), "clips found");
    CHECK(idle->nframes == 2 && !idle->audio, "idle clip: %d frames", idle->nframes);
    CHECK(wave->nframes == 3 && wave->frames[2].data[0] == 220, "wave clip frames in order");
    int audio_ok = wave->naudio == CLIP_AUDIO;
    for (int i = 0; audio_ok && i < CLIP_AUDIO; i++)
        audio_ok = wave->audio[i] == ((i % 200) - 100) * 64;
    CHECK(audio_ok, "wave clip audio: %lld samples", (long long)wave->naudio);
    ls_action_clips_free(clips);

    char missing[9000], twice[9000], json[20000];
    snprintf(missing, sizeof missing, "%s\", \"audiopath\": \"%s/nowhere.wav", wave_dir, work);
    snprintf(twice, sizeof twice, "%s\"}, {\"audiotype\": 1, \"imgpath\": \"%s", idle_dir, idle_dir);
    /* each case: JSON text around one path, and the message expected */
    struct { const char *head, *path, *tail, *want; } bad[] = {
        { "{}", "", "", "not a JSON list" },
        { "[{\"audiotype\": 1,", "", "", "bad" },
        { "[{\"audiotype\": 0, \"imgpath\": \"", idle_dir, "\"}]", "audiotype 0" },
        { "[{\"audiotype\": \"2\", \"imgpath\": \"", idle_dir, "\"}]", "audiotype" },
        { "[{\"audiotype\": 1, \"imgpath\": \"", twice, "\"}]", "given twice" },
        { "[{\"audiotype\": 2, \"imgpath\": \"", wave_dir, "\"}]", "needs \"audiopath\"" },
        { "[{\"audiotype\": 1, \"imgpath\": \"", small_dir, "\"}]", "the avatar's frames are 48x40" },
        { "[{\"audiotype\": 1, \"imgpath\": \"", empty_dir, "\"}]", "no numbered frames" },
        { "[{\"audiotype\": 2, \"imgpath\": \"", missing, "\"}]", "nowhere.wav" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ls_error err = { 0 };
        ls_action_clips *c = NULL;
        snprintf(json, sizeof json, "%s%s%s", bad[i].head, bad[i].path, bad[i].tail);
        int rc = ls_action_clips_parse(json, "bad", NULL, W, H, &c, &err);
        CHECK(rc == -1 && !c && strstr(err.msg, bad[i].want), "case %zu: rc %d, message '%s'", i,
              rc, err.msg);
    }
}

/* --- planner ------------------------------------------------------------ */

static void expect(ls_frame_choice f, ls_frame_kind kind, int index, const char *what)
{
    int got = f.kind == LS_FRAME_CLIP ? f.clip_frame : f.avatar_index;
    CHECK(f.kind == kind && got == index, "%s: kind %d index %d, want kind %d index %d", what,
          f.kind, got, kind, index);
}

static void test_plan_without_clips(void)
{
    ls_error err = { 0 };
    ls_frame_plan *p;
    ls_frame_plan_new(NULL, 3, &p, &err);
    /* ping-pong over 3 frames: 0 1 2 2 1 0 0 1; speech in either half speaks */
    const int types[8][2] = { { 1, 1 }, { 0, 1 }, { 1, 0 }, { 0, 0 }, { 1, 1 }, { 1, 1 }, { 0, 0 }, { 5, 5 } };
    const int index[8] = { 0, 1, 2, 2, 1, 0, 0, 1 };
    const ls_frame_kind kind[8] = { LS_FRAME_IDLE, LS_FRAME_SPEAK, LS_FRAME_SPEAK, LS_FRAME_SPEAK,
                                    LS_FRAME_IDLE, LS_FRAME_IDLE, LS_FRAME_SPEAK, LS_FRAME_IDLE };
    for (int i = 0; i < 8; i++) {
        ls_frame_choice f = ls_frame_plan_next(p, types[i][0], types[i][1]);
        expect(f, kind[i], index[i], "no clips");
    }
    CHECK(ls_frame_plan_set_audiotype(p, 2, &err) == -1 && strstr(err.msg, "audiotype 2"),
          "a clip without clips: %s", err.msg);
    ls_frame_plan_free(p);
}

static void test_plan_with_clips(void)
{
    ls_action_clips *clips = load_good();
    if (!clips)
        return;
    ls_error err = { 0 };
    ls_frame_plan *p;
    ls_frame_plan_new(clips, 3, &p, &err);
    const ls_action_clip *wave = ls_action_clips_find(clips, 2);

    /* silence: the idle clip ping-pong over 2 frames; speech restarts the avatar at 0 */
    expect(ls_frame_plan_next(p, 1, 1), LS_FRAME_CLIP, 0, "idle 0");
    expect(ls_frame_plan_next(p, 1, 1), LS_FRAME_CLIP, 1, "idle 1");
    expect(ls_frame_plan_next(p, 1, 1), LS_FRAME_CLIP, 1, "idle 2");
    expect(ls_frame_plan_next(p, 0, 0), LS_FRAME_SPEAK, 0, "speech restarts at 0");
    expect(ls_frame_plan_next(p, 0, 0), LS_FRAME_SPEAK, 1, "speech goes on");
    expect(ls_frame_plan_next(p, 1, 1), LS_FRAME_CLIP, 0, "idle clip resumes");
    expect(ls_frame_plan_next(p, 1, 0), LS_FRAME_SPEAK, 0, "speech restarts again");

    /* an action clip: its audio replaces silence, then back to silence */
    CHECK(ls_frame_plan_set_audiotype(p, 2, &err) == 0, "%s", err.msg);
    int16_t buf[320];
    int ok = 1, type;
    for (int f = 0; f < 4; f++) {
        memset(buf, 0, sizeof buf);
        type = ls_frame_plan_audio(p, 1, buf, 320);
        for (int i = 0; i < 320; i++) {
            int src = f * 320 + i;
            ok &= buf[i] == (src < CLIP_AUDIO ? wave->audio[src] : 0);
        }
        ok &= type == 2;
    }
    CHECK(ok, "the clip's audio replaces 4 silent frames, zero-padded at the end");
    buf[0] = 1;
    CHECK(ls_frame_plan_audio(p, 1, buf, 320) == 1 && buf[0] == 1,
          "after the clip's audio, silence stays silence");
    expect(ls_frame_plan_next(p, 2, 2), LS_FRAME_CLIP, 0, "wave 0");
    expect(ls_frame_plan_next(p, 2, 2), LS_FRAME_CLIP, 1, "wave 1");
    expect(ls_frame_plan_next(p, 2, 1), LS_FRAME_CLIP, 2, "wave 2 (first half decides)");
    expect(ls_frame_plan_next(p, 1, 1), LS_FRAME_CLIP, 0, "idle clip where it left off (5th)");

    /* restart, speech has precedence, interrupt */
    ls_frame_plan_set_audiotype(p, 2, &err);
    CHECK(ls_frame_plan_audio(p, 0, buf, 320) == 0 && buf[0] == 1, "speech is not replaced");
    CHECK(ls_frame_plan_audio(p, 1, buf, 320) == 2 && buf[0] == wave->audio[0],
          "set_audiotype starts the clip over");
    expect(ls_frame_plan_next(p, 2, 2), LS_FRAME_CLIP, 0, "wave frames start over");
    ls_frame_plan_interrupt(p);
    buf[0] = 3;
    CHECK(ls_frame_plan_audio(p, 1, buf, 320) == 1 && buf[0] == 3, "interrupt stops the clip");
    CHECK(ls_frame_plan_set_audiotype(p, 1, &err) == -1, "the idle clip is no action");
    CHECK(ls_frame_plan_set_audiotype(p, 7, &err) == -1 && strstr(err.msg, "7"), "%s", err.msg);
    ls_frame_plan_free(p);
    ls_action_clips_free(clips);
}

/* --- composition ---------------------------------------------------------- */

static ls_box face_box = { 12, 10, 36, 30 }, crop_box = { 8, 6, 40, 34 };

static void make_avatar(ls_avatar *a)
{
    memset(a, 0, sizeof *a);
    a->width = W;
    a->height = H;
    a->nframes = 3;
    a->frames = calloc(3, sizeof *a->frames);
    ls_error err = { 0 };
    for (int i = 0; i < 3; i++) {
        ls_avatar_frame *f = &a->frames[i];
        solid(&f->image, W, H, (uint8_t)(20 + 40 * i), 60, 90);
        f->face = i == 2 ? (ls_box){ 0, 0, 0, 0 } : face_box;   /* frame 2 has no face */
        f->crop = i == 2 ? (ls_box){ 0, 0, 0, 0 } : crop_box;
        if (i != 2) {
            ls_image_alloc(&f->mask, ls_box_width(crop_box), ls_box_height(crop_box), 1, &err);
            memset(f->mask.data, 255, (size_t)f->mask.width * f->mask.height);
        }
    }
}

static void free_avatar(ls_avatar *a)
{
    for (int i = 0; i < a->nframes; i++) {
        ls_image_free(&a->frames[i].image);
        ls_image_free(&a->frames[i].mask);
    }
    free(a->frames);
}

static int inside(ls_box b, int x, int y)
{
    return x >= b.x1 && x < b.x2 && y >= b.y1 && y < b.y2;
}

/* The expected picture: the avatar frame, with the face colour in its face box. */
static void expected(const ls_avatar *a, int index, const uint8_t *face_colour, uint8_t *out)
{
    const ls_avatar_frame *f = &a->frames[index];
    memcpy(out, f->image.data, (size_t)W * H * 3);
    for (int y = 0; face_colour && y < H; y++)
        for (int x = 0; x < W; x++)
            if (ls_avatar_has_face(f) && inside(f->face, x, y))
                memcpy(out + (y * W + x) * 3, face_colour, 3);
}

static void test_compose(void)
{
    ls_avatar a;
    make_avatar(&a);
    ls_error err = { 0 };
    ls_image face;
    solid(&face, FACE_SIDE, FACE_SIDE, 250, 5, 128);
    const uint8_t face_colour[3] = { 250, 5, 128 };
    static uint8_t want[W * H * 3], last[W * H * 3], target[W * H * 3];
    const ls_image *out;

    /* no transition: exact pictures */
    ls_compose *c;
    ls_compose_new(&a, 0, &c, &err);
    ls_frame_choice idle = { .kind = LS_FRAME_IDLE, .avatar_index = 1 };
    ls_frame_choice speak = { .kind = LS_FRAME_SPEAK, .avatar_index = 0 };
    ls_frame_choice no_face = { .kind = LS_FRAME_SPEAK, .avatar_index = 2 };
    CHECK(ls_compose_frame(c, &idle, NULL, 0, 0, &out, &err) == 0 &&
          memcmp(out->data, a.frames[1].image.data, sizeof want) == 0, "idle frame");
    CHECK(ls_compose_frame(c, &speak, face.data, FACE_SIDE, FACE_SIDE, &out, &err) == 0, "%s", err.msg);
    expected(&a, 0, face_colour, want);
    CHECK(memcmp(out->data, want, sizeof want) == 0, "speaking frame: face in the box, rest unchanged");
    ls_compose_frame(c, &speak, NULL, FACE_SIDE, FACE_SIDE, &out, &err);
    CHECK(memcmp(out->data, a.frames[0].image.data, sizeof want) == 0, "skipped inference: avatar frame");
    ls_compose_frame(c, &no_face, face.data, FACE_SIDE, FACE_SIDE, &out, &err);
    CHECK(memcmp(out->data, a.frames[2].image.data, sizeof want) == 0, "frame without a face");
    ls_compose_free(c);

    /* T = 2: idle, idle | speak (fade 1/3, 2/3), speak | idle (fade) */
    enum { T = 2 };
    ls_compose_new(&a, T, &c, &err);
    ls_compose_frame(c, &idle, NULL, 0, 0, &out, &err);
    ls_compose_frame(c, &idle, NULL, 0, 0, &out, &err);
    memcpy(last, out->data, sizeof last);
    expected(&a, 0, face_colour, target);
    int ok = 1;
    for (int j = 1; j <= T + 1; j++) {
        ls_compose_frame(c, &speak, face.data, FACE_SIDE, FACE_SIDE, &out, &err);
        for (size_t k = 0; k < sizeof want; k++) {
            int jj = j <= T ? j : T + 1;
            want[k] = (uint8_t)((last[k] * (T + 1 - jj) + target[k] * jj + (T + 1) / 2) / (T + 1));
        }
        ok &= memcmp(out->data, want, sizeof want) == 0;
    }
    CHECK(ok, "idle -> speaking fades over %d frames", T);
    memcpy(last, out->data, sizeof last);
    ls_compose_frame(c, &idle, NULL, 0, 0, &out, &err);
    for (size_t k = 0; k < sizeof want; k++)
        want[k] = (uint8_t)((last[k] * T + a.frames[1].image.data[k] + (T + 1) / 2) / (T + 1));
    CHECK(memcmp(out->data, want, sizeof want) == 0, "speaking -> idle fades");
    ls_compose_free(c);
    ls_image_free(&face);
    free_avatar(&a);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_compose WORK_DIR\n");
        return 2;
    }
    work = argv[1];
    make_files();
    test_clips_load();
    test_plan_without_clips();
    test_plan_with_clips();
    test_compose();
    return check_result("test_compose");
}
