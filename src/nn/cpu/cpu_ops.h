/*
 * cpu_ops.h - the CPU backend's operator functions and the small inline
 * helpers they share (activations and a vectorisable exp).
 *
 * Each operator family lives in its own file (gemm.c, conv.c + winograd.c,
 * norm.c, act.c, attention.c, layout.c); cpu_backend.c gathers them into the
 * nn_backend table. Semantics are those documented in nn/backend.h.
 * Temporaries come from the context's arena and are given back before an
 * operator returns, so a forward pass repeated with the same shapes never
 * allocates.
 *
 * Threads: loops run under OpenMP with the process-wide thread count set by
 * nn_set_threads(). OpenBLAS called from inside an OpenMP parallel region
 * runs single-threaded, so an operator either splits its work into
 * independent tiles with one GEMM per thread, or calls one GEMM from serial
 * code and lets OpenBLAS use all threads.
 */
#ifndef LS_NN_CPU_OPS_H
#define LS_NN_CPU_OPS_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "nn/nn.h"

/* Elementwise loops shorter than this run on one thread: forking costs more. */
#define CPU_PARALLEL_MIN 32768

void cpu_linear(nn_ctx *c, const nn_tensor *x, const nn_tensor *w, const nn_tensor *b,
                const nn_tensor *residual, nn_tensor *y);
void cpu_conv2d(nn_ctx *c, const nn_tensor *x, const nn_tensor *w, const nn_tensor *b,
                const nn_conv2d_params *p, const nn_tensor *residual, nn_tensor *y);
void cpu_group_norm(nn_ctx *c, const nn_tensor *x, const nn_tensor *gamma,
                    const nn_tensor *beta, int groups, float eps, nn_act act, nn_tensor *y);
void cpu_layer_norm(nn_ctx *c, const nn_tensor *x, const nn_tensor *gamma,
                    const nn_tensor *beta, float eps, nn_tensor *y);
void cpu_activation(nn_ctx *c, const nn_tensor *x, nn_act act, nn_tensor *y);
void cpu_geglu(nn_ctx *c, const nn_tensor *x, nn_tensor *y);
void cpu_attention(nn_ctx *c, const nn_tensor *q, const nn_tensor *k, const nn_tensor *v,
                   int heads, nn_tensor *out);
void cpu_add(nn_ctx *c, const nn_tensor *a, const nn_tensor *b, nn_tensor *y);
void cpu_upsample2x(nn_ctx *c, const nn_tensor *x, nn_tensor *y);
void cpu_concat_channels(nn_ctx *c, const nn_tensor *a, const nn_tensor *b, nn_tensor *y);
void cpu_transpose12(nn_ctx *c, const nn_tensor *x, nn_tensor *y);

/* y[i] = act(x[i]) for n contiguous floats on the calling thread, x == y
 * allowed (act.c). */
void cpu_act_span(const float *x, float *y, int64_t n, nn_act act);

/*
 * exp(x) for fp32 in plain arithmetic, so loops calling it vectorise (libm's
 * expf does not without -ffast-math). Cody-Waite range reduction
 * x = n ln2 + r, |r| <= ln2/2, then a degree-6 polynomial for e^r; error
 * under 1 ulp. Inputs are clamped to [-87.3, 88.3]: results below
 * FLT_MIN come out as about 1e-38 instead of a denormal or zero (no caller
 * can tell that from zero once it is added to 1 or to a sum), results above
 * 2e38 saturate there instead of becoming infinite.
 */
static inline float cpu_expf(float x)
{
    x = x < -87.3f ? -87.3f : x;
    x = x > 88.3f ? 88.3f : x;
    float n = rintf(x * 1.44269504088896341f);   /* rintf, unlike floorf, vectorises */
    float r = x - n * 0.693359375f;          /* ln2 split in a high part exact in fp32 */
    r = r - n * -2.12194440e-4f;              /* and the low remainder */
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    union { uint32_t u; float f; } scale = { .u = (uint32_t)((int32_t)n + 127) << 23 };
    return p * scale.f;
}

static inline float cpu_silu(float x)
{
    return x / (1.0f + cpu_expf(-x));
}

static inline float cpu_gelu(float x)
{
    return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
}

#endif
