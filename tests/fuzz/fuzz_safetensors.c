/*
 * fuzz_safetensors.c - libFuzzer target: arbitrary bytes as a model file,
 * seeded with safetensors files; every tensor found is fetched.
 */
#include <stdint.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_load_weights(fuzz_input_file(data, size));
    return 0;
}
