/*
 * fuzz_wav.c - libFuzzer target: arbitrary bytes as a WAV file.
 */
#include <stdint.h>

#include "io/wav.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ls_audio audio;
    ls_error err;
    if (ls_wav_parse(data, size, "fuzz.wav", &audio, &err) == 0) {
        if (audio.n > 0) {
            volatile float sink = audio.samples[audio.n - 1];
            (void)sink;
        }
        ls_audio_free(&audio);
    }
    return 0;
}
