/*
 * check.h - the assertions every C test uses.
 *
 * CHECK(cond, ...) prints the failed condition with a printf message and
 * counts the failure; a test's main returns check_result(), which prints a
 * summary and exits non-zero if anything failed. check_close() compares
 * arrays against a reference and always prints the measured max abs and
 * relative error next to the tolerance, so a passing run documents its margin.
 */
#ifndef LS_TESTS_CHECK_H
#define LS_TESTS_CHECK_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>

static int check_failures;
static int check_count;

#define CHECK(cond, ...)                                                      \
    do {                                                                      \
        check_count++;                                                        \
        if (!(cond)) {                                                        \
            check_failures++;                                                 \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);   \
            fprintf(stderr, __VA_ARGS__);                                     \
            fprintf(stderr, "\n");                                            \
        }                                                                     \
    } while (0)

/* max |a-b| <= atol + rtol * max|b| over the arrays; prints the figures. */
static inline int check_close(const char *what, const float *got, const float *want, int64_t n,
                              double atol, double rtol)
{
    double max_abs = 0, max_ref = 0;
    int64_t worst = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)want[i]);
        if (!(d <= max_abs)) {  /* also catches NaN */
            max_abs = d;
            worst = i;
        }
        if (fabs(want[i]) > max_ref)
            max_ref = fabs(want[i]);
    }
    double bound = atol + rtol * max_ref;
    double rel = max_ref > 0 ? max_abs / max_ref : max_abs;
    int ok = max_abs <= bound;
    printf("%-40s n=%-9lld max_abs=%.3g rel=%.3g (tolerance %.3g) %s\n", what, (long long)n,
           max_abs, rel, bound, ok ? "ok" : "FAIL");
    CHECK(ok, "%s: element %lld got %g want %g", what, (long long)worst, (double)got[worst],
          (double)want[worst]);
    return ok;
}

static inline int check_result(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, check_count, check_failures);
    return check_failures ? 1 : 0;
}

#endif
