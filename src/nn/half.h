/*
 * half.h - IEEE 754 binary16 ("half", fp16) to and from fp32 on the host.
 *
 * A backend that keeps tensors as halves (backend.h's storage
 * NN_STORAGE_FP16) gets its inputs converted here and its results converted
 * back. fp32 -> fp16 rounds to nearest, ties to even, as CUDA's
 * __float2half_rn and PyTorch's .half(): magnitudes from 65520 up become
 * infinity, those below the smallest subnormal's half (2^-25) become a
 * signed zero, NaN stays NaN (quiet).
 * fp16 -> fp32 is exact.
 */
#ifndef LS_NN_HALF_H
#define LS_NN_HALF_H

#include <stdint.h>

uint16_t nn_half_from_float(float f);
float nn_float_from_half(uint16_t h);

/* n values; the arrays must not overlap. The same results as the
 * functions above, value by value, NaNs aside (a NaN stays a NaN, its
 * payload may differ); on the CPU's F16C instructions where it has them. */
void nn_halves_from_floats(uint16_t *dst, const float *src, int64_t n);
/* What the array conversions run on here: "F16C" or "portable". */
const char *nn_half_array_path(void);
void nn_floats_from_halves(float *dst, const uint16_t *src, int64_t n);

#endif
