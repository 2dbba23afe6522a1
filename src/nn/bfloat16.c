/*
 * bfloat16.c - fp32 <-> bf16 by bit manipulation (bfloat16.h).
 *
 * fp32 -> bf16 keeps the top 16 bits and rounds on the 16 dropped ones:
 * adding 0x7fff plus the kept lowest bit before the shift rounds to
 * nearest with ties to even, and a carry out of the mantissa bumps the
 * exponent, up to infinity, as it must. A NaN is kept apart (the addition
 * could carry it into infinity) and made quiet. The loops are plain so
 * that the compiler vectorises them.
 */
#include "nn/bfloat16.h"

#include <string.h>

uint16_t nn_bfloat_from_float(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40u);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

float nn_float_from_bfloat(uint16_t b)
{
    uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

void nn_bfloats_from_floats(uint16_t *dst, const float *src, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        dst[i] = nn_bfloat_from_float(src[i]);
}

void nn_floats_from_bfloats(float *dst, const uint16_t *src, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        dst[i] = nn_float_from_bfloat(src[i]);
}
