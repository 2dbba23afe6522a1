/*
 * test_avatar.c - avatar folders (both layouts), preparation, latents.
 *
 * Usage: test_avatar REF_DIR ASTRONAUT_PNG WORK_DIR. REF_DIR comes from
 * tests/ref/avatar_ref.py: a LiveTalking folder written with cv2, pickle and
 * torch.save (CUDA-tagged storages), its broken variants, MuseTalk's VAE
 * input for a face computed with cv2, a tiny random VAE, and short MP4
 * and WebM clips encoded by GStreamer. WORK_DIR is scratch space (emptied
 * by the caller).
 *
 * Tolerances: LiveTalking latents are copied bytes (exact). The VAE input
 * matches cv2's Lanczos resize exactly in the image tests, so the [-1, 1]
 * values may differ only by a grey level: 2/255. Latents from
 * ls_avatar_ensure_latents are compared with the same VAE run directly on
 * ls_avatar_face_input (same code path and batch: 1e-6).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "avatar/avatar.h"
#include "avatar/face_box.h"
#include "avatar/latents.h"
#include "avatar/prepare.h"
#include "check.h"
#include "image/image_io.h"
#include "io/npy.h"
#include "util/json.h"

static const char *ref_dir, *astronaut, *work_dir;

static void path_in(char *out, size_t size, const char *dir, const char *name)
{
    snprintf(out, size, "%s/%s", dir, name);
}

static void test_livetalking(void)
{
    char dir[1024], path[1024];
    ls_error err;
    ls_avatar *a;
    path_in(dir, sizeof dir, ref_dir, "livetalking");
    if (ls_avatar_load(dir, &a, &err)) {
        CHECK(0, "%s", err.msg);
        return;
    }
    CHECK(a->format == LS_AVATAR_LIVETALKING && a->nframes == 4 && a->width == 160 &&
              a->height == 120 && strcmp(a->id, "lt_test") == 0 && strcmp(a->version, "v15") == 0,
          "livetalking header");
    static const ls_box faces[4] = { { 40, 30, 110, 100 }, { 42, 31, 111, 100 }, { 0, 0, 0, 0 },
                                     { 38, 29, 108, 99 } };
    for (int i = 0; i < 4; i++) {
        const ls_avatar_frame *f = &a->frames[i];
        CHECK(memcmp(&f->face, &faces[i], sizeof faces[i]) == 0, "frame %d face box", i);
        if (ls_avatar_has_face(f))
            CHECK(f->mask.width == ls_box_width(f->crop) && f->mask.height == ls_box_height(f->crop),
                  "frame %d mask fits its crop box", i);
    }
    CHECK(!ls_avatar_has_face(&a->frames[2]) && ls_avatar_latent(a, 2) == NULL,
          "frame without a face has no latent");
    path_in(path, sizeof path, ref_dir, "expected_latents.npy");
    nn_tensor want;
    CHECK(ls_npy_read(path, &want, &err) == 0 && want.shape[0] == 3, "%s", err.msg);
    static const int frame_of_row[3] = { 0, 1, 3 };
    for (int r = 0; r < 3; r++) {
        char what[64];
        snprintf(what, sizeof what, "latents.pt row %d -> frame %d", r, frame_of_row[r]);
        check_close(what, ls_avatar_latent(a, frame_of_row[r]),
                    want.data + (size_t)r * LS_AVATAR_LATENT_SIZE, LS_AVATAR_LATENT_SIZE, 0, 0);
    }
    free(want.data);
    ls_avatar_free(a);
}

static void test_broken(void)
{
    char path[1024];
    ls_error err;
    path_in(path, sizeof path, ref_dir, "broken/cases.json");
    ls_json *cases;
    if (ls_json_read_file(path, &cases, &err)) {
        CHECK(0, "%s", err.msg);
        return;
    }
    for (size_t i = 0; i < cases->u.obj.n; i++) {
        char dir[2048];
        snprintf(dir, sizeof dir, "%s/broken/%s", ref_dir, cases->u.obj.keys[i]);
        const char *expect = cases->u.obj.values[i]->u.str.s;
        ls_avatar *a;
        int rc = ls_avatar_load(dir, &a, &err);
        if (expect[0]) {
            CHECK(rc == -1 && strstr(err.msg, expect), "%s: want an error with '%s', got '%s'",
                  cases->u.obj.keys[i], expect, rc ? err.msg : "success");
            if (rc == -1)
                printf("%-18s -> %s\n", cases->u.obj.keys[i], err.msg);
        } else {
            CHECK(rc == 0, "%s loads: %s", cases->u.obj.keys[i], err.msg);
            if (rc == 0) {
                const ls_avatar_frame *f = &a->frames[0];
                CHECK(f->crop.x1 == 0 && f->mask.width == ls_box_width(f->crop) &&
                          f->mask.width == 76 - 14,
                      "crop box cut at the frame edge: x1 %d, mask width %d", f->crop.x1,
                      f->mask.width);
                ls_avatar_free(a);
            }
        }
    }
    ls_json_free(cases);
    ls_avatar *a;
    CHECK(ls_avatar_load("/nonexistent/avatar", &a, &err) == -1 && strstr(err.msg, "not found"),
          "missing folder: %s", err.msg);
    CHECK(ls_avatar_load(ref_dir, &a, &err) == -1 && strstr(err.msg, "not an avatar folder"),
          "not an avatar folder: %s", err.msg);
}

static void test_cycle(void)
{
    static const int want[] = { 0, 1, 2, 2, 1, 0, 0, 1, 2, 2 };
    for (int i = 0; i < 10; i++)
        CHECK(ls_avatar_cycle_index(i, 3) == want[i], "cycle(%d, 3) = %d", i,
              ls_avatar_cycle_index(i, 3));
    CHECK(ls_avatar_cycle_index(12345, 1) == 0, "one frame");
    CHECK(ls_avatar_cycle_index(-1, 3) == 0, "negative index wraps like Python's %%");
    CHECK(ls_avatar_cycle_index((int64_t)1 << 40, 7) < 7, "large index");
}

static void test_cache(void)
{
    char dir[1024], slash[1100];
    ls_error err;
    ls_avatar *a, *b, *c;
    path_in(dir, sizeof dir, ref_dir, "livetalking");
    snprintf(slash, sizeof slash, "%s/", dir);
    CHECK(ls_avatar_acquire(dir, &a, &err) == 0, "%s", err.msg);
    CHECK(ls_avatar_acquire(slash, &b, &err) == 0 && a == b && a->refs == 2,
          "second acquire shares the loaded avatar");
    ls_avatar_release(b);
    ls_avatar_release(a);
    CHECK(ls_avatar_acquire(dir, &c, &err) == 0 && c->refs == 1, "reloaded after the last release");
    ls_avatar_release(c);
    CHECK(ls_avatar_acquire("/nonexistent", &c, &err) == -1 && c == NULL, "failed acquire");
}

static void test_face_input(void)
{
    char path[1024];
    ls_error err;
    ls_image frame;
    nn_tensor want;
    path_in(path, sizeof path, ref_dir, "face_input/frame.png");
    CHECK(ls_image_read(path, 3, &frame, &err) == 0, "%s", err.msg);
    path_in(path, sizeof path, ref_dir, "face_input/expected.npy");
    CHECK(ls_npy_read(path, &want, &err) == 0, "%s", err.msg);
    CHECK(nn_numel(&want) == LS_AVATAR_FACE_INPUT_SIZE, "expected input size");
    float *got = malloc(sizeof(float) * LS_AVATAR_FACE_INPUT_SIZE);
    ls_box box = { 70, 40, 231, 260 };
    CHECK(ls_avatar_face_input(&frame, box, got, &err) == 0, "%s", err.msg);
    check_close("VAE input (masked, reference) vs cv2", got, want.data, LS_AVATAR_FACE_INPUT_SIZE,
                2.0 / 255 + 1e-6, 0);
    ls_box outside = { 70, 40, 290, 260 };
    CHECK(ls_avatar_face_input(&frame, outside, got, &err) == -1, "box outside the frame refused");
    free(got);
    free(want.data);
    ls_image_free(&frame);
}

/* Writes `text` with `from` replaced by `to` into DIR/avatar.json. */
static void rewrite_manifest(const char *dir, const char *text, const char *from, const char *to)
{
    char path[1024];
    path_in(path, sizeof path, dir, "avatar.json");
    const char *at = strstr(text, from);
    CHECK(at != NULL, "manifest holds '%s'", from);
    FILE *f = fopen(path, "w");
    if (!at || !f) {
        if (f)
            fclose(f);
        return;
    }
    fprintf(f, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    fclose(f);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strdup(buf);
}

static void test_lipstream_manifest_errors(const char *dir)
{
    char path[1024];
    path_in(path, sizeof path, dir, "avatar.json");
    char *text = read_text(path);
    if (!text) {
        CHECK(0, "read %s", path);
        return;
    }
    static const char *const cases[][3] = {
        { "lipstream-avatar", "other", "\"format\"" },
        { "\"format_version\": 1", "\"format_version\": 2", "format_version" },
        { "\"v1\"", "\"v2\"", "\"version\"" },
        { "frames/00000001.png", "../00000001.png", "inside the folder" },
        { "frames/00000001.png", "frames/missing.png", "cannot open" },
        { "\"width\": 160", "\"width\": 161", "manifest says" },
        { "[40, 30, 110, 100]", "[40, 30, 170, 100]", "outside" },
        { "\"latents\": null", "\"latents\": \"nothing.safetensors\"", "nothing.safetensors" },
        { "\"fps\": 25", "\"fps\": -1", "\"fps\"" },
        { "\"frames\": [", "\"frames\": 3, \"x\": [", "\"frames\"" },
        { "\"crop_box\": [", "\"crop_box\": [1.5, ", "crop_box" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rewrite_manifest(dir, text, cases[i][0], cases[i][1]);
        ls_avatar *a;
        ls_error err;
        int rc = ls_avatar_load(dir, &a, &err);
        CHECK(rc == -1 && strstr(err.msg, cases[i][2]), "manifest '%s' -> '%s': got '%s'",
              cases[i][0], cases[i][1], rc ? err.msg : "success");
        if (rc == 0)
            ls_avatar_free(a);
    }
    rewrite_manifest(dir, text, "{", "{");
    free(text);
}

/* Prepares a v1 avatar from the LiveTalking frames with a fixed --bbox. */
static void test_prepare_roundtrip(const char *out_dir)
{
    char frames[1024];
    ls_error err;
    path_in(frames, sizeof frames, ref_dir, "livetalking/full_imgs");
    ls_prepare_opts o = ls_prepare_defaults();
    o.input = frames;
    o.out_dir = out_dir;
    o.id = "roundtrip";
    o.version = "v1";
    o.has_bbox = 1;
    o.bbox = (ls_box){ 40, 30, 110, 100 };
    ls_avatar *made, *loaded;
    ls_prepare_report report;
    if (ls_avatar_prepare(&o, &made, &report, &err)) {
        CHECK(0, "%s", err.msg);
        return;
    }
    CHECK(report.frames == 4 && report.faces == 4 && made->latents == NULL, "report");
    CHECK(ls_avatar_load(out_dir, &loaded, &err) == 0, "%s", err.msg);
    if (loaded) {
        CHECK(loaded->format == LS_AVATAR_LIPSTREAM && loaded->nframes == 4 &&
                  strcmp(loaded->id, "roundtrip") == 0 && strcmp(loaded->version, "v1") == 0 &&
                  strcmp(loaded->mask_kind, "geometric") == 0 && loaded->latents == NULL,
              "lipstream header");
        for (int i = 0; i < 4; i++) {
            const ls_avatar_frame *m = &made->frames[i], *l = &loaded->frames[i];
            ls_box crop = ls_crop_box(o.bbox);
            CHECK(memcmp(&l->face, &o.bbox, sizeof o.bbox) == 0 &&
                      memcmp(&l->crop, &crop, sizeof crop) == 0,
                  "frame %d boxes", i);
            CHECK(memcmp(l->image.data, m->image.data, (size_t)160 * 120 * 3) == 0 &&
                      l->mask.width == m->mask.width &&
                      memcmp(l->mask.data, m->mask.data, (size_t)m->mask.width * m->mask.height) == 0,
                  "frame %d pixels and mask survive the round trip", i);
        }
        ls_avatar_free(loaded);
    }
    ls_avatar_free(made);
    test_lipstream_manifest_errors(out_dir);
}

/* The tiny random VAE of REF_DIR/models/sd-vae, or NULL (a failed check). */
static ls_vae *tiny_vae(void)
{
    char dir[1024];
    ls_error err;
    ls_vae *vae = NULL;
    path_in(dir, sizeof dir, ref_dir, "models/sd-vae");
    CHECK(ls_vae_load(dir, &vae, &err) == 0, "%s", err.msg);
    return vae;
}

static void test_latents(const char *avatar_dir)
{
    ls_error err;
    ls_vae *vae = tiny_vae();
    if (!vae)
        return;
    nn_ctx *ctx = nn_ctx_new(nn_backend_cpu());
    ls_avatar *a;
    CHECK(ls_avatar_load(avatar_dir, &a, &err) == 0 && a->latents == NULL, "%s", err.msg);
    CHECK(ls_avatar_ensure_latents(a, vae, ctx, &err) == 0 && a->latents, "%s", err.msg);
    float *input = malloc(sizeof(float) * LS_AVATAR_FACE_INPUT_SIZE);
    for (int i = 0; a->latents && i < a->nframes; i += 3) {
        CHECK(ls_avatar_face_input(&a->frames[i].image, a->frames[i].face, input, &err) == 0, "%s",
              err.msg);
        nn_tensor x = nn_alloc4(ctx, 2, 3, 256, 256), z = nn_alloc4(ctx, 2, 4, 32, 32);
        memcpy(x.data, input, sizeof(float) * LS_AVATAR_FACE_INPUT_SIZE);
        ls_vae_encode_mean(vae, ctx, &x, &z);
        for (int k = 0; k < LS_AVATAR_LATENT_SIZE; k++)
            z.data[k] *= 0.18215f;
        char what[64];
        snprintf(what, sizeof what, "frame %d latents = 0.18215 * encode", i);
        check_close(what, ls_avatar_latent(a, i), z.data, LS_AVATAR_LATENT_SIZE, 1e-6, 0);
        float diff = 0;
        for (int k = 0; k < LS_AVATAR_LATENT_SIZE / 2; k++)
            diff += fabsf(z.data[k] - z.data[k + LS_AVATAR_LATENT_SIZE / 2]);
        CHECK(diff > 0, "masked and reference latents differ");
        nn_arena_reset(ctx->arena);
    }
    free(input);
    ls_avatar *again;
    CHECK(ls_avatar_load(avatar_dir, &again, &err) == 0 && again->latents &&
              memcmp(again->latents, a->latents,
                     sizeof(float) * LS_AVATAR_LATENT_SIZE * (size_t)a->nframes) == 0,
          "latents saved and listed in the manifest: %s", err.msg);
    float *before = again ? again->latents : NULL;
    CHECK(again && ls_avatar_ensure_latents(again, vae, ctx, &err) == 0 && again->latents == before,
          "existing latents kept");
    ls_avatar_free(again);
    ls_avatar_free(a);
    nn_ctx_free(ctx);
    ls_vae_free(vae);
}

static void test_prepare_astronaut(const char *out_dir)
{
    ls_error err;
    ls_prepare_opts o = ls_prepare_defaults();
    o.input = astronaut;
    o.out_dir = out_dir;
    ls_avatar *a;
    ls_prepare_report report;
    if (ls_avatar_prepare(&o, &a, &report, &err)) {
        CHECK(0, "%s", err.msg);
        return;
    }
    ls_box b = a->frames[0].face;
    /* The astronaut's face (eyes to chin) lies in x 180..270, y 90..175 of the 512x512 image. */
    printf("astronaut avatar: face box (%d, %d, %d, %d), crop box (%d, %d, %d, %d), detect %.2f s\n",
           b.x1, b.y1, b.x2, b.y2, a->frames[0].crop.x1, a->frames[0].crop.y1, a->frames[0].crop.x2,
           a->frames[0].crop.y2, report.detect_s);
    CHECK(strcmp(a->id, "astronaut_demo") == 0 && report.faces == 1, "one frame, one face");
    CHECK(ls_box_inside(b, 512, 512), "face box inside the image");
    CHECK(b.x1 >= 160 && b.x1 <= 190 && b.x2 >= 260 && b.x2 <= 290, "sides around the face");
    CHECK(b.y1 >= 40 && b.y1 <= 90 && b.y2 >= 170 && b.y2 <= 200, "forehead to below the chin");
    ls_avatar_free(a);

    o.version = "v20";
    CHECK(ls_avatar_prepare(&o, &a, &report, &err) == -1 && strstr(err.msg, "v1 or v15"),
          "bad version: %s", err.msg);
    o.version = "v15";
    char noise[1024];
    path_in(noise, sizeof noise, ref_dir, "image/src.png");
    o.input = noise;
    CHECK(ls_avatar_prepare(&o, &a, &report, &err) == -1 && strstr(err.msg, "no face found"),
          "no face: %s", err.msg);
    o.input = astronaut;
    o.has_bbox = 1;
    o.bbox = (ls_box){ 400, 400, 600, 600 };
    CHECK(ls_avatar_prepare(&o, &a, &report, &err) == -1 && strstr(err.msg, "--bbox"),
          "bbox outside: %s", err.msg);
}

/* Avatars from the reference videos (a moving window on the astronaut):
 * every frame at the file's rate, or the first max_frames; latents from the
 * tiny VAE; a file that is neither image nor video is refused. */
static void test_prepare_video(void)
{
    static const struct {
        const char *file;
        int max_frames, frames;
        double fps;
    } cases[] = { { "video/clip.mp4", 0, 8, 30 }, { "video/clip.webm", 5, 5, 25 } };
    static const int window_x[8] = { 60, 64, 68, 72, 76, 80, 84, 88 },
                     window_y[8] = { 20, 22, 24, 26, 28, 30, 32, 34 };
    char path[1024], out_dir[1024];
    ls_error err;
    ls_vae *vae = tiny_vae();
    if (!vae)
        return;
    nn_ctx *ctx = nn_ctx_new(nn_backend_cpu());
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ls_prepare_opts o = ls_prepare_defaults();
        path_in(path, sizeof path, ref_dir, cases[c].file);
        snprintf(out_dir, sizeof out_dir, "%s/video%zu", work_dir, c);
        o.input = path;
        o.out_dir = out_dir;
        o.max_frames = cases[c].max_frames;
        o.vae = vae;
        o.ctx = ctx;
        ls_avatar *a, *loaded;
        ls_prepare_report report;
        if (ls_avatar_prepare(&o, &a, &report, &err)) {
            CHECK(0, "%s: %s", cases[c].file, err.msg);
            continue;
        }
        printf("%s: %d frames, %d faces, source %.3g fps, %dx%d, face box 0 (%d, %d, %d, %d)\n",
               cases[c].file, report.frames, report.faces, report.source_fps, a->width, a->height,
               a->frames[0].face.x1, a->frames[0].face.y1, a->frames[0].face.x2, a->frames[0].face.y2);
        CHECK(report.video && report.frames == cases[c].frames && a->nframes == cases[c].frames &&
                  report.faces == cases[c].frames,
              "%s: %d frames, %d faces", cases[c].file, report.frames, report.faces);
        CHECK(report.source_fps == cases[c].fps, "%s: source %g fps", cases[c].file, report.source_fps);
        CHECK(a->width == 320 && a->height == 320 && a->latents, "%s: frame size, latents",
              cases[c].file);
        for (int i = 0; i < a->nframes; i++) {
            /* The astronaut's face box in portrait coordinates, as in test_prepare_astronaut. */
            ls_box b = a->frames[i].face;
            int x1 = b.x1 + window_x[i], x2 = b.x2 + window_x[i];
            int y1 = b.y1 + window_y[i], y2 = b.y2 + window_y[i];
            CHECK(x1 >= 160 && x1 <= 190 && x2 >= 260 && x2 <= 290 && y1 >= 40 && y1 <= 90 &&
                      y2 >= 170 && y2 <= 200,
                  "%s frame %d: face box (%d, %d, %d, %d) in the portrait", cases[c].file, i, x1, y1,
                  x2, y2);
        }
        CHECK(ls_avatar_load(out_dir, &loaded, &err) == 0 && loaded->nframes == cases[c].frames &&
                  loaded->latents,
              "%s: the folder loads: %s", cases[c].file, err.msg);
        ls_avatar_free(loaded);
        ls_avatar_free(a);
    }
    ls_prepare_opts o = ls_prepare_defaults();
    path_in(path, sizeof path, ref_dir, "video/garbage.mp4");
    o.input = path;
    o.out_dir = out_dir;
    ls_avatar *a;
    ls_prepare_report report;
    CHECK(ls_avatar_prepare(&o, &a, &report, &err) == -1 && a == NULL &&
              strstr(err.msg, "neither an image nor a video") && strstr(err.msg, "garbage.mp4"),
          "garbage file: %s", err.msg);
    printf("garbage file -> %s\n", err.msg);
    o.input = astronaut;
    o.max_frames = -1;
    CHECK(ls_avatar_prepare(&o, &a, &report, &err) == -1 && strstr(err.msg, "max_frames"),
          "negative max_frames: %s", err.msg);
    nn_ctx_free(ctx);
    ls_vae_free(vae);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: test_avatar REF_DIR ASTRONAUT_PNG WORK_DIR\n");
        return 2;
    }
    ref_dir = argv[1];
    astronaut = argv[2];
    work_dir = argv[3];
    mkdir(work_dir, 0755);
    char roundtrip[1024], latents[1024], demo[1024];
    path_in(roundtrip, sizeof roundtrip, work_dir, "roundtrip");
    path_in(latents, sizeof latents, work_dir, "latents");
    path_in(demo, sizeof demo, work_dir, "astronaut_demo");
    test_livetalking();
    test_broken();
    test_cycle();
    test_cache();
    test_face_input();
    test_prepare_roundtrip(roundtrip);
    test_prepare_roundtrip(latents);
    test_latents(latents);
    test_prepare_astronaut(demo);
    test_prepare_video();
    return check_result("test_avatar");
}
