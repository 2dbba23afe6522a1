/*
 * act.c - elementwise operators: SiLU, GELU (erf form), GEGLU and add.
 *
 * cpu_act_span() is the serial kernel other operators call on their own
 * rows (the norms); the operators here split long arrays into spans
 * across threads. The activation switch sits outside the loops so each loop
 * body is one expression the compiler vectorises (SiLU through cpu_expf;
 * GELU calls libm's erff per element).
 */
#include "nn/cpu/cpu_ops.h"

/* Elements per span when an array is split across threads. */
#define ACT_SPAN 8192

void cpu_act_span(const float *x, float *y, int64_t n, nn_act act)
{
    switch (act) {
    case NN_ACT_SILU:
        for (int64_t i = 0; i < n; i++)
            y[i] = cpu_silu(x[i]);
        break;
    case NN_ACT_GELU:
        for (int64_t i = 0; i < n; i++)
            y[i] = cpu_gelu(x[i]);
        break;
    case NN_ACT_NONE:
        if (x != y)
            memcpy(y, x, (size_t)n * sizeof *y);
        break;
    }
}

/* Applies act from x to y (possibly the same array), spans split across threads. */
static void act_split(const float *x, float *y, int64_t n, nn_act act)
{
    if (act == NN_ACT_NONE && x == y)
        return;
    int64_t spans = (n + ACT_SPAN - 1) / ACT_SPAN;
#pragma omp parallel for schedule(static) if (n >= CPU_PARALLEL_MIN)
    for (int64_t s = 0; s < spans; s++) {
        int64_t len = n - s * ACT_SPAN < ACT_SPAN ? n - s * ACT_SPAN : ACT_SPAN;
        cpu_act_span(x + s * ACT_SPAN, y + s * ACT_SPAN, len, act);
    }
}

void cpu_activation(nn_ctx *c, const nn_tensor *x, nn_act act, nn_tensor *y)
{
    act_split(x->data, y->data, nn_numel(x), act);
}

void cpu_geglu(nn_ctx *c, const nn_tensor *x, nn_tensor *y)
{
    int64_t f = y->shape[y->ndim - 1];
    int64_t rows = nn_numel(y) / f;
    const float *xd = x->data;
    float *yd = y->data;
#pragma omp parallel for schedule(static) if (rows * f >= CPU_PARALLEL_MIN)
    for (int64_t r = 0; r < rows; r++) {
        const float *a = xd + r * 2 * f;
        const float *g = a + f;
        float *out = yd + r * f;
        for (int64_t i = 0; i < f; i++)
            out[i] = a[i] * cpu_gelu(g[i]);
    }
}

void cpu_add(nn_ctx *c, const nn_tensor *a, const nn_tensor *b, nn_tensor *y)
{
    int64_t n = nn_numel(y);
    const float *ad = a->data, *bd = b->data;
    float *yd = y->data;
#pragma omp parallel for simd schedule(static) if (n >= CPU_PARALLEL_MIN)
    for (int64_t i = 0; i < n; i++)
        yd[i] = ad[i] + bd[i];
}
