/*
 * test_paste.c - the paste-back done where the faces are made.
 *
 * usage: test_paste
 *
 * The CUDA kernel's per-pixel arithmetic (src/nn/cuda/paste_math.h) runs
 * here on the CPU, pixel by pixel as the kernel does, on the face in the
 * kernel's channels-last order (h, w, 3), against the host
 * paste-back (ls_paste_faces_host: ls_musetalk_faces_to_bgr, then
 * ls_blend_face) on random faces, frames and masks: enlarged and shrunk
 * faces, boxes at the frame's edges, face values beyond [-1, 1] (clamped)
 * and masks with 0 and 255. The bytes must be equal. ls_paste_faces on the
 * CPU backend (no operator: the host code) must give them too. A GPU's
 * operator is compared with the host in test_cuda_ops.
 */
#include <stdlib.h>
#include <string.h>

#include "avatar/paste.h"
#include "check.h"
#include "nn/cuda/paste_math.h"

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint32_t next_random(void)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng >> 33);
}

typedef struct geometry {
    const char *what;
    int face_h, face_w, width, height;
    int crop_x1, crop_y1, crop_w, crop_h;
    int x1, y1, x2, y2;
} geometry;

/* The kernel's loop body (kernels_paste.cu) over every pixel. */
static void paste_like_kernel(const float *face, const nn_paste *p, int h, int w)
{
    for (int y = 0; y < p->height; y++)
        for (int x = 0; x < p->width; x++) {
            size_t at = ((size_t)y * p->width + x) * 3;
            if (x < p->face_x1 || x >= p->face_x2 || y < p->face_y1 || y >= p->face_y2) {
                memcpy(p->out + at, p->frame + at, 3);
                continue;
            }
            paste_tap tx = paste_bilinear_tap(x - p->face_x1, w, p->face_x2 - p->face_x1);
            paste_tap ty = paste_bilinear_tap(y - p->face_y1, h, p->face_y2 - p->face_y1);
            int m = p->mask[(size_t)(y - p->crop_y1) * p->crop_width + (x - p->crop_x1)];
            for (int c = 0; c < 3; c++)
                p->out[at + c] = (uint8_t)paste_byte(face, w, tx, ty, c, m, p->frame[at + c]);
        }
}

static void test_geometry(const geometry *g)
{
    size_t face_n = (size_t)3 * g->face_h * g->face_w, frame_n = (size_t)g->width * g->height * 3;
    size_t mask_n = (size_t)g->crop_w * g->crop_h;
    float *face = malloc(face_n * sizeof *face);
    uint8_t *frame = malloc(frame_n), *mask = malloc(mask_n);
    uint8_t *host = malloc(frame_n), *kernel = malloc(frame_n), *backend = malloc(frame_n);
    for (size_t i = 0; i < face_n; i++)
        face[i] = (float)next_random() / 4294967296.0f * 2.4f - 1.2f;   /* clamps too */
    for (size_t i = 0; i < frame_n; i++)
        frame[i] = (uint8_t)next_random();
    for (size_t i = 0; i < mask_n; i++) {
        uint32_t r = next_random() % 8;
        mask[i] = r == 0 ? 0 : r == 1 ? 255 : (uint8_t)next_random();
    }
    nn_paste p = { .frame = frame, .width = g->width, .height = g->height, .mask = mask,
                   .crop_x1 = g->crop_x1, .crop_y1 = g->crop_y1, .crop_width = g->crop_w,
                   .crop_height = g->crop_h, .face_x1 = g->x1, .face_y1 = g->y1,
                   .face_x2 = g->x2, .face_y2 = g->y2 };
    nn_tensor faces = nn_view4(face, 1, 3, g->face_h, g->face_w);
    p.out = host;
    ls_paste_faces_host(&faces, &p);
    float *face_hwc = malloc(face_n * sizeof *face_hwc);
    for (size_t i = 0; i < face_n; i++)   /* i = (y * w + x) * 3 + channel */
        face_hwc[i] = face[(i % 3) * (face_n / 3) + i / 3];
    p.out = kernel;
    paste_like_kernel(face_hwc, &p, g->face_h, g->face_w);
    free(face_hwc);
    p.out = backend;
    nn_ctx *c = nn_ctx_new(nn_backend_cpu());
    ls_paste_faces(c, &faces, &p);
    nn_ctx_free(c);
    size_t differ = 0, changed = 0;
    for (size_t i = 0; i < frame_n; i++) {
        differ += host[i] != kernel[i] || host[i] != backend[i];
        changed += host[i] != frame[i];
    }
    printf("%-34s face %dx%d -> box %dx%d: %zu bytes pasted, %zu differ\n", g->what, g->face_w,
           g->face_h, g->x2 - g->x1, g->y2 - g->y1, changed, differ);
    CHECK(differ == 0, "%s: %zu bytes differ from the host paste-back", g->what, differ);
    CHECK(changed > 0, "%s: nothing was pasted", g->what);
    free(face), free(frame), free(mask), free(host), free(kernel), free(backend);
}

int main(void)
{
    static const geometry cases[] = {
        { "enlarged, inside the frame", 16, 16, 64, 48, 10, 5, 40, 36, 14, 9, 37, 28 },
        { "shrunk, odd sizes", 32, 32, 50, 60, 3, 4, 30, 50, 5, 6, 18, 35 },
        { "same size", 24, 24, 40, 40, 8, 8, 24, 24, 8, 8, 32, 32 },
        { "crop and box at the frame's edges", 20, 20, 37, 29, 0, 0, 37, 29, 0, 0, 37, 29 },
        { "MuseTalk's 256 into a 720p frame", 256, 256, 1280, 720, 500, 120, 330, 380, 530,
          180, 801, 470 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        test_geometry(&cases[i]);
    return check_result("test_paste");
}
