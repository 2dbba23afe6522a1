/*
 * face_parse.c - crop, Pillow resize, normalisation, BiSeNet and argmax
 * (see face_parse.h). The normalisation is computed in float in torchvision's
 * order (x / 255, then minus mean, then divided by std).
 */
#include "avatar/face_parse.h"

#include <string.h>

#include "avatar/pil_resize.h"

static const float imagenet_mean[3] = { 0.485f, 0.456f, 0.406f };   /* R, G, B */
static const float imagenet_std[3] = { 0.229f, 0.224f, 0.225f };

int ls_face_parse_crop(const ls_image *frame, ls_box box, ls_image *out, ls_error *err)
{
    if (ls_image_alloc(out, ls_box_width(box), ls_box_height(box), frame->channels, err))
        return -1;
    memset(out->data, 0, (size_t)out->width * out->height * out->channels);
    int x1 = box.x1 < 0 ? 0 : box.x1, x2 = box.x2 > frame->width ? frame->width : box.x2;
    for (int y = box.y1 < 0 ? 0 : box.y1; y < box.y2 && y < frame->height && x2 > x1; y++)
        memcpy(ls_image_row(out, y - box.y1) + (size_t)(x1 - box.x1) * out->channels,
               ls_image_row(frame, y) + (size_t)x1 * frame->channels,
               (size_t)(x2 - x1) * frame->channels);
    return 0;
}

int ls_face_parse_input(const ls_image *bgr, float *input, ls_error *err)
{
    ls_image square;
    if (ls_image_alloc(&square, LS_BISENET_SIDE, LS_BISENET_SIDE, 3, err))
        return -1;
    if (ls_pil_resize(bgr, &square, LS_PIL_BILINEAR, err)) {
        ls_image_free(&square);
        return -1;
    }
    const int hw = LS_BISENET_SIDE * LS_BISENET_SIDE;
    for (int i = 0; i < hw; i++)
        for (int rgb = 0; rgb < 3; rgb++) {
            float v = square.data[i * 3 + (2 - rgb)] / 255.0f;
            input[rgb * hw + i] = (v - imagenet_mean[rgb]) / imagenet_std[rgb];
        }
    ls_image_free(&square);
    return 0;
}

int ls_face_parse(const ls_bisenet *net, nn_ctx *ctx, const ls_image *bgr, ls_image *classes,
                  ls_error *err)
{
    const int side = LS_BISENET_SIDE, hw = side * side;
    if (ls_image_alloc(classes, side, side, 1, err))
        return -1;
    nn_arena_mark mark = nn_arena_get_mark(ctx->arena);
    nn_tensor x = nn_alloc4(ctx, 1, 3, side, side);
    nn_tensor logits = nn_alloc4(ctx, 1, LS_BISENET_CLASSES, side, side);
    if (ls_face_parse_input(bgr, x.data, err)) {
        nn_arena_release(ctx->arena, mark);
        ls_image_free(classes);
        return -1;
    }
    ls_bisenet_forward(net, ctx, &x, &logits);
    for (int i = 0; i < hw; i++) {
        int best = 0;
        for (int k = 1; k < LS_BISENET_CLASSES; k++)
            if (logits.data[(size_t)k * hw + i] > logits.data[(size_t)best * hw + i])
                best = k;
        classes->data[i] = (uint8_t)best;
    }
    nn_arena_release(ctx->arena, mark);
    return 0;
}
