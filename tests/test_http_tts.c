/*
 * test_http_tts.c - the HTTP speech engines against a local test server
 * (tests/speech/tts_server.py, a Python http.server speaking their
 * protocols, streaming a known 24 kHz tone in pieces that cut samples):
 * the samples arrive exactly as served and in several callbacks (streamed),
 * a stereo WAV stream is decoded and mixed down, an HTTP error is reported
 * with its status and body, a callback's stop ends the request, and through
 * the speech service the audio arrives as 16 kHz 20 ms frames with its events.
 * Usage: test_http_tts PYTHON tts_server.py
 */
#include <math.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "test_server.h"
#include "speech/http_tts.h"
#include "speech/openai_tts.h"
#include "speech/speech_service.h"

#define TONE_N 14400   /* 0.6 s at 24 kHz: the server's tone */

typedef struct collected {
    float samples[2 * TONE_N];
    int n, calls, stop_after;
} collected;

static int collect(void *user, const int16_t *s, int n)
{
    collected *c = user;
    for (int i = 0; i < n && c->n < 2 * TONE_N; i++)
        c->samples[c->n++] = s[i];
    c->calls++;
    return c->stop_after && c->calls >= c->stop_after;
}

static void expect_tone(const char *what, const collected *c)
{
    static float tone[TONE_N];
    for (int i = 0; i < TONE_N; i++)
        tone[i] = roundf(8000.0f * (float)sin(2 * M_PI * 300 * i / 24000.0));
    printf("%s: %d samples in %d callbacks\n", what, c->n, c->calls);
    CHECK(c->n == TONE_N && c->calls >= 5, "%s: %d samples in %d callbacks", what, c->n, c->calls);
    /* 16-bit samples travel losslessly; the reference is rounded like the server's
     * (float vs double sin may differ by one step at a rounding edge). */
    CHECK(check_close(what, c->samples, tone, c->n < TONE_N ? c->n : TONE_N, 1.0, 0), "%s: samples differ", what);
}

static ls_tts_engine *engine_for(int port, const char *scenario)
{
    char server[128];
    snprintf(server, sizeof server, "http://127.0.0.1:%d/%s", port, scenario);
    ls_openai_tts_config cfg = { server, NULL, NULL, NULL, 5 };
    ls_tts_engine *e;
    ls_error err;
    CHECK(ls_openai_tts_new(&cfg, &e, &err) == 0, "openai engine: %s", err.msg);
    return e;
}

static void test_openai(int port)
{
    ls_tts_engine *e = engine_for(port, "pcm");
    static collected c;
    ls_error err;
    memset(&c, 0, sizeof c);
    CHECK(e->synthesize(e, "Hello there.", collect, &c, &err) == 0, "synthesize: %s", err.msg);
    expect_tone("openai pcm", &c);

    memset(&c, 0, sizeof c);
    c.stop_after = 2;
    CHECK(e->synthesize(e, "Stop early.", collect, &c, &err) == 0 && c.calls == 2, "stopped: %d calls", c.calls);
    e->free(e);

    e = engine_for(port, "error");
    memset(&c, 0, sizeof c);
    CHECK(e->synthesize(e, "Hello.", collect, &c, &err) < 0 && strstr(err.msg, "HTTP 503") && strstr(err.msg, "busy"),
          "HTTP error: %s", err.msg);
    printf("error: %s\n", err.msg);
    e->free(e);

    ls_openai_tts_config bad = { "ftp://x", NULL, NULL, NULL, 5 };
    CHECK(ls_openai_tts_new(&bad, &e, &err) < 0 && strstr(err.msg, "TTS_SERVER"), "bad URL: %s", err.msg);
}

static SoupMessage *speech_request(const char *url)
{
    static const char body[] = "{\"model\": \"m\", \"input\": \"x\", \"voice\": \"v\", \"response_format\": \"pcm\"}";
    SoupMessage *msg = soup_message_new("POST", url);
    GBytes *bytes = g_bytes_new_static(body, sizeof body - 1);
    soup_message_set_request_body_from_bytes(msg, "application/json", bytes);
    g_bytes_unref(bytes);
    return msg;
}

static void test_wav(int port)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/wav/v1/audio/speech", port);
    SoupMessage *msg = speech_request(url);
    ls_http_tts h = { NULL, 5 };
    static collected c;
    ls_error err;
    CHECK(ls_http_tts_run(&h, msg, LS_PCM_WAV, 24000, "wav test", collect, &c, &err) == 0, "wav: %s", err.msg);
    expect_tone("stereo wav stream", &c);

    msg = speech_request(url);
    CHECK(ls_http_tts_run(&h, msg, LS_PCM_WAV, 16000, "wav test", collect, &c, &err) < 0 && strstr(err.msg, "24000 Hz"),
          "wrong rate: %s", err.msg);
    ls_http_tts_clear(&h);
}

typedef struct events {
    int starts, ends;
} events;

static void count_event(void *user, ls_speech_event_kind kind, const char *text)
{
    events *ev = user;
    (void)text;
    if (kind == LS_SPEECH_START)
        ev->starts++;
    else
        ev->ends++;
}

/* Text through the service: 0.6 s of tone as about 30 frames of 16 kHz audio. */
static void test_service(int port)
{
    ls_tts_engine *e = engine_for(port, "pcm");
    ls_speech_service *svc;
    ls_error err;
    CHECK(ls_speech_service_start(e, &svc, &err) == 0, "service: %s", err.msg);
    events ev = { 0 };
    ls_speech_queue *q = ls_speech_queue_new(count_event, &ev);
    ls_speech_service_attach(svc, q);
    ls_speech_queue_add_text(q, "Hello there.", &err);
    int frames = 0;
    double energy = 0;
    for (int waited = 0; ev.ends < 1 && waited < 5000;) {
        int16_t frame[LS_SPEECH_FRAME];
        ls_speech_marks marks = { 0 };
        if (ls_speech_queue_pop(q, frame, &marks)) {
            frames++;
            for (int i = 0; i < LS_SPEECH_FRAME; i++)
                energy += (double)frame[i] * frame[i];
        } else {
            nanosleep(&(struct timespec){ 0, 5000000 }, NULL);
            waited += 5;
        }
        ls_speech_queue_sent(q, &marks);
    }
    double rms = frames ? sqrt(energy / (frames * (double)LS_SPEECH_FRAME)) : 0;
    printf("service: %d frames of 16 kHz audio, rms %.0f (tone: %.0f), events %d/%d\n", frames, rms,
           8000 / sqrt(2), ev.starts, ev.ends);
    /* 0.6 s is exactly 30 frames; the resampler's filter tail may add one. The rms
     * over whole frames includes the padded tail: within 5% of the tone's. */
    CHECK(frames >= 30 && frames <= 31 && ev.starts == 1 && ev.ends == 1, "%d frames, events %d/%d", frames,
          ev.starts, ev.ends);
    CHECK(fabs(rms - 8000 / sqrt(2)) < 0.05 * 8000 / sqrt(2), "rms %.0f", rms);
    ls_speech_service_detach(svc, q);
    ls_speech_queue_unref(q);
    ls_speech_service_stop(svc);
    e->free(e);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_http_tts PYTHON tts_server.py\n");
        return 2;
    }
    GSubprocess *server;
    int port = test_server_start(argv[1], argv[2], &server);
    CHECK(port > 0, "test server");
    if (port > 0) {
        test_openai(port);
        test_wav(port);
        test_service(port);
    }
    test_server_stop(server);
    return check_result("test_http_tts");
}
