/*
 * conv_impl.h - what conv.c (im2col + GEMM) and winograd.c (3x3 stride-1
 * Winograd) share: the geometry of one conv2d call and its operands.
 */
#ifndef LS_NN_CPU_CONV_IMPL_H
#define LS_NN_CPU_CONV_IMPL_H

#include "nn/cpu/cpu_ops.h"

typedef struct conv_geom {
    int64_t n;            /* batch */
    int64_t c, h, w;      /* input channels and stored size */
    int up_shift;         /* 1: input read nearest-upsampled x2 */
    int64_t hi, wi;       /* input size seen by the kernel */
    int kh, kw, sh, sw, pt, pl;
    int64_t o, ho, wo;    /* output channels and size */
    int64_t k;            /* GEMM depth c*kh*kw */
    int direct;           /* 1x1, stride 1, no padding, no upsampling: no im2col */
} conv_geom;

typedef struct conv_args {
    const conv_geom *g;
    const float *x;         /* (n, c, h, w) */
    const float *w;         /* (o, c, kh, kw) */
    const float *b;         /* (o) or NULL */
    const float *residual;  /* (n, o, ho, wo) or NULL; may be y */
    float *y;               /* (n, o, ho, wo) */
} conv_args;

/* y[i] = v[i] + bias + residual[i] over n outputs; residual may be NULL or y. */
static inline void conv_store(float *y, const float *v, const float *residual, float bias,
                              int64_t n)
{
    if (residual) {
        for (int64_t i = 0; i < n; i++)
            y[i] = v[i] + bias + residual[i];
    } else {
        for (int64_t i = 0; i < n; i++)
            y[i] = v[i] + bias;
    }
}

/*
 * Runs run(job, u, scratch, parallel) for every work unit u in [0, units)
 * with scratch_floats of arena scratch (conv.c). With enough units, threads
 * take whole units (parallel = 0: the unit runs serially, its GEMMs on one
 * thread, scratch private to the thread); otherwise units run one after the
 * other and each spreads its own loops over the threads (parallel = 1).
 */
typedef void (*conv_unit_fn)(const void *job, int64_t unit, float *scratch, int parallel);
void cpu_conv_run_units(nn_ctx *c, int64_t units, int64_t scratch_floats, conv_unit_fn run,
                        const void *job);

/* 1 when winograd.c handles this convolution (and is the faster way). */
int cpu_winograd_suits(const conv_geom *g);
void cpu_winograd_conv(nn_ctx *c, const conv_args *a);

#endif
