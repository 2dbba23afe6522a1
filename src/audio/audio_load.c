/*
 * audio_load.c - WAV to 16 kHz mono (see audio_load.h).
 */
#include "audio/audio_load.h"

#include <stdlib.h>

#include "audio/resample.h"

int ls_audio_load_16k(const char *path, ls_audio *out, ls_error *err)
{
    if (ls_wav_read(path, out, err) != 0)
        return -1;
    if (out->rate == LS_AUDIO_RATE)
        return 0;
    float *resampled;
    int64_t n;
    int rc = ls_resample(out->samples, out->n, out->rate, LS_AUDIO_RATE, &resampled, &n, err);
    ls_audio_free(out);
    if (rc != 0)
        return ls_error_prefix(err, "%s", path);
    out->samples = resampled;
    out->n = n;
    out->rate = LS_AUDIO_RATE;
    return 0;
}
