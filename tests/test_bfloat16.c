/*
 * test_bfloat16.c - fp32 <-> bf16 conversion (nn/bfloat16.h) against an
 * oracle.
 *
 * Every one of the 65536 bf16 values converts to the fp32 whose top 16 bits
 * it is and back to itself (NaNs to a quiet NaN). fp32 -> bf16 is compared
 * with the nearest of the two bf16 values around each fp32 (measured in
 * double; ties to the even one; past the largest finite bf16 the next
 * value is 2^128, which rounds to infinity as IEEE 754 says), for every
 * bf16 with the 16 dropped bits next to each rounding boundary and spread
 * at random: 65536 x 12 values. The array conversions must give the
 * single-value functions' bits, at every start offset and tail length.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn/bfloat16.h"

static float float_of(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static int is_nan_bits(uint32_t u)
{
    return (u & 0x7fffffffu) > 0x7f800000u;
}

/* The value of the magnitude bits m (no sign) of a bf16, 2^128 for the one
 * past the largest finite (where infinity's bits are). */
static double magnitude_value(uint32_t m)
{
    return m == 0x7f80u ? ldexp(1.0, 128) : (double)float_of(m << 16);
}

/* The bf16 nearest the finite or infinite fp32 with bits u. */
static uint16_t oracle(uint32_t u)
{
    uint32_t sign = (u >> 16) & 0x8000u, below = (u >> 16) & 0x7fffu;
    if (below >= 0x7f80u)   /* infinity */
        return (uint16_t)(sign | below);
    double a = fabs((double)float_of(u));
    double down = a - magnitude_value(below), up = magnitude_value(below + 1) - a;
    uint32_t nearest = up < down || (up == down && (below & 1)) ? below + 1 : below;
    return (uint16_t)(sign | nearest);
}

static void test_every_bfloat(void)
{
    int bad_value = 0, bad_round_trip = 0;
    for (uint32_t b = 0; b < 0x10000u; b++) {
        float f = nn_float_from_bfloat((uint16_t)b);
        uint32_t want = b << 16, got;
        memcpy(&got, &f, sizeof got);
        uint16_t back = nn_bfloat_from_float(f);
        if (is_nan_bits(want)) {
            bad_value += !isnan(f);
            bad_round_trip += !is_nan_bits((uint32_t)back << 16) || !(back & 0x40u);
            continue;
        }
        bad_value += got != want;
        bad_round_trip += back != b;
    }
    printf("65536 bf16 values: %d wrong fp32 values, %d round trips changed\n", bad_value,
           bad_round_trip);
    CHECK(bad_value == 0, "%d bf16 values convert to the wrong fp32", bad_value);
    CHECK(bad_round_trip == 0, "%d bf16 values do not survive fp32 and back", bad_round_trip);
}

/* The dropped 16 bits tried for every bf16: each side of the tie, the
 * tie, the extremes, and random ones. */
#define LOW_PATTERNS 12
#define ROUNDING_VALUES (0x10000 * LOW_PATTERNS)
static float rounding_values[ROUNDING_VALUES];

static void test_rounding(void)
{
    static const uint32_t low[LOW_PATTERNS - 4] = { 0x0000, 0x0001, 0x7ffe, 0x7fff,
                                                    0x8000, 0x8001, 0xfffe, 0xffff };
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    int wrong = 0, shown = 0;
    int64_t count = 0;
    for (uint32_t b = 0; b < 0x10000u; b++)
        for (int k = 0; k < LOW_PATTERNS; k++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            uint32_t bits = (b << 16) | (k < LOW_PATTERNS - 4 ? low[k] : (uint32_t)(rng >> 48));
            rounding_values[count++] = float_of(bits);
            if (is_nan_bits(bits))
                continue;
            uint16_t got = nn_bfloat_from_float(float_of(bits)), want = oracle(bits);
            if (got != want && shown++ < 5)
                fprintf(stderr, "fp32 %08x (%.9g): got bf16 %04x, want %04x\n", (unsigned)bits,
                        float_of(bits), (unsigned)got, (unsigned)want);
            wrong += got != want;
        }
    printf("%lld fp32 values rounded to bf16: %d differ from the nearest-even bf16\n",
           (long long)count, wrong);
    CHECK(wrong == 0, "%d fp32 values round to the wrong bf16", wrong);
}

static void test_specials(void)
{
    CHECK(nn_bfloat_from_float(0.0f) == 0x0000, "+0");
    CHECK(nn_bfloat_from_float(-0.0f) == 0x8000, "-0");
    CHECK(nn_bfloat_from_float(INFINITY) == 0x7f80, "+inf");
    CHECK(nn_bfloat_from_float(-INFINITY) == 0xff80, "-inf");
    CHECK(nn_bfloat_from_float(1.0f) == 0x3f80, "1");
    CHECK(nn_bfloat_from_float(1.0f + 1.0f / 256) == 0x3f80, "tie above 1 goes to even 1");
    CHECK(nn_bfloat_from_float(1.0f + 3.0f / 256) == 0x3f82, "tie above 1 + ulp goes to even");
    CHECK(nn_bfloat_from_float(3.0e38f) == 0x7f62, "large finite values stay finite");
    CHECK(nn_bfloat_from_float(float_of(0x7f7fffffu)) == 0x7f80, "FLT_MAX rounds to infinity");
    CHECK(nn_bfloat_from_float(float_of(0x7f7f7fffu)) == 0x7f7f, "below the tie stays finite");
    CHECK(nn_bfloat_from_float(float_of(0x00008000u)) == 0x0000, "subnormal tie to even zero");
    CHECK(nn_bfloat_from_float(float_of(0x00018000u)) == 0x0002, "subnormal tie to even");
    uint16_t nan = nn_bfloat_from_float(float_of(0x7f800001u));
    CHECK(nan == 0x7fc0, "a signalling NaN with low payload stays a quiet NaN: %04x",
          (unsigned)nan);
    CHECK(nn_bfloat_from_float(float_of(0xffc00000u)) == 0xffc0, "-NaN keeps its sign");
}

/* The array conversions against the single-value ones. */
static void test_arrays(void)
{
    enum { VALUES = 0x10000 };
    static uint16_t all[VALUES], bfloats[ROUNDING_VALUES];
    static float floats[VALUES];
    for (uint32_t b = 0; b < VALUES; b++)
        all[b] = (uint16_t)b;
    int wrong = 0;
    for (int start = 0; start < 8; start++) {   /* every tail length, unaligned starts */
        int64_t n = VALUES - 16 + start;
        nn_floats_from_bfloats(floats + start, all + start, n);
        for (int64_t i = start; i < start + n; i++)
            wrong += nn_float_from_bfloat(all[i]) != floats[i] && !isnan(floats[i]);
        int64_t m = ROUNDING_VALUES - 16 + start;
        nn_bfloats_from_floats(bfloats + start, rounding_values + start, m);
        for (int64_t i = start; i < start + m; i++)
            wrong += bfloats[i] != nn_bfloat_from_float(rounding_values[i]);
    }
    printf("array conversions: %d values differ from the single-value functions\n", wrong);
    CHECK(wrong == 0, "%d array conversions differ", wrong);
}

int main(void)
{
    test_every_bfloat();
    test_rounding();
    test_specials();
    test_arrays();
    return check_result("test_bfloat16");
}
