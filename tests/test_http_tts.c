/*
 * test_http_tts.c - the HTTP speech engines against a local test server
 * (tests/speech/tts_server.py, a Python http.server speaking their
 * protocols, checking the request fields it gets and streaming a known
 * 300 Hz tone in pieces that cut samples).
 *
 * OpenAI (raw PCM), CosyVoice (raw PCM, multipart upload of the reference)
 * and XTTS (speaker cloned first, then a WAV stream) hand on exactly the
 * served samples, in several callbacks; GPT-SoVITS (chained Ogg Vorbis) and
 * Fish Speech (a 44.1 kHz WAV stream, the reference sent in base64 or by
 * id) are decoded to 16 kHz, checked by the tone's length, frequency and
 * level. A stereo WAV stream is mixed down; an HTTP error is reported with
 * its status and body; a callback's stop ends the request; engines missing
 * their options fail at creation. Through the speech service the audio
 * arrives as 16 kHz 20 ms frames with its events. Last, cancelling: against
 * a server that sends a piece every 2 s, the time from an interrupt to the
 * engine returning, with the request cancelled at once (the service's
 * GCancellable) and, for comparison, without (stopping at the next bytes).
 *
 * Voice overrides: the checks on a request's reference (local files only
 * inside the reference folder, whatever "..", absolute paths or symbolic
 * links say; readable WAV files; lengths), then each cloning engine with an
 * override: the test server answers each of its two voices at its own level
 * (8000 or 4000), so the audio shows which reference it received, and the
 * configured one when there is no override. XTTS runs against a server that
 * refuses to clone a voice twice, alternating voices; through the speech
 * service an override travels with its queued chunk.
 * Usage: test_http_tts PYTHON tts_server.py
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "check.h"
#include "sleep.h"
#include "test_server.h"
#include "speech/cosyvoice_tts.h"
#include "speech/fish_speech_tts.h"
#include "speech/gpt_sovits_tts.h"
#include "speech/http_tts.h"
#include "speech/openai_tts.h"
#include "speech/speech_service.h"
#include "speech/xtts_tts.h"

#define TONE_S 0.6       /* the server's tone: 0.6 s of 300 Hz at the voice's amplitude */
#define TONE_HZ 300.0
#define DEFAULT_LEVEL 8000   /* the amplitude of the server's "default" voice */
#define OTHER_LEVEL 4000     /* and of its "other" voice */
#define MAX_SAMPLES 48000
#define REFERENCE_WORDS "reference words"
#define OTHER_WORDS "other words"

typedef struct collected {
    float samples[MAX_SAMPLES];
    int n, calls, stop_after;
} collected;

static int collect(void *user, const int16_t *s, int n)
{
    collected *c = user;
    for (int i = 0; i < n && c->n < MAX_SAMPLES; i++)
        c->samples[c->n++] = s[i];
    c->calls++;
    return c->stop_after && c->calls >= c->stop_after;
}

/* The served samples exactly (raw PCM and WAV travel losslessly). */
static void expect_tone(const char *what, const collected *c, int rate, int level)
{
    static float tone[MAX_SAMPLES];
    int n = (int)(TONE_S * rate);
    for (int i = 0; i < n; i++)
        tone[i] = roundf(level * (float)sin(2 * M_PI * TONE_HZ * i / rate));
    printf("%s: %d samples at %d Hz in %d callbacks\n", what, c->n, rate, c->calls);
    CHECK(c->n == n && c->calls >= 5, "%s: %d samples in %d callbacks", what, c->n, c->calls);
    /* the reference is rounded like the server's (float vs double sin may
     * differ by one step at a rounding edge) */
    CHECK(check_close(what, c->samples, tone, c->n < n ? c->n : n, 1.0, 0), "%s: samples differ", what);
}

/* A decoded (16 kHz, resampled, maybe lossy) tone of amplitude `level`
 * sent as `parts` files back to back: its length, from the first to the
 * last sample above half its amplitude, its frequency by zero crossings,
 * and its rms over that span. */
static void expect_decoded_tone(const char *what, const collected *c, int parts, int level)
{
    int first = -1, last = -1, crossings = 0;
    double energy = 0;
    for (int i = 0; i < c->n; i++)
        if (fabsf(c->samples[i]) > level / 2) {
            first = first < 0 ? i : first;
            last = i;
        }
    for (int i = first + 1; first >= 0 && i <= last; i++) {
        crossings += (c->samples[i - 1] < 0) != (c->samples[i] < 0);
        energy += (double)c->samples[i] * c->samples[i];
    }
    float span = first >= 0 ? (float)(last - first) / LS_SPEECH_RATE : 0, want_span = (float)TONE_S;
    float hz = span > 0 ? crossings / (2 * span) : 0, want_hz = (float)TONE_HZ;
    float rms = last > first ? (float)sqrt(energy / (last - first)) : 0, want_rms = (float)(level / sqrt(2));
    printf("%s: %d samples at 16 kHz in %d callbacks: tone %.4f s, %.1f Hz, rms %.0f\n", what, c->n, c->calls, span,
           hz, rms);
    char name[96];
    /* the tone's edges are found within half a period (1.7 ms); 20 ms bounds
     * codec smearing, per file (each file of a chain has its own padding) */
    snprintf(name, sizeof name, "%s: tone length (s)", what);
    check_close(name, &span, &want_span, 1, 0.020 * parts, 0);
    /* zero crossings over 180 periods count to within one */
    snprintf(name, sizeof name, "%s: tone frequency (Hz)", what);
    check_close(name, &hz, &want_hz, 1, 0, 0.01);
    /* a lossy codec keeps a pure tone's level within a few percent (the
     * voices' levels differ by a factor of 2, so this tells them apart) */
    snprintf(name, sizeof name, "%s: tone rms", what);
    check_close(name, &rms, &want_rms, 1, 0, 0.10);
    CHECK(c->calls >= 3, "%s: %d callbacks (streamed)", what, c->calls);
}

static void server_url(char *out, size_t size, int port, const char *scenario)
{
    snprintf(out, size, "http://127.0.0.1:%d/%s", port, scenario);
}

static ls_tts_engine *openai_engine(int port, const char *scenario)
{
    char server[128];
    server_url(server, sizeof server, port, scenario);
    ls_openai_tts_config cfg = { server, NULL, NULL, NULL, 5 };
    ls_tts_engine *e;
    ls_error err;
    CHECK(ls_openai_tts_new(&cfg, &e, &err) == 0, "openai engine: %s", err.msg);
    return e;
}

static void test_openai(int port)
{
    ls_tts_engine *e = openai_engine(port, "pcm");
    static collected c;
    ls_error err;
    memset(&c, 0, sizeof c);
    CHECK(e->synthesize(e, "Hello there.", NULL, collect, &c, &err) == 0, "synthesize: %s", err.msg);
    expect_tone("openai pcm", &c, LS_OPENAI_TTS_RATE, DEFAULT_LEVEL);

    memset(&c, 0, sizeof c);
    c.stop_after = 2;
    CHECK(e->synthesize(e, "Stop early.", NULL, collect, &c, &err) == 0 && c.calls == 2, "stopped: %d calls", c.calls);
    e->free(e);

    e = openai_engine(port, "error");
    memset(&c, 0, sizeof c);
    CHECK(e->synthesize(e, "Hello.", NULL, collect, &c, &err) < 0 && strstr(err.msg, "HTTP 503") &&
              strstr(err.msg, "busy"),
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
    ls_http_tts h = { NULL, 5 };
    static collected c;
    ls_error err;
    CHECK(ls_http_tts_run(&h, speech_request(url), LS_PCM_WAV, 24000, "wav test", NULL, collect, &c, &err) == 0,
          "wav: %s", err.msg);
    expect_tone("stereo wav stream", &c, 24000, DEFAULT_LEVEL);
    CHECK(ls_http_tts_run(&h, speech_request(url), LS_PCM_WAV, 16000, "wav test", NULL, collect, &c, &err) < 0 &&
              strstr(err.msg, "24000 Hz"),
          "wrong rate: %s", err.msg);
    /* the same stream as "encoded": any rate, decoded to 16 kHz */
    memset(&c, 0, sizeof c);
    CHECK(ls_http_tts_run(&h, speech_request(url), LS_PCM_ENCODED, LS_SPEECH_RATE, "wav test", NULL, collect, &c,
                          &err) == 0,
          "encoded wav: %s", err.msg);
    expect_decoded_tone("stereo wav stream, encoded", &c, 1, DEFAULT_LEVEL);
    /* raw PCM is not an encoded format */
    snprintf(url, sizeof url, "http://127.0.0.1:%d/pcm/v1/audio/speech", port);
    CHECK(ls_http_tts_run(&h, speech_request(url), LS_PCM_ENCODED, LS_SPEECH_RATE, "pcm test", NULL, collect, &c,
                          &err) < 0 &&
              strstr(err.msg, "pcm test: http://") && strstr(err.msg, "not an audio file"),
          "raw PCM as encoded: %s", err.msg);
    printf("raw PCM as encoded: %s\n", err.msg);
    ls_http_tts_clear(&h);
}

// --- the voice-cloning engines -------------------------------------------------------------

typedef int (*clone_engine_fn)(const ls_clone_tts_config *, ls_tts_engine **, ls_error *);

/* An engine for the test server's `scenario`; NULL (and a failed check) if it cannot be made. */
static ls_tts_engine *clone_engine(clone_engine_fn make, int port, const char *scenario, const char *ref_file,
                                   const char *ref_text)
{
    char server[128];
    server_url(server, sizeof server, port, scenario);
    ls_clone_tts_config cfg = { server, ref_file, ref_text, "en", 0, 5 };
    ls_tts_engine *e = NULL;
    ls_error err;
    CHECK(make(&cfg, &e, &err) == 0, "engine for %s: %s", scenario, err.msg);
    return e;
}

/* Synthesises one chunk in `voice` (NULL: the configured one) with a fresh
 * engine and frees it; the callback's figures in *c. */
static int speak_once(clone_engine_fn make, int port, const char *ref_file, const char *ref_text,
                      const ls_tts_voice *voice, collected *c, ls_error *err)
{
    ls_tts_engine *e = clone_engine(make, port, "ok", ref_file, ref_text);
    memset(c, 0, sizeof *c);
    int rc = e ? e->synthesize(e, "Hello there.", voice, collect, c, err) : -1;
    if (e)
        e->free(e);
    return rc;
}

static void test_clone_engines(int port, const char *ref_wav)
{
    static collected c;
    ls_error err;
    CHECK(speak_once(ls_gpt_sovits_tts_new, port, "/voices/ref.wav", REFERENCE_WORDS, NULL, &c, &err) == 0,
          "gpt-sovits: %s", err.msg);
    expect_decoded_tone("gpt-sovits (3 chained ogg files)", &c, 3, DEFAULT_LEVEL);
    CHECK(speak_once(ls_cosyvoice_tts_new, port, ref_wav, REFERENCE_WORDS, NULL, &c, &err) == 0, "cosyvoice: %s",
          err.msg);
    expect_tone("cosyvoice (raw 22050 Hz)", &c, LS_COSYVOICE_RATE, DEFAULT_LEVEL);
    CHECK(speak_once(ls_fish_speech_tts_new, port, ref_wav, REFERENCE_WORDS, NULL, &c, &err) == 0, "fishtts: %s",
          err.msg);
    expect_decoded_tone("fishtts, reference file (44.1 kHz wav)", &c, 1, DEFAULT_LEVEL);
    CHECK(speak_once(ls_fish_speech_tts_new, port, "voice-1", NULL, NULL, &c, &err) == 0, "fishtts by id: %s",
          err.msg);
    expect_decoded_tone("fishtts, reference id", &c, 1, DEFAULT_LEVEL);

    /* xtts: one clone, then each chunk streams */
    ls_tts_engine *e = clone_engine(ls_xtts_tts_new, port, "ok", ref_wav, NULL);
    for (int i = 0; e && i < 2; i++) {
        memset(&c, 0, sizeof c);
        CHECK(e->synthesize(e, "Hello there.", NULL, collect, &c, &err) == 0, "xtts: %s", err.msg);
        expect_tone(i ? "xtts, second chunk" : "xtts (wav 24000 Hz)", &c, LS_XTTS_RATE, DEFAULT_LEVEL);
    }
    if (e)
        e->free(e);

    /* the server checks the fields: a wrong one comes back as HTTP 400 naming it */
    char server[128];
    server_url(server, sizeof server, port, "ok");
    ls_clone_tts_config wrong = { server, "/voices/ref.wav", REFERENCE_WORDS, "fr", 0, 5 };
    if (ls_gpt_sovits_tts_new(&wrong, &e, &err) == 0) {
        CHECK(e->synthesize(e, "Bonjour.", NULL, collect, &c, &err) < 0 && strstr(err.msg, "HTTP 400") &&
                  strstr(err.msg, "text_lang"),
              "wrong language: %s", err.msg);
        printf("wrong field: %s\n", err.msg);
        e->free(e);
    }
    /* options each engine needs */
    struct {
        clone_engine_fn make;
        const char *server, *ref_file, *ref_text, *want;
    } bad[] = {
        { ls_gpt_sovits_tts_new, server, NULL, NULL, "--tts gpt-sovits needs --REF_FILE" },
        { ls_gpt_sovits_tts_new, "", "/voices/ref.wav", NULL, "--tts gpt-sovits needs --TTS_SERVER" },
        { ls_cosyvoice_tts_new, server, ref_wav, NULL, "--tts cosyvoice needs --REF_TEXT" },
        { ls_cosyvoice_tts_new, server, "/no/such/ref.wav", REFERENCE_WORDS, "--REF_FILE: /no/such/ref.wav" },
        { ls_fish_speech_tts_new, server, ref_wav, NULL, "needs --REF_TEXT" },
        { ls_fish_speech_tts_new, server, "voices/ref.wav", REFERENCE_WORDS, "--REF_FILE: voices/ref.wav" },
        { ls_xtts_tts_new, server, NULL, NULL, "--tts xtts needs --REF_FILE" },
        { ls_xtts_tts_new, "localhost:9000", ref_wav, NULL, "--tts xtts needs --TTS_SERVER http://host:port" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ls_clone_tts_config cfg = { bad[i].server, bad[i].ref_file, bad[i].ref_text, NULL, 0, 5 };
        CHECK(bad[i].make(&cfg, &e, &err) < 0 && strstr(err.msg, bad[i].want), "want '%s', got '%s'", bad[i].want,
              err.msg);
    }
    printf("missing option: %s\n", err.msg);
}

// --- voice overrides ----------------------------------------------------------------------------

/* A voice override; NULL (and a failed check) if it is refused. */
static ls_tts_voice *voice_for(ls_tts_ref_kind kind, const char *ref_dir, const char *ref_file, const char *ref_text)
{
    ls_tts_voice *v = NULL;
    ls_error err;
    CHECK(ls_tts_voice_new(kind, ref_dir, ref_file, ref_text, &v, &err) == 0 && v, "voice %s: %s", ref_file,
          err.msg);
    return v;
}

/* What a request's reference may name: local files only inside the folder
 * (whatever the path or links say), and readable WAV files; paths on the
 * TTS server and voice ids as given; nothing for engines without one. */
static void test_voice_checks(const char *ref_dir, const char *root)
{
    char *long_name = g_strnfill(LS_TTS_VOICE_MAX_FIELD + 1, 'a');
    char *sibling = g_build_filename(root, "refs-other", "other.wav", NULL);   /* the folder's name is its prefix */
    char *inside = g_build_filename(ref_dir, "other.wav", NULL);
    struct {
        ls_tts_ref_kind kind;
        const char *dir, *ref_file, *ref_text, *want;
    } refused[] = {
        { LS_TTS_REF_LOCAL_FILE, NULL, "other.wav", NULL, "inside --tts_ref_dir (the server has no --tts_ref_dir)" },
        { LS_TTS_REF_LOCAL_FILE, ref_dir, "../outside/other.wav", NULL, "must be inside --tts_ref_dir" },
        { LS_TTS_REF_LOCAL_FILE, ref_dir, "sub/../../outside/other.wav", NULL, "must be inside --tts_ref_dir" },
        { LS_TTS_REF_LOCAL_FILE, ref_dir, "/etc/passwd", NULL, "must be inside --tts_ref_dir" },
        { LS_TTS_REF_LOCAL_FILE, ref_dir, sibling, NULL, "must be inside --tts_ref_dir" },
        { LS_TTS_REF_LOCAL_FILE, ref_dir, "escape.wav", NULL, "must be inside --tts_ref_dir" },
        { LS_TTS_REF_FILE_OR_ID, ref_dir, "escape.wav", "other words", "must be inside --tts_ref_dir" },
        { LS_TTS_REF_LOCAL_FILE, ref_dir, "missing.wav", NULL, "'missing.wav': No such file" },
        { LS_TTS_REF_LOCAL_FILE, ref_dir, "notes.txt", NULL, "'notes.txt' is not a WAV file" },
        { LS_TTS_REF_LOCAL_FILE, ref_dir, "sub", NULL, "'sub' is not a regular file" },
        { LS_TTS_REF_SERVER_PATH, ref_dir, long_name, NULL, "tts.ref_file: over 4096 bytes" },
        { LS_TTS_REF_NONE, ref_dir, NULL, long_name, "tts.ref_text: over 4096 bytes" },
    };
    ls_error err;
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        ls_tts_voice *v = NULL;
        int rc = ls_tts_voice_new(refused[i].kind, refused[i].dir, refused[i].ref_file, refused[i].ref_text, &v,
                                  &err);
        CHECK(rc < 0 && !v && strstr(err.msg, refused[i].want), "%.80s: want '%s', got '%s'", refused[i].ref_file,
              refused[i].want, rc < 0 ? err.msg : "accepted");
        printf("refused %.40s: %s\n", refused[i].ref_file ? refused[i].ref_file : "(words)", err.msg);
    }
    /* accepted: a local file by name or by its absolute path, read now; a
     * server path and a voice id not looked at; nothing to do for espeak */
    const char *local[] = { "other.wav", inside };
    for (int i = 0; i < 2; i++) {
        ls_tts_voice *v = voice_for(LS_TTS_REF_LOCAL_FILE, ref_dir, local[i], OTHER_WORDS);
        CHECK(v && v->ref_audio && g_bytes_get_size(v->ref_audio) == 48 && strcmp(v->ref_text, OTHER_WORDS) == 0,
              "%s: read", local[i]);
        ls_tts_voice_unref(v);
    }
    ls_tts_voice *v = voice_for(LS_TTS_REF_SERVER_PATH, NULL, "/etc/passwd", NULL);
    CHECK(v && !v->ref_audio && strcmp(v->ref_file, "/etc/passwd") == 0, "server path: passed on, not read");
    ls_tts_voice_unref(v);
    v = voice_for(LS_TTS_REF_FILE_OR_ID, NULL, "voice-2", NULL);
    CHECK(v && !v->ref_audio, "fishtts voice id: not a file");
    ls_tts_voice_unref(v);
    CHECK(ls_tts_voice_new(LS_TTS_REF_NONE, NULL, "/etc/passwd", "words", &v, &err) == 0 && !v,
          "espeak/openai: ignored");
    CHECK(ls_tts_voice_new(LS_TTS_REF_LOCAL_FILE, NULL, "", "", &v, &err) == 0 && !v, "empty fields: no override");
    g_free(long_name);
    g_free(sibling);
    g_free(inside);
}

/* Each cloning engine speaks in the override's voice when it has one and
 * in its configured voice otherwise: the test server answers each voice at
 * its own level. */
static void test_voice_overrides(int port, const char *ref_dir, const char *ref_wav)
{
    static collected c;
    ls_error err;
    ls_tts_voice *server_path = voice_for(LS_TTS_REF_SERVER_PATH, ref_dir, "/voices/other.wav", OTHER_WORDS);
    CHECK(speak_once(ls_gpt_sovits_tts_new, port, "/voices/ref.wav", REFERENCE_WORDS, server_path, &c, &err) == 0,
          "gpt-sovits, other voice: %s", err.msg);
    expect_decoded_tone("gpt-sovits, other voice", &c, 3, OTHER_LEVEL);

    ls_tts_voice *file = voice_for(LS_TTS_REF_LOCAL_FILE, ref_dir, "other.wav", OTHER_WORDS);
    CHECK(speak_once(ls_cosyvoice_tts_new, port, ref_wav, REFERENCE_WORDS, file, &c, &err) == 0,
          "cosyvoice, other voice: %s", err.msg);
    expect_tone("cosyvoice, other voice", &c, LS_COSYVOICE_RATE, OTHER_LEVEL);

    ls_tts_voice *fish_file = voice_for(LS_TTS_REF_FILE_OR_ID, ref_dir, "other.wav", OTHER_WORDS);
    ls_tts_voice *fish_id = voice_for(LS_TTS_REF_FILE_OR_ID, ref_dir, "voice-2", NULL);
    CHECK(speak_once(ls_fish_speech_tts_new, port, ref_wav, REFERENCE_WORDS, fish_file, &c, &err) == 0,
          "fishtts, other voice's file: %s", err.msg);
    expect_decoded_tone("fishtts, other voice's file", &c, 1, OTHER_LEVEL);
    CHECK(speak_once(ls_fish_speech_tts_new, port, "voice-1", NULL, fish_id, &c, &err) == 0,
          "fishtts, other voice's id: %s", err.msg);
    expect_decoded_tone("fishtts, other voice's id", &c, 1, OTHER_LEVEL);
    ls_tts_voice *no_words = voice_for(LS_TTS_REF_FILE_OR_ID, ref_dir, "other.wav", NULL);
    CHECK(speak_once(ls_fish_speech_tts_new, port, "voice-1", NULL, no_words, &c, &err) < 0 &&
              strstr(err.msg, "needs its words"),
          "fishtts, a file without words: %s", err.msg);

    /* xtts against a server that refuses to clone a voice twice: the
     * configured and the last override's speakers are kept (a second
     * override object with the same file is the same voice) */
    ls_tts_voice *again = voice_for(LS_TTS_REF_LOCAL_FILE, ref_dir, "other.wav", NULL);
    const ls_tts_voice *sequence[] = { NULL, file, again, NULL, file };
    ls_tts_engine *e = clone_engine(ls_xtts_tts_new, port, "once", ref_wav, NULL);
    for (size_t i = 0; e && i < sizeof sequence / sizeof sequence[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "xtts, chunk %zu (%s voice)", i + 1, sequence[i] ? "other" : "configured");
        memset(&c, 0, sizeof c);
        CHECK(e->synthesize(e, "Hello there.", sequence[i], collect, &c, &err) == 0, "%s: %s", what, err.msg);
        expect_tone(what, &c, LS_XTTS_RATE, sequence[i] ? OTHER_LEVEL : DEFAULT_LEVEL);
    }
    if (e)
        e->free(e);
    ls_tts_voice *all[] = { server_path, file, fish_file, fish_id, no_words, again };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        ls_tts_voice_unref(all[i]);
}

// --- through the speech service --------------------------------------------------------------

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

/* Text through the service in `voice`: 0.6 s of tone at `level` as about
 * 30 frames of 16 kHz audio. */
static void service_speaks(const char *what, ls_tts_engine *e, ls_tts_voice *voice, int level)
{
    ls_speech_service *svc;
    ls_error err;
    CHECK(ls_speech_service_start(e, &svc, &err) == 0, "service: %s", err.msg);
    events ev = { 0 };
    ls_speech_queue *q = ls_speech_queue_new(count_event, &ev);
    ls_speech_service_attach(svc, q);
    ls_speech_queue_add_voiced_text(q, "Hello there.", voice, &err);
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
            sleep_ms(5);
            waited += 5;
        }
        ls_speech_queue_sent(q, &marks);
    }
    double rms = frames ? sqrt(energy / (frames * (double)LS_SPEECH_FRAME)) : 0;
    double want_rms = level / sqrt(2);
    printf("service, %s: %d frames of 16 kHz audio, rms %.0f (tone: %.0f), events %d/%d\n", what, frames, rms,
           want_rms, ev.starts, ev.ends);
    /* 0.6 s is exactly 30 frames; the resampler's filter tail may add one. The rms
     * over whole frames includes the padded tail: within 5% of the tone's. */
    CHECK(frames >= 30 && frames <= 31 && ev.starts == 1 && ev.ends == 1, "%d frames, events %d/%d", frames,
          ev.starts, ev.ends);
    CHECK(fabs(rms - want_rms) < 0.05 * want_rms, "%s: rms %.0f", what, rms);
    ls_speech_service_detach(svc, q);
    ls_speech_queue_unref(q);
    ls_speech_service_stop(svc);
    e->free(e);
}

/* The configured voice (openai), and an override carried by the queued
 * chunk to the engine (cosyvoice, resampled from 22050 Hz). */
static void test_service(int port, const char *ref_dir, const char *ref_wav)
{
    service_speaks("openai", openai_engine(port, "pcm"), NULL, DEFAULT_LEVEL);
    ls_tts_engine *e = clone_engine(ls_cosyvoice_tts_new, port, "ok", ref_wav, REFERENCE_WORDS);
    ls_tts_voice *other = voice_for(LS_TTS_REF_LOCAL_FILE, ref_dir, "other.wav", OTHER_WORDS);
    if (e)
        service_speaks("cosyvoice, other voice", e, other, OTHER_LEVEL);
    ls_tts_voice_unref(other);
}

// --- cancelling at interrupt -----------------------------------------------------------------

/* Wraps an engine to note when synthesis starts and returns; with
 * `forward_cancel` unset the inner engine never sees the cancellable (as
 * before the service cancelled requests). */
typedef struct timed_engine {
    ls_tts_engine base;
    ls_tts_engine *inner;
    int forward_cancel;
    GMutex lock;
    GCond changed;
    int started, returned;
    gint64 returned_at;
} timed_engine;

static int timed_synthesize(ls_tts_engine *e, const char *text, const ls_tts_voice *voice, ls_tts_output_fn out,
                            void *user, ls_error *err)
{
    timed_engine *t = (timed_engine *)e;
    g_mutex_lock(&t->lock);
    t->started = 1;
    g_cond_signal(&t->changed);
    g_mutex_unlock(&t->lock);
    t->inner->cancel = t->forward_cancel ? e->cancel : NULL;
    int rc = t->inner->synthesize(t->inner, text, voice, out, user, err);
    t->inner->cancel = NULL;
    g_mutex_lock(&t->lock);
    t->returned = 1;
    t->returned_at = g_get_monotonic_time();
    g_cond_signal(&t->changed);
    g_mutex_unlock(&t->lock);
    return rc;
}

/* Waits up to 5 s for *flag; 1 if it was set. */
static int wait_for(timed_engine *t, int *flag)
{
    gint64 until = g_get_monotonic_time() + 5 * G_TIME_SPAN_SECOND;
    g_mutex_lock(&t->lock);
    while (!*flag && g_cond_wait_until(&t->changed, &t->lock, until))
        ;
    int set = *flag;
    g_mutex_unlock(&t->lock);
    return set;
}

/* Milliseconds from the interrupt to the engine returning, for a request in
 * flight to the slow server (-1 if it did not return within 5 s). */
static double interrupt_to_return(ls_tts_engine *inner, int forward_cancel)
{
    timed_engine t = { .base = { inner->rate, timed_synthesize, NULL, NULL, inner->ref_kind }, .inner = inner,
                       .forward_cancel = forward_cancel };
    g_mutex_init(&t.lock);
    g_cond_init(&t.changed);
    ls_speech_service *svc;
    ls_error err;
    CHECK(ls_speech_service_start(&t.base, &svc, &err) == 0, "service: %s", err.msg);
    events ev = { 0 };
    ls_speech_queue *q = ls_speech_queue_new(count_event, &ev);
    ls_speech_service_attach(svc, q);
    ls_speech_queue_add_text(q, "A long answer, streamed slowly.", &err);
    double ms = -1;
    if (wait_for(&t, &t.started)) {
        sleep_ms(300);   /* the request is sent and its first piece read */
        gint64 interrupted = g_get_monotonic_time();
        ls_speech_queue_interrupt(q);
        if (wait_for(&t, &t.returned))
            ms = (t.returned_at - interrupted) / 1000.0;
    }
    ls_speech_service_detach(svc, q);
    ls_speech_queue_unref(q);
    ls_speech_service_stop(svc);
    CHECK(ev.starts == ev.ends, "events %d/%d", ev.starts, ev.ends);
    g_cond_clear(&t.changed);
    g_mutex_clear(&t.lock);
    return ms;
}

static void test_cancel(int port)
{
    ls_tts_engine *openai = openai_engine(port, "slow");
    ls_tts_engine *sovits = clone_engine(ls_gpt_sovits_tts_new, port, "slow", "/voices/ref.wav", REFERENCE_WORDS);
    if (!openai || !sovits)
        return;
    double raw = interrupt_to_return(openai, 1), encoded = interrupt_to_return(sovits, 1);
    double uncancelled = interrupt_to_return(openai, 0);
    printf("interrupt to engine return, server sending a piece every 2 s: openai (raw PCM) %.1f ms, "
           "gpt-sovits (Ogg, decoding) %.1f ms; without cancelling the request %.0f ms\n", raw, encoded, uncancelled);
    /* Cancelling ends the wait for bytes at once: well under the server's 2 s
     * between pieces (100 ms leaves room for a loaded machine under ASan).
     * Without it the engine returns only when the next piece arrives. */
    CHECK(raw >= 0 && raw < 100, "openai: %.1f ms from interrupt to return", raw);
    CHECK(encoded >= 0 && encoded < 100, "gpt-sovits: %.1f ms from interrupt to return", encoded);
    CHECK(uncancelled > 1000, "without cancelling: %.0f ms (the next piece's wait)", uncancelled);
    openai->free(openai);
    sovits->free(sovits);
}

/* A small WAV file for the engines that upload the reference voice: its
 * first sample names the test server's voice (1: default, 3: other). */
static char *write_wav(const char *dir, const char *name, int first_sample)
{
    unsigned char wav[] = { 'R', 'I', 'F', 'F', 40, 0, 0, 0, 'W', 'A', 'V', 'E', 'f', 'm', 't', ' ',
                            16, 0, 0, 0, 1, 0, 1, 0, 0x80, 0x3e, 0, 0, 0, 0x7d, 0, 0, 2, 0, 16, 0,
                            'd', 'a', 't', 'a', 4, 0, 0, 0, (unsigned char)first_sample, 0, 2, 0 };
    char *path = g_build_filename(dir, name, NULL);
    CHECK(g_file_set_contents(path, (const char *)wav, sizeof wav, NULL), "writing %s", path);
    return path;
}

/* The reference folder and its surroundings, under `root`:
 *   refs/ref.wav, refs/other.wav (the voices), refs/notes.txt (not WAV),
 *   refs/sub/ (a folder), refs/escape.wav -> ../outside/other.wav,
 *   outside/other.wav, refs-other/other.wav. */
static const char *const tree_files[] = { "refs/ref.wav",    "refs/other.wav",    "refs/notes.txt", "refs/escape.wav",
                                          "outside/other.wav", "refs-other/other.wav" };
static const char *const tree_dirs[] = { "refs/sub", "refs", "outside", "refs-other" };

static void make_tree(const char *root)
{
    for (size_t i = 0; i < sizeof tree_dirs / sizeof tree_dirs[0]; i++) {
        char *dir = g_build_filename(root, tree_dirs[i], NULL);
        CHECK(g_mkdir_with_parents(dir, 0700) == 0, "mkdir %s", dir);
        g_free(dir);
    }
    const struct {
        const char *dir, *name;
        int first_sample;
    } wavs[] = { { "refs", "ref.wav", 1 }, { "refs", "other.wav", 3 }, { "outside", "other.wav", 3 },
                 { "refs-other", "other.wav", 3 } };
    for (size_t i = 0; i < sizeof wavs / sizeof wavs[0]; i++) {
        char *dir = g_build_filename(root, wavs[i].dir, NULL);
        g_free(write_wav(dir, wavs[i].name, wavs[i].first_sample));
        g_free(dir);
    }
    char *notes = g_build_filename(root, "refs", "notes.txt", NULL);
    char *link = g_build_filename(root, "refs", "escape.wav", NULL);
    CHECK(g_file_set_contents(notes, "not a voice\n", -1, NULL), "writing %s", notes);
    CHECK(symlink("../outside/other.wav", link) == 0, "symlink %s", link);
    g_free(notes);
    g_free(link);
}

static void remove_tree(const char *root)
{
    for (size_t i = 0; i < sizeof tree_files / sizeof tree_files[0]; i++) {
        char *path = g_build_filename(root, tree_files[i], NULL);
        g_unlink(path);
        g_free(path);
    }
    for (size_t i = 0; i < sizeof tree_dirs / sizeof tree_dirs[0]; i++) {
        char *path = g_build_filename(root, tree_dirs[i], NULL);
        g_rmdir(path);
        g_free(path);
    }
    g_rmdir(root);
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
    char *made = g_dir_make_tmp("ls_http_tts_XXXXXX", NULL), *root = realpath(made, NULL);
    make_tree(root);
    char *ref_dir = g_build_filename(root, "refs", NULL), *ref_wav = g_build_filename(ref_dir, "ref.wav", NULL);
    test_voice_checks(ref_dir, root);
    if (port > 0) {
        test_openai(port);
        test_wav(port);
        test_clone_engines(port, ref_wav);
        test_voice_overrides(port, ref_dir, ref_wav);
        test_service(port, ref_dir, ref_wav);
        test_cancel(port);
    }
    test_server_stop(server);
    remove_tree(root);
    g_free(ref_wav);
    g_free(ref_dir);
    free(root);
    g_free(made);
    return check_result("test_http_tts");
}
