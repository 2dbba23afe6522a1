/*
 * npy_close.c - compares two .npy files with check_close(), for tests that
 * run the lipstream executable and check what it wrote.
 *
 * usage: npy_close GOT.npy WANT.npy ATOL RTOL
 * Exit status 0 when the shapes agree and max|got - want| <= ATOL + RTOL * max|want|.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "io/npy.h"

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: npy_close GOT.npy WANT.npy ATOL RTOL\n");
        return 2;
    }
    nn_tensor got = { 0 }, want = { 0 };
    ls_error err = { 0 };
    if (ls_npy_read(argv[1], &got, &err) != 0 || ls_npy_read(argv[2], &want, &err) != 0) {
        fprintf(stderr, "npy_close: %s\n", err.msg);
        free(got.data);
        return 1;
    }
    char a[64], b[64];
    CHECK(nn_same_shape(&got, &want), "shape %s, want %s", nn_shape_str(&got, a, sizeof a),
          nn_shape_str(&want, b, sizeof b));
    if (nn_same_shape(&got, &want))
        check_close(argv[1], got.data, want.data, nn_numel(&want), atof(argv[3]), atof(argv[4]));
    free(got.data);
    free(want.data);
    return check_result("npy_close");
}
