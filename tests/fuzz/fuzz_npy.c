/*
 * fuzz_npy.c - libFuzzer target: arbitrary bytes as a .npy file.
 */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_common.h"
#include "io/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nn_tensor t;
    ls_error err;
    if (ls_npy_read(fuzz_input_file(data, size), &t, &err) == 0) {
        if (nn_numel(&t) > 0) {
            volatile float sink = t.data[nn_numel(&t) - 1];
            (void)sink;
        }
        free(t.data);
    }
    return 0;
}
