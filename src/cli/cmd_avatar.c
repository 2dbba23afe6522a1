/*
 * cmd_avatar.c - `lipstream avatar info|create`.
 *
 *   info DIR     loads an avatar folder (either layout) with every check the
 *                server makes and prints its format, frames, size, frame 0's
 *                face box and the latent shape.
 *   create ...   prepares a lipstream avatar folder (avatar/prepare.h) from an
 *                image, a video or a folder of numbered frames. From
 *                WEIGHTS_DIR (LiveTalking's models/ layout): the face parsing
 *                network face-parse-bisent/79999_iter.pth draws MuseTalk's
 *                masks when present (else the geometric mask, said so); the
 *                VAE in sd-vae (or sd-vae-ft-mse) computes the latents when
 *                present, else they are left for the first load.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avatar/avatar.h"
#include "avatar/prepare.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "models/bisenet.h"
#include "models/model_files.h"
#include "models/vae.h"

#define USAGE_INFO "lipstream avatar info DIR"
#define USAGE_CREATE "lipstream avatar create --input IMAGE|VIDEO|DIR --out DIR [options]"
#define FACE_PARSING_WEIGHTS "face-parse-bisent/79999_iter.pth"

static int cmd_info(int argc, char **argv)
{
    ls_positional pos;
    ls_error err = { 0 };
    if (ls_args_wants_help(argc, argv)) {
        ls_args_usage(stdout, USAGE_INFO, NULL, 0);
        return 0;
    }
    if (ls_args_parse(argc, argv, NULL, 0, &pos, &err) || pos.n != 1) {
        fprintf(stderr, "lipstream avatar info: %s\nusage: %s\n", err.msg[0] ? err.msg : "one folder",
                USAGE_INFO);
        return 2;
    }
    ls_avatar *a;
    if (ls_avatar_load(pos.items[0], &a, &err)) {
        fprintf(stderr, "lipstream avatar info: %s\n", err.msg);
        return 1;
    }
    int faces = 0;
    for (int i = 0; i < a->nframes; i++)
        faces += ls_avatar_has_face(&a->frames[i]);
    ls_box b = a->frames[0].face;
    printf("avatar:     %s (%s)\n", a->id, a->dir);
    printf("format:     %s, MuseTalk %s, %g fps, %s masks\n", ls_avatar_format_name(a->format),
           a->version, a->fps, a->mask_kind);
    printf("frames:     %d (%d with a face)\n", a->nframes, faces);
    printf("frame size: %dx%d\n", a->width, a->height);
    if (ls_avatar_has_face(&a->frames[0]))
        printf("face box 0: (%d, %d, %d, %d) %dx%d\n", b.x1, b.y1, b.x2, b.y2, ls_box_width(b),
               ls_box_height(b));
    else
        printf("face box 0: none (frame shown unmodified)\n");
    if (a->latents)
        printf("latents:    (%d, %d, %d, %d)\n", a->nframes, LS_AVATAR_LATENT_CHANNELS,
               LS_AVATAR_LATENT_SIDE, LS_AVATAR_LATENT_SIDE);
    else
        printf("latents:    not computed yet (made on first load with the VAE weights)\n");
    ls_avatar_free(a);
    return 0;
}

static int parse_bbox(const char *text, ls_box *b)
{
    char tail;
    return sscanf(text, "%d,%d,%d,%d%c", &b->x1, &b->y1, &b->x2, &b->y2, &tail) == 4 &&
                   b->x2 > b->x1 && b->y2 > b->y1
               ? 0
               : -1;
}

/* Loads the VAE under weights_dir when it is there; *vae stays NULL when not. */
static int load_vae(const char *weights_dir, ls_vae **vae, ls_error *err)
{
    static const char *const folders[] = { "sd-vae", "sd-vae-ft-mse" };
    *vae = NULL;
    for (size_t i = 0; i < sizeof folders / sizeof folders[0]; i++) {
        char path[LS_PATH_MAX];
        if (ls_path_join(path, sizeof path, weights_dir, folders[i], err))
            return -1;
        if (ls_is_dir(path))
            return ls_vae_load(path, vae, err);
    }
    fprintf(stderr, "note: no VAE weights in %s/sd-vae: the latents will be computed the first "
            "time the avatar is loaded with them\n", weights_dir);
    return 0;
}

/* Loads the face parsing network under weights_dir when it is there; *net stays NULL when not. */
static int load_parser(const char *weights_dir, ls_bisenet **net, ls_error *err)
{
    char path[LS_PATH_MAX];
    *net = NULL;
    if (ls_path_join(path, sizeof path, weights_dir, FACE_PARSING_WEIGHTS, err))
        return -1;
    if (ls_is_file(path))
        return ls_bisenet_load(path, net, err);
    fprintf(stderr, "note: no face parsing weights (%s): using the geometric mask\n", path);
    return 0;
}

static void print_summary(const ls_avatar *a, const ls_prepare_opts *o, const ls_prepare_report *r)
{
    printf("avatar %s written to %s\n", a->id, a->dir);
    printf("  frames: %d (%d with a face, %d shown unmodified), %dx%d, MuseTalk %s, %g fps\n",
           r->frames, r->faces, r->frames - r->faces, a->width, a->height, a->version, a->fps);
    if (r->video && r->source_fps <= 0)
        printf("  video: the file gives no frame rate; every decoded frame kept, played at %g fps\n",
               a->fps);
    else if (r->video && r->source_fps != a->fps)
        printf("  video: %.3g fps, not %g: every frame kept (as MuseTalk does), so the loop plays "
               "%.3gx %s than the source\n", r->source_fps, a->fps, r->source_fps / a->fps,
               r->source_fps > a->fps ? "slower" : "faster");
    else if (r->video)
        printf("  video: %g fps, every frame kept\n", r->source_fps);
    for (int i = 0; i < a->nframes; i++) {
        if (ls_avatar_has_face(&a->frames[i])) {
            ls_box b = a->frames[i].face, c = a->frames[i].crop;
            printf("  frame %d: face box (%d, %d, %d, %d), crop box (%d, %d, %d, %d)\n", i, b.x1, b.y1,
                   b.x2, b.y2, c.x1, c.y1, c.x2, c.y2);
            break;
        }
    }
    if (o->parser)
        printf("  masks: face parsing (BiSeNet), mode %s\n", ls_parse_mode_name(o->parse_mode));
    else
        printf("  masks: geometric lower-face mask (fallback: no face parsing weights)\n");
    printf("  latents: %s\n", a->latents ? "computed" : "not yet (no VAE weights)");
    printf("  time: detect %.2f s, masks %.2f s, write %.2f s, latents %.2f s\n", r->detect_s,
           r->mask_s, r->write_s, r->latents_s);
}

static int cmd_create(int argc, char **argv)
{
    ls_prepare_opts o = ls_prepare_defaults();
    const char *weights_dir = "models", *bbox = NULL, *parsing_mode = NULL;
    int threads = 0;
    const ls_arg spec[] = {
        { "input", LS_ARG_STRING, &o.input, "image or video file, or folder of numbered frames" },
        { "out", LS_ARG_STRING, &o.out_dir, "avatar folder to write" },
        { "max_frames", LS_ARG_INT, &o.max_frames, "keep only the first N frames (default 0: all)" },
        { "weights_dir", LS_ARG_STRING, &weights_dir,
          "models folder holding face-parse-bisent/ and sd-vae/ (default models)" },
        { "version", LS_ARG_STRING, &o.version, "v1 | v15 (default v15)" },
        { "parsing_mode", LS_ARG_STRING, &parsing_mode,
          "face parsing mask: raw | neck | jaw (default jaw for v15, raw for v1)" },
        { "bbox", LS_ARG_STRING, &bbox, "x1,y1,x2,y2: face box for every frame (no detection)" },
        { "bbox_shift", LS_ARG_INT, &o.bbox_shift, "v1: move the nose line by N pixels (down > 0)" },
        { "extra_margin", LS_ARG_INT, &o.extra_margin, "v15: pixels added below the chin (default 10)" },
        { "fps", LS_ARG_DOUBLE, &o.fps, "frame rate the avatar plays at (default 25)" },
        { "id", LS_ARG_STRING, &o.id, "avatar id (default: the output folder's name)" },
        { "threads", LS_ARG_INT, &threads, "CPU threads (default: all cores)" },
    };
    int nspec = (int)(sizeof spec / sizeof spec[0]);
    if (ls_args_wants_help(argc, argv)) {
        ls_args_usage(stdout, USAGE_CREATE, spec, nspec);
        return 0;
    }
    ls_error err = { 0 };
    const char *problem = NULL;
    if (ls_args_parse(argc, argv, spec, nspec, NULL, &err))
        problem = err.msg;
    else if (!o.input || !o.out_dir)
        problem = "--input and --out are required";
    else if (bbox && parse_bbox(bbox, &o.bbox))
        problem = "--bbox must be x1,y1,x2,y2 with x2 > x1, y2 > y1";
    else if (parsing_mode && ls_parse_mode_from_name(parsing_mode, &o.parse_mode))
        problem = "--parsing_mode must be raw, neck or jaw";
    if (problem) {
        fprintf(stderr, "lipstream avatar create: %s\n", problem);
        ls_args_usage(stderr, USAGE_CREATE, spec, nspec);
        return 2;
    }
    o.has_bbox = bbox != NULL;
    o.cascade_path = getenv("LS_FACE_CASCADE");   /* NULL: opencv-data's file */
    if (!parsing_mode)
        o.parse_mode = strcmp(o.version, "v1") == 0 ? LS_PARSE_RAW : LS_PARSE_JAW;
    if (strcmp(o.version, "v15") == 0 && o.bbox_shift != 0)
        fprintf(stderr, "note: --bbox_shift applies to v1 only (v15 uses --extra_margin); ignored\n");
    nn_set_threads(threads);

    ls_bisenet *parser = NULL;
    ls_vae *vae = NULL;
    nn_ctx *ctx = NULL;
    ls_avatar *a = NULL;
    ls_prepare_report report;
    int rc = 1;
    if (load_parser(weights_dir, &parser, &err) || load_vae(weights_dir, &vae, &err))
        goto done;
    if ((vae || parser) && !(ctx = nn_ctx_new(nn_backend_cpu()))) {
        ls_error_set(&err, "out of memory");
        goto done;
    }
    o.parser = parser;
    o.vae = vae;
    o.ctx = ctx;
    if (ls_avatar_prepare(&o, &a, &report, &err))
        goto done;
    print_summary(a, &o, &report);
    rc = 0;
done:
    if (rc)
        fprintf(stderr, "lipstream avatar create: %s\n", err.msg);
    ls_avatar_free(a);
    if (ctx)
        nn_ctx_free(ctx);
    ls_vae_free(vae);
    ls_bisenet_free(parser);
    return rc;
}

int ls_cmd_avatar(int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "info") == 0)
        return cmd_info(argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "create") == 0)
        return cmd_create(argc - 1, argv + 1);
    FILE *out = argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)
                    ? stdout
                    : stderr;
    fprintf(out, "usage: %s\n       %s\n", USAGE_INFO, USAGE_CREATE);
    return out == stdout ? 0 : 2;
}
