/*
 * audio_load.h - any WAV file as 16 kHz mono float samples.
 *
 * The whisper front end works on 16 kHz mono audio; this reads a WAV file
 * (io/wav.h: channels mixed by their mean) and resamples it when its rate
 * differs (audio/resample.h).
 */
#ifndef LS_AUDIO_AUDIO_LOAD_H
#define LS_AUDIO_AUDIO_LOAD_H

#include "io/wav.h"

#define LS_AUDIO_RATE 16000

/* On success out->rate is LS_AUDIO_RATE; free with ls_audio_free(). */
int ls_audio_load_16k(const char *path, ls_audio *out, ls_error *err);

#endif
