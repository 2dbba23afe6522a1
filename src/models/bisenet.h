/*
 * bisenet.h - BiSeNet face parsing (MuseTalk's face-parse-bisent/79999_iter.pth).
 *
 * 19 CelebAMask-HQ classes per pixel (0 background, 1 skin, 2/3 brows,
 * 4/5 eyes, 6 glasses, 7/8 ears, 9 earring, 10 nose, 11 mouth, 12/13 lips,
 * 14 neck, 15 necklace, 16 cloth, 17 hair, 18 hat) from an RGB image
 * normalised with ImageNet's mean and std (MuseTalk feeds 512x512).
 *
 *   context path: ResNet-18 (conv 7x7/2, max-pool 3x3/2, 4 stages of two
 *     basic blocks) -> feat8 (128, H/8), feat16 (256, H/16), feat32 (512, H/32)
 *     avg   = CBR1x1(global_avg(feat32))                     (128, 1, 1)
 *     up32  = CBR3x3(nearest(ARM32(feat32) + avg, H/16))     (128, H/16)
 *     cp8   = CBR3x3(nearest(ARM16(feat16) + up32, H/8))     (128, H/8)
 *     ARM(x) = f * sigmoid(BN(conv1x1(global_avg(f)))), f = CBR3x3(x)
 *   fusion: f = CBR1x1(cat(feat8, cp8)); f + f * sigmoid(conv(relu(conv(global_avg(f)))))
 *   head:   conv1x1(CBR3x3(f)) -> 19 logits at H/8 -> bilinear (align_corners) to H x W
 * CBR = conv (no bias) + batch norm + ReLU. The published network also has
 * two auxiliary heads (conv_out16, conv_out32) used only in training: their
 * weights are checked for shape and not run.
 *
 * Loading folds every batch norm (eps 1e-5, running statistics) into the
 * convolution before it, giving a weight and a bias per layer. The
 * convolutions run on the tensor engine; ReLU, pooling, gating and the
 * resizes are small host loops here, so the forward pass needs the CPU
 * backend (it runs once per frame at avatar preparation).
 */
#ifndef LS_MODELS_BISENET_H
#define LS_MODELS_BISENET_H

#include "nn/nn.h"
#include "util/error.h"

#define LS_BISENET_CLASSES 19
#define LS_BISENET_SIDE 512   /* MuseTalk's input size */

typedef struct ls_bisenet ls_bisenet;

/* path: the checkpoint (torch.save'd state dict with keys cp.resnet.conv1.weight, ...). */
int ls_bisenet_load(const char *path, ls_bisenet **out, ls_error *err);
void ls_bisenet_free(ls_bisenet *m);

/* logits (N, 19, H, W) of x (N, 3, H, W), both on the CPU backend; H and W
 * at least 32. Temporaries come from the context's arena and are released. */
void ls_bisenet_forward(const ls_bisenet *m, nn_ctx *c, const nn_tensor *x, nn_tensor *logits);

#endif
