/*
 * bfloat16.h - bfloat16 ("brain float", bf16) to and from fp32 on the host.
 *
 * A bf16 is the top half of an fp32: sign, the same 8-bit exponent, 7
 * mantissa bits. A backend that keeps tensors as bf16 (backend.h's storage
 * NN_STORAGE_BF16) gets its inputs converted here and its results
 * converted back. fp32 -> bf16 rounds to nearest, ties to even, as CUDA's
 * __float2bfloat16_rn and PyTorch's .bfloat16(): fp32 range is kept (only
 * magnitudes within half a bf16 ulp of FLT_MAX and above become infinity),
 * subnormals round like the rest, NaN stays NaN (quiet). bf16 -> fp32 is
 * exact.
 */
#ifndef LS_NN_BFLOAT16_H
#define LS_NN_BFLOAT16_H

#include <stdint.h>

uint16_t nn_bfloat_from_float(float f);
float nn_float_from_bfloat(uint16_t b);

/* n values, value by value as the functions above; the arrays must not overlap. */
void nn_bfloats_from_floats(uint16_t *dst, const float *src, int64_t n);
void nn_floats_from_bfloats(float *dst, const uint16_t *src, int64_t n);

#endif
