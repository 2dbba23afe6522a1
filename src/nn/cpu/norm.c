/*
 * norm.c - GroupNorm (with a fused activation) and LayerNorm.
 *
 * Both normalise a contiguous span: a (batch, group) block of C/G channels
 * times the spatial size for GroupNorm, one row of the last dimension for
 * LayerNorm. Statistics take two passes, the mean and then the mean squared
 * deviation from it, each summed in double: a GroupNorm group holds up to a
 * million values and fp32 sums of that many drift visibly. The third pass
 * writes y = x * scale + shift per channel (scale = gamma * rstd,
 * shift = beta - mean * scale) and applies the activation while the row is
 * still in cache. Spans are independent, so threads take whole spans and y
 * may alias x.
 */
#include "nn/cpu/cpu_ops.h"

/* Mean and 1 / sqrt(variance + eps) of n floats (biased variance, as PyTorch). */
static void span_moments(const float *x, int64_t n, float eps, float *mean, float *rstd)
{
    double sum = 0.0;
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < n; i++)
        sum += x[i];
    double m = sum / (double)n;
    double sq = 0.0;
#pragma omp simd reduction(+ : sq)
    for (int64_t i = 0; i < n; i++) {
        double d = (double)x[i] - m;
        sq += d * d;
    }
    *mean = (float)m;
    *rstd = (float)(1.0 / sqrt(sq / (double)n + (double)eps));
}

void cpu_group_norm(nn_ctx *c, const nn_tensor *x, const nn_tensor *gamma,
                    const nn_tensor *beta, int groups, float eps, nn_act act, nn_tensor *y)
{
    int64_t channels = x->shape[1];
    int64_t per_group = channels / groups;
    int64_t spatial = nn_numel(x) / (x->shape[0] * channels);
    int64_t blocks = x->shape[0] * groups;
    const float *xd = x->data, *gd = gamma->data, *bd = beta->data;
    float *yd = y->data;
#pragma omp parallel for schedule(dynamic, 1) if (nn_numel(x) >= CPU_PARALLEL_MIN)
    for (int64_t blk = 0; blk < blocks; blk++) {
        int64_t first = blk * per_group * spatial;
        float mean, rstd;
        span_moments(xd + first, per_group * spatial, eps, &mean, &rstd);
        for (int64_t ch = 0; ch < per_group; ch++) {
            int64_t chan = (blk % groups) * per_group + ch;
            float scale = gd[chan] * rstd, shift = bd[chan] - mean * scale;
            const float *src = xd + first + ch * spatial;
            float *dst = yd + first + ch * spatial;
            for (int64_t i = 0; i < spatial; i++)
                dst[i] = src[i] * scale + shift;
            cpu_act_span(dst, dst, spatial, act);
        }
    }
}

void cpu_layer_norm(nn_ctx *c, const nn_tensor *x, const nn_tensor *gamma,
                    const nn_tensor *beta, float eps, nn_tensor *y)
{
    int64_t d = x->shape[x->ndim - 1];
    int64_t rows = nn_numel(x) / d;
    const float *xd = x->data, *gd = gamma->data, *bd = beta->data;
    float *yd = y->data;
#pragma omp parallel for schedule(static) if (nn_numel(x) >= CPU_PARALLEL_MIN)
    for (int64_t r = 0; r < rows; r++) {
        float mean, rstd;
        span_moments(xd + r * d, d, eps, &mean, &rstd);
        const float *src = xd + r * d;
        float *dst = yd + r * d;
        for (int64_t i = 0; i < d; i++)
            dst[i] = (src[i] - mean) * rstd * gd[i] + bd[i];
    }
}
