/*
 * attention_math.h - the online softmax of the fused attention kernel
 * (kernels_attention.cu), in the common subset of C11 and CUDA C++: the
 * kernel includes it, and tests/test_attention_math.c runs the same
 * functions on the CPU, tile by tile as the kernel does, against a direct
 * softmax in double.
 *
 * A query row meets its keys one tile at a time and never holds all their
 * scores. It keeps the running maximum m of the scores seen and the sum l
 * of exp(s - m) over them; its output accumulator holds the sum of
 * exp(s - m) v. A tile with a larger maximum m' rescales both by
 * exp(m - m') before its own weights exp(s - m') are added; the output is
 * the accumulator divided by l at the end. Every exponent is at most 0, so
 * nothing overflows whatever the scores' range, and the first tile's
 * rescale is exp(-inf) = 0 of an empty sum.
 */
#ifndef LS_NN_CUDA_ATTENTION_MATH_H
#define LS_NN_CUDA_ATTENTION_MATH_H

#include <math.h>

#ifdef __CUDACC__
#define ATTN_FN static __device__ __forceinline__
#else
#define ATTN_FN static inline
#endif

typedef struct attn_running {
    float max;   /* of the scores seen so far */
    float sum;   /* of exp(score - max) over them */
} attn_running;

ATTN_FN attn_running attn_start(void)
{
    attn_running r;
    r.max = -INFINITY;
    r.sum = 0.0f;
    return r;
}

/* Enters a tile whose largest score is tile_max; returns the factor by which
 * everything accumulated so far (the sum is done here) must be rescaled. */
ATTN_FN float attn_enter_tile(attn_running *r, float tile_max)
{
    float max = fmaxf(r->max, tile_max);
    float rescale = expf(r->max - max);
    r->max = max;
    r->sum *= rescale;
    return rescale;
}

/* The weight of a score of the current tile (after attn_enter_tile). */
ATTN_FN float attn_weight(const attn_running *r, float score)
{
    return expf(score - r->max);
}

/* Adds the current tile's weights, summed, to the running sum. */
ATTN_FN void attn_add_weights(attn_running *r, float tile_sum)
{
    r->sum += tile_sum;
}

/* One output value from its accumulator. */
ATTN_FN float attn_finish(const attn_running *r, float accumulated)
{
    return accumulated / r->sum;
}

#endif
