/*
 * espeak_tts.c - the espeak-ng engine (see espeak_tts.h).
 *
 * espeak_Synth's callback gets the chunk's state through the user_data of
 * its events (the pointer passed to espeak_Synth). The voice is switched only
 * when it changes between chunks. espeak-ng is initialised once per process
 * and never terminated: espeak_Terminate (1.51) can deadlock joining its
 * event thread (a wake-up lost when it runs soon after the thread started);
 * its memory stays reachable from its globals until exit.
 */
#include "speech/espeak_tts.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <espeak-ng/speak_lib.h>

#define CALLBACK_MS 50   /* audio per callback: the streaming granularity */

typedef struct espeak_engine {
    ls_tts_engine base;
    char *fixed_voice;        /* NULL: by script */
    const char *voice;        /* the voice set now */
} espeak_engine;

typedef struct synth_call {
    ls_tts_output_fn out;
    void *user;
    int stopped;
} synth_call;

static int on_audio(short *wav, int n, espeak_EVENT *events)
{
    synth_call *call = events ? events->user_data : NULL;
    if (!call || call->stopped)
        return 1;
    if (wav && n > 0 && call->out(call->user, wav, n) != 0)
        call->stopped = 1;
    return call->stopped;
}

const char *ls_espeak_voice_for(const char *text)
{
    /* CJK Unified Ideographs (and extension A): U+3400..U+9FFF, UTF-8 lead bytes E3 90 .. E9 BF */
    for (const unsigned char *s = (const unsigned char *)text; *s; s++)
        if (s[0] >= 0xE3 && s[0] <= 0xE9 && s[1] && (s[0] > 0xE3 || s[1] >= 0x90))
            return "cmn";
    return "en-us";
}

static int set_voice(espeak_engine *e, const char *voice, ls_error *err)
{
    if (e->voice && strcmp(e->voice, voice) == 0)
        return 0;
    if (espeak_SetVoiceByName(voice) != EE_OK) {
        e->voice = NULL;
        return ls_error_set(err, "espeak-ng: no voice '%s' (espeak-ng --voices lists them)", voice);
    }
    e->voice = voice;
    return 0;
}

static int synthesize(ls_tts_engine *base, const char *text, const ls_tts_voice *voice, ls_tts_output_fn out,
                      void *user, ls_error *err)
{
    espeak_engine *e = (espeak_engine *)base;
    if (set_voice(e, e->fixed_voice ? e->fixed_voice : ls_espeak_voice_for(text), err) < 0)
        return -1;
    synth_call call = { out, user, 0 };
    espeak_ERROR r = espeak_Synth(text, strlen(text) + 1, 0, POS_CHARACTER, 0, espeakCHARS_UTF8, NULL, &call);
    if (r != EE_OK && !call.stopped)
        return ls_error_set(err, "espeak-ng: synthesis failed (error %d)", (int)r);
    return 0;
}

static void engine_free(ls_tts_engine *base)
{
    espeak_engine *e = (espeak_engine *)base;
    free(e->fixed_voice);
    free(e);
}

static int espeak_rate;

static void initialise_once(void)
{
    espeak_rate = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, CALLBACK_MS, NULL, 0);
    if (espeak_rate > 0)
        espeak_SetSynthCallback(on_audio);
}

int ls_espeak_new(const char *voice, ls_tts_engine **out, ls_error *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, initialise_once);
    if (espeak_rate <= 0)
        return ls_error_set(err, "espeak-ng: cannot initialise (is espeak-ng-data installed?)");
    espeak_engine *e = calloc(1, sizeof *e);
    if (!e || (voice && !(e->fixed_voice = strdup(voice)))) {
        free(e);
        return ls_error_set(err, "out of memory");
    }
    e->base.rate = espeak_rate;
    e->base.synthesize = synthesize;
    e->base.free = engine_free;
    e->base.ref_kind = LS_TTS_REF_NONE;
    /* check the voices now rather than at the first sentence */
    const char *check[] = { voice, voice ? NULL : "en-us", voice ? NULL : "cmn" };
    for (int i = 0; i < 3; i++) {
        if (check[i] && set_voice(e, check[i], err) < 0) {
            engine_free(&e->base);
            return -1;
        }
    }
    *out = &e->base;
    return 0;
}
