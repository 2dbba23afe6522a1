/*
 * half.c - fp32 <-> fp16 by bit manipulation (half.h), and the array
 * conversions on the CPU's F16C instructions where it has them (x86-64:
 * eight values per instruction, rounding to nearest even as the bit
 * manipulation does; the tail and other CPUs take the bit manipulation).
 *
 * fp32 -> fp16: the exponent is re-biased (127 -> 15). A normal half keeps
 * the top 10 of the 23 mantissa bits and rounds on the 13 dropped ones; a
 * result below the normal range is built by shifting the mantissa (with its
 * implicit 1) right and rounding on the bits shifted out. Rounding adds
 * half an ulp minus one, plus the kept lowest bit (ties to even); a carry
 * out of the mantissa correctly bumps the exponent, up to infinity.
 */
#include "nn/half.h"

#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#include <stdatomic.h>
#define HALF_F16C 1
#endif

static uint32_t bits_of(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float float_of(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* value >> shift rounded to nearest, ties to even (shift 1..31). */
static uint32_t shift_round_even(uint32_t value, int shift)
{
    uint32_t kept = value >> shift;
    uint32_t rest = value & ((1u << shift) - 1), half = 1u << (shift - 1);
    return kept + (rest > half || (rest == half && (kept & 1)));
}

uint16_t nn_half_from_float(float f)
{
    uint32_t u = bits_of(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t exponent = (u >> 23) & 0xffu, mantissa = u & 0x7fffffu;
    if (exponent == 0xffu)   /* infinity, or NaN kept quiet and non-zero */
        return sign | 0x7c00u | (mantissa ? 0x200u | (uint16_t)(mantissa >> 13) : 0);
    int e = (int)exponent - 127 + 15;
    if (e >= 31)
        return sign | 0x7c00u;
    if (e >= 1)   /* normal: the carry of the rounding may reach infinity, as it must */
        return sign | (uint16_t)shift_round_even(((uint32_t)e << 23) | mantissa, 13);
    if (e < -10)  /* below half the smallest subnormal (or fp32 zero/subnormal) */
        return sign;
    /* subnormal half: the 24-bit significand shifted to units of 2^-24 */
    return sign | (uint16_t)shift_round_even(mantissa | 0x800000u, 14 - e);
}

float nn_float_from_half(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
    if (exponent == 0x1fu)
        return float_of(sign | 0x7f800000u | (mantissa << 13));
    if (exponent != 0)
        return float_of(sign | ((exponent + 127 - 15) << 23) | (mantissa << 13));
    /* zero or subnormal: mantissa * 2^-24, exact in fp32 */
    float magnitude = (float)mantissa * float_of(0x33800000u);
    return sign ? -magnitude : magnitude;
}

#ifdef HALF_F16C
/* F16C and AVX, with the YMM registers saved by the OS (CPUID leaf 1,
 * XGETBV), asked once. */
static int cpu_has_f16c(void)
{
    static atomic_int known = -1;
    int has = atomic_load_explicit(&known, memory_order_relaxed);
    if (has >= 0)
        return has;
    unsigned a, b, c, d;
    has = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C) && (c & bit_AVX) && (c & bit_OSXSAVE);
    if (has) {
        unsigned lo, hi;
        __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        has = (lo & 6u) == 6u;
    }
    atomic_store_explicit(&known, has, memory_order_relaxed);
    return has;
}

__attribute__((target("avx,f16c"))) static int64_t halves_from_floats_f16c(uint16_t *dst,
                                                                           const float *src,
                                                                           int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT);
        _mm_storeu_si128((__m128i *)(dst + i), h);
    }
    return i;
}

__attribute__((target("avx,f16c"))) static int64_t floats_from_halves_f16c(float *dst,
                                                                           const uint16_t *src,
                                                                           int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    return i;
}
#endif

const char *nn_half_array_path(void)
{
#ifdef HALF_F16C
    if (cpu_has_f16c())
        return "F16C";
#endif
    return "portable";
}

void nn_halves_from_floats(uint16_t *dst, const float *src, int64_t n)
{
    int64_t i = 0;
#ifdef HALF_F16C
    if (cpu_has_f16c())
        i = halves_from_floats_f16c(dst, src, n);
#endif
    for (; i < n; i++)
        dst[i] = nn_half_from_float(src[i]);
}

void nn_floats_from_halves(float *dst, const uint16_t *src, int64_t n)
{
    int64_t i = 0;
#ifdef HALF_F16C
    if (cpu_has_f16c())
        i = floats_from_halves_f16c(dst, src, n);
#endif
    for (; i < n; i++)
        dst[i] = nn_float_from_half(src[i]);
}
