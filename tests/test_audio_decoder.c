/*
 * test_audio_decoder.c - compressed audio to 16 kHz mono (media/audio_decoder.h).
 *
 * The test makes its own files with GStreamer encoders: a 440 Hz tone of
 * 0.75 s at a quarter of full scale as WAV (24-bit stereo, 32 kHz), MP3,
 * Ogg Vorbis, Ogg Opus, M4A/AAC and FLAC, and a chained Ogg stream (two
 * Vorbis files back to back, as streaming speech servers send them). Each is
 * fed to the decoder in pseudo-random pieces of 1 to 4096 bytes and checked:
 * the tone's span (from the first to the last sample above half its
 * amplitude) lasts 0.75 s within 20 ms, its frequency (zero crossings) is
 * 440 Hz within 1%, its rms within 10% of the tone's, and the samples came
 * in several callbacks. Then the errors: random bytes, a text file and a
 * PNG image are "not an audio file", a truncated M4A and a WAV cut inside
 * its header are clear errors naming the input, and a callback's stop ends
 * the decoding. Decode speed is printed per format.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>
#include <gst/gst.h>

#include "check.h"
#include "gst_run.h"
#include "media/audio_decoder.h"

#define TONE_HZ 440.0
#define TONE_S 0.75
#define AMPLITUDE (0.25 * 32767)

typedef struct decoded {
    int16_t *samples;
    int n, cap, calls, stop_after;
} decoded;

static int collect(void *user, const int16_t *s, int n)
{
    decoded *d = user;
    if (d->n + n > d->cap) {
        d->cap = 2 * (d->n + n);
        d->samples = realloc(d->samples, (size_t)d->cap * sizeof *d->samples);
    }
    memcpy(d->samples + d->n, s, (size_t)n * sizeof *s);
    d->n += n;
    d->calls++;
    return d->stop_after && d->calls >= d->stop_after;
}

/* Runs a gst-launch style description whose sink is "filesink location=%s"
 * and returns the file's bytes (g_free them), or NULL. */
static char *encode(const char *dir, const char *desc, gsize *size)
{
    char *path = g_build_filename(dir, "encoded", NULL), *line = g_strdup_printf(desc, path), *bytes = NULL;
    GError *gerr = NULL;
    GstElement *p = gst_parse_launch(line, &gerr);
    if (p && gst_run_to_end(p, 20) == 0)
        g_file_get_contents(path, &bytes, size, NULL);
    CHECK(bytes, "encoding '%s': %s", line, gerr ? gerr->message : "failed");
    g_clear_error(&gerr);
    g_unlink(path);
    g_free(path);
    g_free(line);
    return bytes;
}

/* Decodes `bytes` in pseudo-random pieces; the decoder's return code. */
static int decode(const char *name, const char *bytes, gsize size, decoded *out, ls_error *err)
{
    ls_audio_decoder *d;
    if (ls_audio_decoder_new(name, collect, out, &d, err) < 0)
        return -1;
    unsigned seed = 12345;
    int rc = 0;
    for (gsize at = 0; at < size && rc == 0;) {
        seed = seed * 1103515245u + 12345u;
        gsize piece = 1 + (seed >> 16) % 4096;
        piece = piece < size - at ? piece : size - at;
        rc = ls_audio_decoder_push(d, bytes + at, piece, err);
        at += piece;
    }
    if (rc == 0)
        rc = ls_audio_decoder_finish(d, err);
    CHECK(rc != 0 || ls_audio_decoder_samples(d) == out->n, "%s: sample count", name);
    ls_audio_decoder_free(d);
    return rc;
}

/* The tone's span in seconds, its frequency and rms, measured between the
 * first and last samples above half its amplitude. */
static void measure(const decoded *d, double *span, double *hz, double *rms)
{
    int first = -1, last = -1;
    for (int i = 0; i < d->n; i++) {
        if (abs(d->samples[i]) > AMPLITUDE / 2) {
            if (first < 0)
                first = i;
            last = i;
        }
    }
    *span = *hz = *rms = 0;
    if (first < 0 || last <= first)
        return;
    int crossings = 0;
    double energy = 0;
    for (int i = first; i <= last; i++) {
        crossings += i > first && (d->samples[i - 1] < 0) != (d->samples[i] < 0);
        energy += (double)d->samples[i] * d->samples[i];
    }
    *span = (double)(last - first) / LS_AUDIO_DECODER_RATE;
    *hz = crossings / (2 * *span);
    *rms = sqrt(energy / (last - first + 1));
}

typedef struct format {
    const char *name, *caps, *encoder;
    int repeat;   /* the file back to back this many times */
} format;

static void test_format(const char *dir, const format *f)
{
    char desc[1024];
    /* 10 ms buffers at the rate the caps give */
    int rate = atoi(strstr(f->caps, "rate=") + 5);
    g_snprintf(desc, sizeof desc,
               "audiotestsrc wave=sine freq=%g volume=0.25 samplesperbuffer=%d num-buffers=%d ! %s ! "
               "audioconvert ! audioresample ! %s ! filesink location=%%s",
               TONE_HZ, rate / 100, (int)(TONE_S * 100), f->caps, f->encoder);
    gsize size;
    char *one = encode(dir, desc, &size);
    if (!one)
        return;
    GByteArray *file = g_byte_array_new();
    for (int i = 0; i < f->repeat; i++)
        g_byte_array_append(file, (const guint8 *)one, (guint)size);
    g_free(one);

    decoded d = { 0 };
    ls_error err;
    gint64 t0 = g_get_monotonic_time();
    int rc = decode(f->name, (const char *)file->data, file->len, &d, &err);
    double ms = (g_get_monotonic_time() - t0) / 1000.0, span, hz, rms;
    CHECK(rc == 0, "%s: %s", f->name, err.msg);
    measure(&d, &span, &hz, &rms);
    /* what the source made: whole 10 ms buffers (22050 Hz: 220 samples each) */
    double want_span = f->repeat * (int)(TONE_S * 100) * (rate / 100) / (double)rate;
    double total = (double)d.n / LS_AUDIO_DECODER_RATE;
    printf("%-12s %6u bytes -> %.3f s of audio in %3d callbacks, %5.1f ms (%.0fx real time): tone %.4f s, "
           "%.1f Hz, rms %.0f\n", f->name, file->len, total, d.calls, ms, total / (ms / 1000), span, hz, rms);
    char what[64];
    float got, want;
    /* Span: the tone's edges are found to within half a period (1.1 ms); lossy
     * codecs smear them by a few ms more. 20 ms is the brief's bound. */
    g_snprintf(what, sizeof what, "%s tone duration (s)", f->name);
    got = (float)span, want = (float)want_span;
    check_close(what, &got, &want, 1, 0.020, 0);
    /* Frequency: zero crossings over about 660 periods count to within one. */
    g_snprintf(what, sizeof what, "%s tone frequency (Hz)", f->name);
    got = (float)hz, want = (float)TONE_HZ;
    check_close(what, &got, &want, 1, 0, 0.01);
    /* Level: lossy codecs at their default bitrates keep a pure tone's energy
     * within a few percent. */
    g_snprintf(what, sizeof what, "%s tone rms", f->name);
    got = (float)rms, want = (float)(AMPLITUDE / sqrt(2));
    check_close(what, &got, &want, 1, 0, 0.10);
    /* The whole output: encoder priming and padding add up to ~70 ms (MP3). */
    CHECK(total >= want_span - 0.02 && total <= want_span + 0.1, "%s: %.3f s decoded", f->name, total);
    CHECK(d.calls >= 3, "%s: decoded in %d callbacks (streamed)", f->name, d.calls);
    free(d.samples);
    g_byte_array_unref(file);
}

static void expect_error(const char *name, const char *bytes, gsize size, const char *want)
{
    decoded d = { 0 };
    ls_error err = { 0 };
    int rc = decode(name, bytes, size, &d, &err);
    printf("%-12s -> %s\n", name, rc < 0 ? err.msg : "(no error)");
    CHECK(rc < 0 && strncmp(err.msg, name, strlen(name)) == 0 && strstr(err.msg, want), "%s: rc %d, '%s'", name,
          rc, err.msg);
    free(d.samples);
}

static void test_errors(const char *dir)
{
    char garbage[16384];
    unsigned seed = 7;
    for (size_t i = 0; i < sizeof garbage; i++) {
        seed = seed * 1103515245u + 12345u;
        garbage[i] = (char)(seed >> 16);
    }
    expect_error("noise.bin", garbage, sizeof garbage, "not an audio file");
    GString *text = g_string_new(NULL);
    for (int i = 0; i < 200; i++)
        g_string_append(text, "This is a plain text file, not a song.\n");
    expect_error("notes.txt", text->str, text->len, "not an audio file (it is text/plain)");
    g_string_free(text, TRUE);

    gsize size;
    char *png = encode(dir, "videotestsrc num-buffers=1 ! video/x-raw,width=32,height=32 ! pngenc ! "
                            "filesink location=%s", &size);
    if (png)
        expect_error("picture.png", png, size, "not an audio file (it is image/png)");
    g_free(png);

    char *m4a = encode(dir, "audiotestsrc num-buffers=50 ! audio/x-raw,rate=44100 ! audioconvert ! avenc_aac ! "
                            "mp4mux ! filesink location=%s", &size);
    if (m4a)
        expect_error("cut.m4a", m4a, size / 2, "cannot decode it");
    g_free(m4a);
    char *wav = encode(dir, "audiotestsrc num-buffers=10 ! audio/x-raw,rate=16000 ! wavenc ! filesink location=%s",
                       &size);
    if (wav)
        expect_error("cut.wav", wav, 30, "cut.wav: ");
    g_free(wav);
    expect_error("empty.ogg", "", 0, "not an audio file");
}

static void test_stop(const char *dir)
{
    gsize size;
    char *flac = encode(dir, "audiotestsrc num-buffers=100 ! audio/x-raw,rate=16000 ! flacenc ! "
                             "filesink location=%s", &size);
    if (!flac)
        return;
    decoded d = { .stop_after = 1 };
    ls_error err;
    int rc = decode("stop.flac", flac, size, &d, &err);
    CHECK(rc == 1 && d.calls == 1, "stop after the first piece: rc %d, %d calls", rc, d.calls);
    free(d.samples);
    g_free(flac);
}

int main(void)
{
    gst_init(NULL, NULL);
    char *dir = g_dir_make_tmp("ls_audio_decoder_XXXXXX", NULL);
    static const format formats[] = {
        { "wav", "audio/x-raw,format=S24LE,rate=32000,channels=2", "wavenc", 1 },
        { "mp3", "audio/x-raw,rate=44100,channels=1", "lamemp3enc", 1 },
        { "ogg/vorbis", "audio/x-raw,rate=48000,channels=2", "vorbisenc ! oggmux", 1 },
        { "ogg/opus", "audio/x-raw,rate=48000,channels=1", "opusenc ! oggmux", 1 },
        { "m4a/aac", "audio/x-raw,rate=44100,channels=2", "avenc_aac ! mp4mux", 1 },
        { "flac", "audio/x-raw,rate=22050,channels=1", "flacenc", 1 },
        { "ogg chained", "audio/x-raw,rate=32000,channels=1", "vorbisenc ! oggmux", 2 },
    };
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        test_format(dir, &formats[i]);
    test_errors(dir);
    test_stop(dir);
    g_rmdir(dir);
    g_free(dir);
    return check_result("test_audio_decoder");
}
