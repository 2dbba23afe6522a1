/*
 * fuzz_cascade_xml.c - libFuzzer target for the XML and Haar cascade readers.
 *
 * Input bytes are parsed as a cascade file; a cascade that is accepted is
 * then run over a small fixed test image, so any index the reader let
 * through is exercised by the evaluator too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "avatar/cascade.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ls_cascade *c;
    ls_error err;
    if (ls_cascade_parse((const char *)data, size, "fuzz.xml", &c, &err) != 0)
        return 0;
    static uint8_t pixels[48 * 48];
    for (int i = 0; i < 48 * 48; i++)
        pixels[i] = (uint8_t)((i * 37) ^ (i / 48 * 11));
    ls_image grey = { pixels, 48, 48, 1 };
    ls_detect_params p = ls_detect_defaults();
    p.scale_factor = 1.5;
    p.min_neighbours = 0;
    ls_detection *found;
    int n;
    if (ls_cascade_detect(c, &grey, &p, &found, &n, &err) == 0)
        free(found);
    ls_cascade_free(c);
    return 0;
}
