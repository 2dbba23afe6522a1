/*
 * test_half.c - fp32 <-> fp16 conversion (nn/half.h) against an oracle.
 *
 * Every one of the 65536 halves converts to fp32 and back to itself (NaNs
 * to a NaN), and its fp32 value matches the definition (sign, 2^(e-15) *
 * 1.m, subnormals m * 2^-24). fp32 -> fp16 is compared with the nearest
 * half found by search in the sorted table of all finite halves, ties to
 * the even one, magnitudes from 65520 (65504 plus half an ulp) infinite:
 * for every fp32 exponent, the mantissas next to each rounding boundary
 * and a spread of others, plus zeros, infinities and NaNs. The array
 * conversions (F16C instructions where the CPU has them) must give the
 * single-value functions' bits for all of these (NaNs: a NaN), at offsets
 * and lengths that leave tails of every size.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn/half.h"

#define HALF_MAX_FINITE 0x7bffu

static float float_of(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* The value of half h by its definition, in double. */
static double half_value(uint16_t h)
{
    int e = (h >> 10) & 0x1f, m = h & 0x3ff;
    double v = e ? ldexp(1.0 + m / 1024.0, e - 15) : ldexp(m, -24);
    return (h & 0x8000) ? -v : v;
}

/* The half nearest f (finite), ties to even, by search over positive halves. */
static uint16_t oracle(float f)
{
    double a = fabs((double)f);
    uint16_t sign = signbit(f) ? 0x8000 : 0;
    if (a >= 65520.0)
        return sign | 0x7c00;
    uint16_t lo = 0, hi = HALF_MAX_FINITE;   /* largest half <= a */
    while (lo < hi) {
        uint16_t mid = (uint16_t)((lo + hi + 1) / 2);
        if (half_value(mid) <= a)
            lo = mid;
        else
            hi = (uint16_t)(mid - 1);
    }
    if (lo == HALF_MAX_FINITE)
        return sign | lo;
    double below = a - half_value(lo), above = half_value((uint16_t)(lo + 1)) - a;
    if (above < below || (above == below && (lo & 1)))
        lo++;
    return sign | lo;
}

static void test_every_half(void)
{
    int bad_value = 0, bad_round_trip = 0;
    for (uint32_t h = 0; h < 0x10000u; h++) {
        float f = nn_float_from_half((uint16_t)h);
        int nan = ((h >> 10) & 0x1f) == 0x1f && (h & 0x3ff);
        if (nan) {
            bad_value += !isnan(f);
            bad_round_trip += !isnan(nn_float_from_half(nn_half_from_float(f)));
            continue;
        }
        int inf = ((h >> 10) & 0x1f) == 0x1f;
        double want = inf ? ((h & 0x8000) ? -INFINITY : INFINITY) : half_value((uint16_t)h);
        bad_value += (double)f != want || !signbit(f) != !(h & 0x8000);
        bad_round_trip += nn_half_from_float(f) != h;
    }
    printf("65536 halves: %d wrong values, %d round trips changed\n", bad_value, bad_round_trip);
    CHECK(bad_value == 0, "%d halves convert to the wrong fp32 value", bad_value);
    CHECK(bad_round_trip == 0, "%d halves do not survive fp32 and back", bad_round_trip);
}

static int compare(uint32_t bits, int *shown)
{
    float f = float_of(bits);
    uint16_t got = nn_half_from_float(f), want = oracle(f);
    if (got == want)
        return 0;
    if ((*shown)++ < 5)
        fprintf(stderr, "fp32 %08x (%.9g): got half %04x, want %04x\n", (unsigned)bits, f,
                (unsigned)got, (unsigned)want);
    return 1;
}

/* The fp32 values test_rounding checks, kept for test_arrays. */
#define ROUNDING_VALUES (2 * 255 * 64 * 11 + 0x400 * 3)
static float rounding_values[ROUNDING_VALUES];

static void test_rounding(void)
{
    int wrong = 0, shown = 0;
    long count = 0;
    /* the 13 bits fp16 drops: near every boundary (..., tie - 1, tie, tie + 1)
     * and a spread, for every exponent that is not inf/NaN, both signs */
    static const uint32_t low[] = { 0x0000, 0x0001, 0x0fff, 0x1000, 0x1001, 0x1fff, 0x0800,
                                    0x07ff, 0x0801, 0x1555, 0x0aaa };
    uint64_t rng = 0x2545f4914f6cdd1dull;
    for (uint32_t sign = 0; sign < 2; sign++)
        for (uint32_t exponent = 0; exponent < 0xff; exponent++)
            for (int k = 0; k < 64; k++) {
                rng = rng * 6364136223846793005ull + 1442695040888963407ull;
                uint32_t high = (uint32_t)(rng >> 40) & 0x3ffu;   /* the 10 bits fp16 keeps */
                for (size_t j = 0; j < sizeof low / sizeof *low; j++) {
                    /* below the normal range fp16 keeps fewer bits: also vary all of them */
                    uint32_t m = (high << 13) | low[j];
                    if (exponent < 113)
                        m = ((uint32_t)(rng >> 17) & 0x7fffffu) ^ low[j];
                    uint32_t bits = (sign << 31) | (exponent << 23) | m;
                    wrong += compare(bits, &shown);
                    rounding_values[count++] = float_of(bits);
                }
            }
    /* exact ties and their neighbours in the subnormal range of fp16 */
    for (uint32_t h = 0; h < 0x400; h++) {
        float tie = (float)((half_value((uint16_t)h) + half_value((uint16_t)(h + 1))) / 2);
        uint32_t u;
        memcpy(&u, &tie, sizeof u);
        for (int d = -1; d <= 1; d++) {
            wrong += compare(u + (uint32_t)d, &shown);
            rounding_values[count++] = float_of(u + (uint32_t)d);
        }
    }
    printf("%ld fp32 values rounded to fp16: %d differ from the nearest-even half\n", count,
           wrong);
    CHECK(wrong == 0, "%d fp32 values round to the wrong half", wrong);
}

static void test_specials(void)
{
    CHECK(nn_half_from_float(0.0f) == 0x0000, "+0");
    CHECK(nn_half_from_float(-0.0f) == 0x8000, "-0");
    CHECK(nn_half_from_float(INFINITY) == 0x7c00, "+inf");
    CHECK(nn_half_from_float(-INFINITY) == 0xfc00, "-inf");
    uint16_t nan = nn_half_from_float(NAN);
    CHECK((nan & 0x7c00) == 0x7c00 && (nan & 0x3ff), "NaN gives %04x", (unsigned)nan);
    CHECK(nn_half_from_float(65504.0f) == 0x7bff, "largest finite");
    CHECK(nn_half_from_float(65519.996f) == 0x7bff, "just below the overflow threshold");
    CHECK(nn_half_from_float(65520.0f) == 0x7c00, "the overflow threshold rounds to inf");
    CHECK(nn_half_from_float(1.0f + 1.0f / 2048) == 0x3c00, "tie below 1 + ulp goes to even");
    CHECK(nn_half_from_float(1.0f + 3.0f / 2048) == 0x3c02, "tie above 1 + ulp goes to even");
    CHECK(nn_half_from_float(ldexpf(1.0f, -24)) == 0x0001, "smallest subnormal");
    CHECK(nn_half_from_float(ldexpf(1.0f, -25)) == 0x0000, "half the smallest subnormal: even 0");
    CHECK(nn_half_from_float(ldexpf(1.5f, -25)) == 0x0001, "above half the smallest subnormal");
    CHECK(nn_half_from_float(ldexpf(1023.5f, -24)) == 0x0400, "subnormal rounding up to normal");
    float back[3];
    uint16_t halves[3];
    const float values[3] = { -2.5f, 0.333333f, 1000.1f };
    nn_halves_from_floats(halves, values, 3);
    nn_floats_from_halves(back, halves, 3);
    CHECK(back[0] == -2.5f && fabsf(back[1] - 0.333333f) < 2e-4f && back[2] == 1000.0f,
          "array conversions give %g %g %g", back[0], back[1], back[2]);
}

static int same_float(float a, float b)
{
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

static int same_half(uint16_t a, uint16_t b)
{
    int nan_a = (a & 0x7c00) == 0x7c00 && (a & 0x3ff);
    int nan_b = (b & 0x7c00) == 0x7c00 && (b & 0x3ff);
    return (nan_a && nan_b) || a == b;
}

/* The array conversions against the single-value ones. */
static void test_arrays(void)
{
    enum { HALVES = 0x10000 };
    static uint16_t all_halves[HALVES], halves[ROUNDING_VALUES];
    static float floats[HALVES], extra_values[] = { 0.0f, -0.0f, INFINITY, -INFINITY, NAN, -NAN };
    for (uint32_t h = 0; h < HALVES; h++)
        all_halves[h] = (uint16_t)h;
    int wrong = 0;
    for (int start = 0; start < 8; start++) {   /* every tail length, unaligned starts */
        int64_t n = HALVES - 16 + start;
        nn_floats_from_halves(floats + start, all_halves + start, n);
        for (int64_t i = start; i < start + n; i++)
            wrong += !same_float(floats[i], nn_float_from_half(all_halves[i]));
        int64_t m = ROUNDING_VALUES - 16 + start;
        nn_halves_from_floats(halves + start, rounding_values + start, m);
        for (int64_t i = start; i < start + m; i++)
            wrong += !same_half(halves[i], nn_half_from_float(rounding_values[i]));
    }
    uint16_t few[6];
    nn_halves_from_floats(few, extra_values, 6);
    for (int i = 0; i < 6; i++)
        wrong += !same_half(few[i], nn_half_from_float(extra_values[i]));
    printf("array conversions (%s): %d values differ from the single-value functions\n",
           nn_half_array_path(), wrong);
    CHECK(wrong == 0, "%d array conversions differ", wrong);
}

int main(void)
{
    test_every_half();
    test_rounding();
    test_specials();
    test_arrays();
    return check_result("test_half");
}
