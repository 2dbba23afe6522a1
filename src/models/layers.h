/*
 * layers.h - pieces shared by the UNet and the VAE: strict loading of
 * conv/linear/norm weights, ResnetBlock2D, the down/up samplers, and a pair
 * of alternating activation buffers.
 *
 * ResnetBlock2D (diffusers):
 *   h = conv1(silu(norm1(x))) [+ time_emb_proj(silu(temb))]
 *   y = conv2(silu(norm2(h))) + shortcut(x)     (shortcut: 1x1 conv when cin != cout)
 * With a time embedding that is constant (MuseTalk always runs t = 0), the
 * time term is folded into an owned copy of conv1's bias at load.
 *
 * Placement: models load onto the host (the CPU backend uses the weights
 * where they are); ls_placement_run() moves every tensor of a loaded model
 * into one allocation on another backend (a GPU), once, for every context
 * and session to share. A model describes its tensors by a walk that calls
 * ls_place() on each; the walk runs twice, first to size the allocation,
 * then to copy each tensor and point it at its copy.
 */
#ifndef LS_MODELS_LAYERS_H
#define LS_MODELS_LAYERS_H

#include "io/weights.h"
#include "nn/nn.h"

/* A weight and its bias (b.data is NULL for a bias-free layer). */
typedef struct ls_affine {
    nn_tensor w;
    nn_tensor b;
} ls_affine;

#define LS_NAME_MAX 256

/* buf = "PREFIX.FIELD" (a tensor or module name); returns buf. */
const char *ls_join_name(char buf[LS_NAME_MAX], const char *prefix, const char *field);

/* PREFIX.weight (cout, cin, k, k) and PREFIX.bias (cout). */
int ls_load_conv(ls_weights *w, const char *prefix, int cout, int cin, int k, ls_affine *out,
                 ls_error *err);
/* PREFIX.weight (nout, nin) and, when `bias`, PREFIX.bias (nout). */
int ls_load_linear(ls_weights *w, const char *prefix, int nout, int nin, int bias, ls_affine *out,
                   ls_error *err);
/* GroupNorm or LayerNorm affine: PREFIX.weight (c), PREFIX.bias (c). */
int ls_load_norm(ls_weights *w, const char *prefix, int c, ls_affine *out, ls_error *err);

/* y = W x + b on the host (double sums), for constants computed at load. */
void ls_host_linear(const ls_affine *l, const float *x, float *y);

/* The bias as an operator argument (NULL when there is none). */
static inline const nn_tensor *ls_bias(const ls_affine *a)
{
    return a->b.data ? &a->b : NULL;
}

typedef struct ls_resnet {
    int cin, cout, groups;
    float eps;
    ls_affine norm1;      /* (cin), (cin) */
    ls_affine conv1;      /* (cout, cin, 3, 3), (cout): the bias is `time_bias` when there is one */
    float *time_bias;     /* owned (cout): conv1.bias + time_emb_proj(silu(temb)), or NULL */
    ls_affine norm2;      /* (cout), (cout) */
    ls_affine conv2;      /* (cout, cout, 3, 3), (cout) */
    ls_affine shortcut;   /* (cout, cin, 1, 1), (cout); w.data NULL when cin == cout */
} ls_resnet;

/* Loads PREFIX.{norm1,conv1,norm2,conv2,conv_shortcut}; when silu_temb (the
 * SiLU of the constant time embedding, temb_dim values) is given, also
 * PREFIX.time_emb_proj (cout, temb_dim), folded into conv1's bias. */
int ls_resnet_load(ls_weights *w, const char *prefix, int cin, int cout, int groups, float eps,
                   const float *silu_temb, int temb_dim, ls_resnet *r, ls_error *err);
void ls_resnet_free(ls_resnet *r);

/* y (N, cout, H, W) = resnet(x (N, cin, H, W)); temporaries are released. */
void ls_resnet_forward(const ls_resnet *r, nn_ctx *c, const nn_tensor *x, nn_tensor *y);

/* y = conv(x) + residual, stride 1, k/2 zero padding on each side. */
void ls_conv_same(nn_ctx *c, const nn_tensor *x, const ls_affine *conv, const nn_tensor *residual,
                  nn_tensor *y);

/* Downsample2D: 3x3 stride-2 conv; padding 0 means diffusers' (0,1,0,1) pad
 * first, otherwise `padding` on every side. Output size via ls_downsampled(). */
void ls_downsample(nn_ctx *c, const nn_tensor *x, const ls_affine *conv, int padding,
                   nn_tensor *y);
int64_t ls_downsampled(int64_t size, int padding);

/* Upsample2D: nearest x2 then 3x3 conv (fused into one conv read). */
void ls_upsample(nn_ctx *c, const nn_tensor *x, const ls_affine *conv, nn_tensor *y);

/* --- placement ------------------------------------------------------------ */

typedef struct ls_placement {
    const nn_backend *be;   /* NULL: not placed (the weights are host memory) */
    char *block;            /* backend memory holding every tensor */
    size_t bytes;           /* sized by the first walk */
    size_t used;            /* filled by the second */
} ls_placement;

/* Sizes, then moves, one tensor (nothing for a NULL data pointer). */
void ls_place(ls_placement *p, nn_tensor *t);
void ls_place_affine(ls_placement *p, ls_affine *a);
void ls_place_resnet(ls_placement *p, ls_resnet *r);

/* Moves a model onto `be` by running walk(model, p) twice. Placing on the
 * CPU backend does nothing; a model is placed at most once. -1 when the
 * backend is out of memory. */
int ls_placement_run(ls_placement *p, const nn_backend *be,
                     void (*walk)(void *model, ls_placement *p),
                     void *model, ls_error *err);
/* Frees the backend copy (nothing when not placed). */
void ls_placement_free(ls_placement *p);

/* The backend a model's weights are on: its placement's, else the CPU. */
const nn_backend *ls_placement_backend(const ls_placement *p);

/* --- alternating buffers --------------------------------------------------- */

/* Two arena buffers of `cap` floats used in turn, for a chain of blocks where
 * each reads only the previous block's output: block outputs alternate
 * between them so a long chain needs two buffers, not one per block. */
typedef struct ls_pingpong {
    float *buf[2];
    int64_t cap;
    int next;
} ls_pingpong;

void ls_pingpong_init(ls_pingpong *p, nn_ctx *c, int64_t cap);
/* The next buffer viewed as (n, ch, h, w). */
nn_tensor ls_pingpong_take(ls_pingpong *p, int64_t n, int64_t ch, int64_t h, int64_t w);

#endif
