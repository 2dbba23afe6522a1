/*
 * fuzz_zip_ckpt.c - libFuzzer target: arbitrary bytes as a model file,
 * seeded with torch.save zips (stored, deflated, ZIP64), so mutations reach
 * the ZIP reader, the pickle VM and the tensor checks; every tensor found is
 * fetched.
 */
#include <stdint.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_load_weights(fuzz_input_file(data, size));
    return 0;
}
