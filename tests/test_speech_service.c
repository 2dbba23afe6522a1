/*
 * test_speech_service.c - espeak-ng synthesis through the speech service.
 *
 * The engine alone: English and Mandarin voices by script, audio delivered
 * in many small callbacks (streaming, not one buffer at the end), and a
 * callback's "stop" ending the synthesis early, a voice override ignored.
 * Then the service: text queued in a session's speech queue comes out as
 * 20 ms frames of 16 kHz audio with its events, two queues are served in turn, and an interrupt
 * during synthesis leaves the queue empty for good. A TTS that never ends
 * its audio is cut at the chunk limit.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "sleep.h"
#include "speech/espeak_tts.h"
#include "speech/speech_service.h"

typedef struct collected {
    int calls;
    long samples;
    double energy;
    int stop_after;   /* calls; 0: never stop */
} collected;

static int collect(void *user, const int16_t *s, int n)
{
    collected *c = user;
    c->calls++;
    c->samples += n;
    for (int i = 0; i < n; i++)
        c->energy += (double)s[i] * s[i];
    return c->stop_after && c->calls >= c->stop_after;
}

static void test_engine(ls_tts_engine *e)
{
    CHECK(strcmp(ls_espeak_voice_for("Hello"), "en-us") == 0, "English voice");
    CHECK(strcmp(ls_espeak_voice_for("Hi 你好"), "cmn") == 0, "Mandarin voice for CJK text");
    const char *texts[] = { "Hello! I am a talking avatar.", "你好，我是一个会说话的头像。" };
    for (int i = 0; i < 2; i++) {
        collected c = { 0 };
        ls_error err;
        CHECK(e->synthesize(e, texts[i], NULL, collect, &c, &err) == 0, "synthesize: %s", err.msg);
        double seconds = (double)c.samples / e->rate, rms = c.samples ? sqrt(c.energy / c.samples) : 0;
        printf("%-34s %.2f s at %d Hz in %d callbacks, rms %.0f\n", texts[i], seconds, e->rate, c.calls, rms);
        CHECK(seconds > 0.8 && seconds < 10 && rms > 300, "audio: %.2f s, rms %.0f", seconds, rms);
        CHECK(c.calls >= 10, "streamed in %d callbacks (>= 10 expected for >= 0.8 s at 50 ms each)", c.calls);
    }
    /* espeak-ng clones no voice: it says so, and speaks as usual with an override */
    char ref_file[] = "other.wav", ref_text[] = "other words";
    ls_tts_voice other = { ref_file, ref_text, NULL, 1 };
    collected overridden = { 0 };
    ls_error err;
    CHECK(e->ref_kind == LS_TTS_REF_NONE && e->synthesize(e, texts[0], &other, collect, &overridden, &err) == 0 &&
              overridden.samples > 0.8 * e->rate,
          "voice override: %ld samples", overridden.samples);
    collected stopped = { .stop_after = 3 };
    e->synthesize(e, "This sentence is long enough to be stopped after its third piece of audio.", NULL, collect,
                  &stopped, &err);
    CHECK(stopped.calls == 3, "stopping after 3 callbacks: %d calls", stopped.calls);
}

typedef struct events {
    int starts, ends;
} events;

static void count_event(void *user, ls_speech_event_kind kind, const char *text)
{
    events *ev = user;
    if (kind == LS_SPEECH_START)
        ev->starts++;
    else
        ev->ends++;
}

/* Pops (and reports) frames like the producer, until `ev` has counted
 * `ends` end events, `max_frames` speech frames came, or `wait_ms` of
 * waiting for frames; returns the speech frames seen. */
static int play(ls_speech_queue *q, const events *ev, int ends, int max_frames, int wait_ms, double *energy)
{
    int speech = 0;
    for (int waited = 0; ev->ends < ends && speech < max_frames && waited < wait_ms;) {
        int16_t frame[LS_SPEECH_FRAME];
        ls_speech_marks marks = { 0 };
        if (ls_speech_queue_pop(q, frame, &marks)) {
            speech++;
            for (int i = 0; energy && i < LS_SPEECH_FRAME; i++)
                *energy += (double)frame[i] * frame[i];
        } else {
            sleep_ms(5);
            waited += 5;
        }
        ls_speech_queue_sent(q, &marks);
    }
    return speech;
}

static void test_service(ls_tts_engine *e)
{
    ls_speech_service *svc;
    ls_error err;
    CHECK(ls_speech_service_start(e, &svc, &err) == 0, "service: %s", err.msg);
    events ev_a = { 0 }, ev_b = { 0 };
    ls_speech_queue *a = ls_speech_queue_new(count_event, &ev_a), *b = ls_speech_queue_new(count_event, &ev_b);
    ls_speech_service_attach(svc, a);
    ls_speech_service_attach(svc, b);

    ls_speech_queue_add_text(a, "Good morning.", &err);
    ls_speech_queue_add_text(b, "Good evening.", &err);
    double energy = 0;
    int frames_a = play(a, &ev_a, 1, 1000, 10000, &energy), frames_b = play(b, &ev_b, 1, 1000, 10000, NULL);
    printf("queue a: %d frames (%.2f s), events %d/%d; queue b: %d frames, events %d/%d\n", frames_a,
           frames_a * 0.02, ev_a.starts, ev_a.ends, frames_b, ev_b.starts, ev_b.ends);
    CHECK(frames_a >= 30 && frames_b >= 30, "both sessions served: %d and %d frames", frames_a, frames_b);
    CHECK(ev_a.starts == 1 && ev_a.ends == 1, "one start and one end: %d/%d", ev_a.starts, ev_a.ends);
    CHECK(frames_a && sqrt(energy / ((double)frames_a * LS_SPEECH_FRAME)) > 300, "speech is audible");

    /* interrupt while a long text is being synthesised */
    ls_speech_queue_add_text(b, "This is a much longer sentence, so that the interrupt arrives while espeak is "
                                "still busy making its audio, one small piece at a time.", &err);
    ls_speech_queue_add_text(b, "And this one never plays.", &err);
    play(b, &ev_b, 2, 1, 10000, NULL);   /* its first frame plays: synthesis is under way */
    ls_speech_queue_interrupt(b);
    sleep_ms(300);
    int after = play(b, &ev_b, 100, 1, 500, NULL);
    CHECK(!after && !ls_speech_queue_speaking(b), "nothing plays after the interrupt");
    CHECK(ev_b.starts == ev_b.ends, "every start has its end: %d/%d", ev_b.starts, ev_b.ends);

    ls_speech_service_detach(svc, a);
    ls_speech_queue_unref(a);
    ls_speech_service_stop(svc);   /* b is still attached: stop releases it */
    ls_speech_queue_unref(b);
}

/* A TTS that never ends its answer: 100 ms pieces until told to stop (or,
 * should the service never say so, for twice the chunk limit). */
typedef struct endless_engine {
    ls_tts_engine base;
    long delivered;   /* samples */
    int stopped, done;
} endless_engine;

static int endless_synthesize(ls_tts_engine *e, const char *text, const ls_tts_voice *voice,
                              ls_tts_output_fn out, void *user, ls_error *err)
{
    endless_engine *x = (endless_engine *)e;
    static const int16_t piece[1600] = { 1000 };
    while (x->delivered < 2L * LS_SPEECH_MAX_CHUNK_S * LS_SPEECH_RATE && !x->stopped) {
        x->delivered += 1600;
        x->stopped = out(user, piece, 1600) != 0;
    }
    __atomic_store_n(&x->done, 1, __ATOMIC_RELEASE);
    return 0;
}

/* The service cuts a chunk's synthesis at LS_SPEECH_MAX_CHUNK_S: the engine
 * is told to stop there and no more audio than that is queued. */
static void test_endless_tts(void)
{
    endless_engine e = { .base = { .rate = LS_SPEECH_RATE, .synthesize = endless_synthesize } };
    ls_speech_service *svc;
    ls_error err;
    CHECK(ls_speech_service_start(&e.base, &svc, &err) == 0, "service: %s", err.msg);
    ls_speech_queue *q = ls_speech_queue_new(NULL, NULL);
    ls_speech_service_attach(svc, q);
    ls_speech_queue_add_text(q, "Say this for ever.", &err);
    for (int i = 0; i < 3000 && !__atomic_load_n(&e.done, __ATOMIC_ACQUIRE); i++)
        sleep_ms(10);
    int queued_ms = ls_speech_queue_buffered_ms(q);
    printf("endless TTS: %.1f s delivered, stopped %d, %.1f s queued\n", e.delivered / (double)LS_SPEECH_RATE,
           e.stopped, queued_ms / 1000.0);
    CHECK(e.done && e.stopped, "the service stopped the endless synthesis");
    CHECK(queued_ms <= LS_SPEECH_MAX_CHUNK_S * 1000 && queued_ms > LS_SPEECH_MAX_CHUNK_S * 1000 - 200,
          "%d ms queued, at most the chunk limit of %d s", queued_ms, LS_SPEECH_MAX_CHUNK_S);
    ls_speech_service_detach(svc, q);
    ls_speech_queue_unref(q);
    ls_speech_service_stop(svc);
}

int main(void)
{
    ls_tts_engine *e;
    ls_error err;
    if (ls_espeak_new(NULL, &e, &err) < 0) {
        printf("espeak-ng: %s\n", err.msg);
        return 1;
    }
    ls_tts_engine *bad;
    CHECK(ls_espeak_new("no-such-voice", &bad, &err) < 0 && strstr(err.msg, "no voice 'no-such-voice'"),
          "unknown voice: %s", err.msg);
    CHECK(ls_espeak_new(NULL, &bad, &err) == 0, "espeak-ng can be initialised again: %s", err.msg);
    e->free(e);
    e = bad;
    test_engine(e);
    test_service(e);
    e->free(e);
    test_endless_tts();
    return check_result("test_speech_service");
}
