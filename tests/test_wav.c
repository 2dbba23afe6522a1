/*
 * test_wav.c - the WAV reader and writer, and loading any WAV as 16 kHz.
 *
 * Files are assembled in memory chunk by chunk, so each sample format and
 * each kind of damage (truncation, bad header values, missing chunks,
 * compressed formats) is exercised precisely; every error message is checked
 * for the words that tell the user what is wrong. Every prefix of a valid
 * file and a batch of corrupted headers must fail cleanly (ASan-checked).
 *
 * usage: test_wav SCRATCH_DIR
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audio_load.h"
#include "check.h"
#include "io/wav.h"

typedef struct bytes {
    uint8_t data[8192];
    size_t len;
} bytes;

static void put(bytes *b, const void *p, size_t n)
{
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void put_u16(bytes *b, unsigned v)
{
    uint8_t p[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
    put(b, p, 2);
}

static void put_u32(bytes *b, uint32_t v)
{
    uint8_t p[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
    put(b, p, 4);
}

static void put_chunk(bytes *b, const char *id, const void *body, uint32_t size)
{
    put(b, id, 4);
    put_u32(b, size);
    put(b, body, size);
    if (size & 1)
        put(b, "", 1);
}

/* A 16-byte fmt body. */
static bytes fmt_body(unsigned tag, unsigned channels, uint32_t rate, unsigned bits)
{
    bytes f = { .len = 0 };
    put_u16(&f, tag);
    put_u16(&f, channels);
    put_u32(&f, rate);
    put_u32(&f, rate * channels * (bits / 8));
    put_u16(&f, channels * (bits / 8));
    put_u16(&f, bits);
    return f;
}

/* A 40-byte WAVE_FORMAT_EXTENSIBLE fmt body with the given sub-format tag. */
static bytes extensible_body(unsigned subtag, unsigned channels, uint32_t rate, unsigned bits)
{
    static const uint8_t guid_tail[14] = { 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80,
                                           0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71 };
    bytes f = fmt_body(0xFFFE, channels, rate, bits);
    put_u16(&f, 22);
    put_u16(&f, bits);
    put_u32(&f, 3);
    put_u16(&f, subtag);
    put(&f, guid_tail, sizeof guid_tail);
    return f;
}

/* RIFF header + fmt + data (+ optional extra chunk before data). */
static bytes make_wav(const bytes *fmt, const void *samples, uint32_t size, const char *extra_id,
                      uint32_t extra_size)
{
    bytes b = { .len = 0 };
    put(&b, "RIFF\0\0\0\0WAVE", 12);
    put_chunk(&b, "fmt ", fmt->data, (uint32_t)fmt->len);
    if (extra_id) {
        uint8_t junk[64] = { 0 };
        put_chunk(&b, extra_id, junk, extra_size);
    }
    put_chunk(&b, "data", samples, size);
    uint32_t riff = (uint32_t)b.len - 8;
    memcpy(b.data + 4, (uint8_t[]){ (uint8_t)riff, (uint8_t)(riff >> 8), (uint8_t)(riff >> 16),
                                    (uint8_t)(riff >> 24) }, 4);
    return b;
}

static void expect_samples(const char *what, const bytes *file, int rate, const float *want,
                           int64_t n)
{
    ls_audio a;
    ls_error err = { 0 };
    int rc = ls_wav_parse(file->data, file->len, what, &a, &err);
    CHECK(rc == 0, "%s: %s", what, err.msg);
    if (rc != 0)
        return;
    CHECK(a.n == n && a.rate == rate, "%s: %lld samples at %d Hz", what, (long long)a.n, a.rate);
    if (a.n == n)   /* exact: every value is a sum of a few powers of two */
        check_close(what, a.samples, want, n, 0, 0);
    ls_audio_free(&a);
}

static void expect_error(const char *what, const bytes *file, const char *words)
{
    ls_audio a;
    ls_error err = { 0 };
    int rc = ls_wav_parse(file->data, file->len, what, &a, &err);
    CHECK(rc == -1 && strstr(err.msg, words) && strstr(err.msg, what) && !a.samples,
          "%s: got rc %d, message '%s', wanted '%s'", what, rc, err.msg, words);
    ls_audio_free(&a);
}

static void test_formats(void)
{
    int16_t s16[4] = { 0, 16384, -32768, 32767 };
    bytes f = fmt_body(1, 1, 16000, 16);
    bytes w = make_wav(&f, s16, sizeof s16, NULL, 0);
    expect_samples("pcm16", &w, 16000, (float[]){ 0, 0.5f, -1, 32767.0f / 32768 }, 4);

    uint8_t u8[4] = { 128, 255, 0, 128 };   /* stereo frames (0, 127/128), (-1, 0) */
    f = fmt_body(1, 2, 8000, 8);
    w = make_wav(&f, u8, sizeof u8, NULL, 0);
    expect_samples("pcm8 stereo", &w, 8000, (float[]){ 127.0f / 256, -0.5f }, 2);

    uint8_t s24[6] = { 0, 0, 0x40, 0, 0, 0x80 };   /* 0.5, -1 */
    f = fmt_body(1, 1, 22050, 24);
    w = make_wav(&f, s24, sizeof s24, NULL, 0);
    expect_samples("pcm24", &w, 22050, (float[]){ 0.5f, -1 }, 2);

    int32_t s32[2] = { 0x40000000, INT32_MIN };
    f = fmt_body(1, 1, 48000, 32);
    w = make_wav(&f, s32, sizeof s32, NULL, 0);
    expect_samples("pcm32", &w, 48000, (float[]){ 0.5f, -1 }, 2);

    float f32[4] = { 0.25f, 0.75f, -1, 0 };
    f = fmt_body(3, 2, 44100, 32);
    w = make_wav(&f, f32, sizeof f32, NULL, 0);
    expect_samples("float32 stereo", &w, 44100, (float[]){ 0.5f, -0.5f }, 2);

    double f64[3] = { 0.125, -0.25, 1 };
    f = fmt_body(3, 1, 16000, 64);
    w = make_wav(&f, f64, sizeof f64, NULL, 0);
    expect_samples("float64", &w, 16000, (float[]){ 0.125f, -0.25f, 1 }, 3);

    uint8_t ext24[6] = { 0, 0, 0x40, 0, 0, 0xC0 };   /* stereo (0.5, -0.5) */
    f = extensible_body(1, 2, 96000, 24);
    w = make_wav(&f, ext24, sizeof ext24, NULL, 0);
    expect_samples("extensible pcm24 stereo", &w, 96000, (float[]){ 0 }, 1);

    float ext_f[3] = { 0.5f, 0.25f, 0.125f };   /* 3 channels */
    f = extensible_body(3, 3, 16000, 32);
    w = make_wav(&f, ext_f, sizeof ext_f, NULL, 0);
    expect_samples("extensible float 3ch", &w, 16000, (float[]){ 0.875f / 3 }, 1);

    f = fmt_body(1, 1, 16000, 16);
    w = make_wav(&f, s16, sizeof s16, "LIST", 7);   /* odd chunk: padded */
    expect_samples("odd chunk before data", &w, 16000, (float[]){ 0, 0.5f, -1, 32767.0f / 32768 },
                   4);

    w = make_wav(&f, s16, sizeof s16, NULL, 0);
    memset(w.data + 4, 0xFF, 4);               /* RIFF size unknown */
    memset(w.data + 12 + 8 + 16 + 4, 0xFF, 4); /* data size unknown */
    expect_samples("streamed sizes", &w, 16000, (float[]){ 0, 0.5f, -1, 32767.0f / 32768 }, 4);

    w = make_wav(&f, s16, 0, NULL, 0);
    ls_audio a;
    ls_error err;
    CHECK(ls_wav_parse(w.data, w.len, "empty", &a, &err) == 0 && a.n == 0, "empty data chunk");
    ls_audio_free(&a);
}

static void test_errors(void)
{
    int16_t s16[4] = { 1, 2, 3, 4 };
    bytes f = fmt_body(1, 1, 16000, 16);
    bytes good = make_wav(&f, s16, sizeof s16, NULL, 0);

    bytes b = { .len = 0 };
    put(&b, "hello, world", 12);
    expect_error("text.wav", &b, "not a RIFF/WAVE file");
    b.len = 0;
    expect_error("empty.wav", &b, "not a RIFF/WAVE file");
    b = good;
    memcpy(b.data, "RIFX", 4);
    expect_error("rifx.wav", &b, "big-endian");

    b = good;
    b.len -= 3;
    expect_error("cut.wav", &b, "truncated");
    b = good;
    memset(b.data + 4, 0xFF, 4);               /* RIFF size says "to the end" */
    b.data[12 + 8 + 16 + 4] = 200;             /* data size past the end */
    expect_error("bad-data-size.wav", &b, "runs past the end");

    f = fmt_body(85, 1, 16000, 16);
    b = make_wav(&f, s16, sizeof s16, NULL, 0);
    expect_error("mp3.wav", &b, "unsupported format tag 85 (mp3)");
    f = fmt_body(1, 0, 16000, 16);
    b = make_wav(&f, s16, sizeof s16, NULL, 0);
    expect_error("nochannels.wav", &b, "zero channels");
    f = fmt_body(1, 1, 0, 16);
    b = make_wav(&f, s16, sizeof s16, NULL, 0);
    expect_error("norate.wav", &b, "sample rate 0 out of range");
    f = fmt_body(1, 1, 16000, 12);
    b = make_wav(&f, s16, sizeof s16, NULL, 0);
    expect_error("12bit.wav", &b, "unsupported 12-bit PCM samples");
    f = fmt_body(3, 1, 16000, 16);
    b = make_wav(&f, s16, sizeof s16, NULL, 0);
    expect_error("float16.wav", &b, "unsupported 16-bit float samples");
    f = fmt_body(1, 2, 16000, 16);
    f.data[12] = 3;                            /* block align 3 for 2 x 16 bits */
    b = make_wav(&f, s16, sizeof s16, NULL, 0);
    expect_error("align.wav", &b, "block align 3 does not match 2 channels of 16 bits");
    f = fmt_body(1, 1, 16000, 16);
    f.len = 14;
    b = make_wav(&f, s16, sizeof s16, NULL, 0);
    expect_error("shortfmt.wav", &b, "'fmt ' chunk too short");
    f = extensible_body(1, 1, 16000, 16);
    f.data[30] ^= 1;                           /* not the KSDATAFORMAT GUID */
    b = make_wav(&f, s16, sizeof s16, NULL, 0);
    expect_error("guid.wav", &b, "unknown WAVE_FORMAT_EXTENSIBLE sub-format");
    f = fmt_body(1, 2, 16000, 16);
    b = make_wav(&f, s16, 6, NULL, 0);         /* 1.5 frames */
    expect_error("partial.wav", &b, "not a whole number");

    b = (bytes){ .len = 0 };
    put(&b, "RIFF\x04\0\0\0WAVE", 12);
    expect_error("nofmt.wav", &b, "no 'fmt ' chunk");
    b = (bytes){ .len = 0 };
    f = fmt_body(1, 1, 16000, 16);
    put(&b, "RIFF\x1c\0\0\0WAVE", 12);
    put_chunk(&b, "fmt ", f.data, 16);
    expect_error("nodata.wav", &b, "no 'data' chunk");

    /* every proper prefix of a valid file fails without touching memory it should not */
    for (size_t len = 0; len < good.len; len++) {
        ls_audio a;
        ls_error err;
        CHECK(ls_wav_parse(good.data, len, "prefix", &a, &err) == -1, "prefix of %zu bytes", len);
    }
    /* corrupted header bytes: any result is fine as long as it is clean */
    uint32_t seed = 12345;
    for (int trial = 0; trial < 2000; trial++) {
        bytes c = good;
        for (int k = 0; k < 3; k++) {
            seed = seed * 1664525u + 1013904223u;
            c.data[(seed >> 8) % 44] = (uint8_t)(seed >> 24);
        }
        ls_audio a;
        ls_error err;
        if (ls_wav_parse(c.data, c.len, "corrupt", &a, &err) == 0)
            ls_audio_free(&a);
    }
}

static void test_files(const char *dir)
{
    char path[4096];
    ls_error err = { 0 };
    ls_audio a;
    snprintf(path, sizeof path, "%s/no-such-file.wav", dir);
    CHECK(ls_wav_read(path, &a, &err) == -1 && strstr(err.msg, "cannot open"), "%s", err.msg);

    float in[6] = { 0, 0.5f, -1, 2.0f, -3.0f, NAN };
    float want[6] = { 0, 0.5f, -1, 32767.0f / 32768, -1, 0 };   /* clipped, NaN -> 0 */
    snprintf(path, sizeof path, "%s/test_wav_roundtrip.wav", dir);
    CHECK(ls_wav_write16(path, in, 6, 16000, &err) == 0, "%s", err.msg);
    CHECK(ls_wav_read(path, &a, &err) == 0, "%s", err.msg);
    if (a.samples && a.n == 6)
        check_close("write16 -> read", a.samples, want, 6, 0, 0);
    ls_audio_free(&a);

    /* 1 s at 44.1 kHz through audio_load: resampled to ceil(44100 * 16000 / 44100) samples */
    int64_t n = 44100;
    float *tone = malloc((size_t)n * sizeof *tone);
    for (int64_t i = 0; i < n; i++)
        tone[i] = 0.25f * (float)sin(2 * M_PI * 440 * i / 44100.0);
    snprintf(path, sizeof path, "%s/test_wav_44k.wav", dir);
    CHECK(ls_wav_write16(path, tone, n, 44100, &err) == 0, "%s", err.msg);
    free(tone);
    CHECK(ls_audio_load_16k(path, &a, &err) == 0, "%s", err.msg);
    CHECK(a.rate == 16000 && a.n == 16000, "load_16k: %lld samples at %d Hz", (long long)a.n,
          a.rate);
    double peak = 0;
    for (int64_t i = 1000; i < a.n - 1000; i++)
        peak = fmax(peak, fabs(a.samples[i]));
    CHECK(fabs(peak - 0.25) < 1e-3, "load_16k: 440 Hz peak %g, want 0.25", peak);
    ls_audio_free(&a);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_wav SCRATCH_DIR\n");
        return 2;
    }
    test_formats();
    test_errors();
    test_files(argv[1]);
    return check_result("test_wav");
}
