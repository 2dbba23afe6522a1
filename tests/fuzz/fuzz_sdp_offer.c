/*
 * fuzz_sdp_offer.c - libFuzzer target: arbitrary bytes as a WebRTC offer's
 * SDP through the codec and payload-type choice.
 */
#include <stdint.h>

#include "media/sdp_offer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ls_offer_media m;
    ls_error err;
    ls_sdp_offer_read((const char *)data, size, &m, &err);
    return 0;
}
