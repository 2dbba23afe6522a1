/*
 * wav.c - RIFF/WAVE reading and writing (see wav.h).
 *
 * The reader walks the RIFF chunk list once, bounds-checking each chunk
 * against the RIFF size (itself checked against the file size), remembers
 * the 'fmt ' and 'data' chunks, validates the format, and converts the
 * interleaved samples to mono floats frame by frame.
 */
#include "io/wav.h"
#include "util/file.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAV_TAG_PCM 0x0001
#define WAV_TAG_FLOAT 0x0003
#define WAV_TAG_EXTENSIBLE 0xFFFE
#define WAV_SIZE_UNKNOWN 0xFFFFFFFFu   /* "to the end of the file" */
#define WAV_MAX_RATE 10000000u
#define WAV_MAX_FILE_BYTES ((size_t)UINT32_MAX + 8)   /* the format's own 4 GiB limit */

typedef struct wav_format {
    unsigned tag;          /* WAV_TAG_PCM or WAV_TAG_FLOAT after resolving EXTENSIBLE */
    unsigned channels;
    unsigned rate;
    unsigned block_align;  /* bytes per frame */
    unsigned bits;         /* container bits per sample */
} wav_format;

static unsigned read_u16(const uint8_t *p)
{
    return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static uint32_t read_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void write_u16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void write_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void ls_audio_free(ls_audio *a)
{
    if (!a)
        return;
    free(a->samples);
    a->samples = NULL;
    a->n = 0;
}

/* Names of compressed codecs people commonly put in WAV files. */
static const char *format_tag_name(unsigned tag)
{
    switch (tag) {
    case 0x0002: return "MS ADPCM";
    case 0x0006: return "A-law";
    case 0x0007: return "mu-law";
    case 0x0011: return "IMA ADPCM";
    case 0x0031: return "GSM 6.10";
    case 0x0050: return "MPEG";
    case 0x0055: return "mp3";
    case 0x0161: return "WMA";
    case 0x2000: return "AC-3";
    case 0xF1AC: return "FLAC";
    default: return "unknown";
    }
}

/* The tail of the KSDATAFORMAT_SUBTYPE GUIDs for PCM and IEEE float. */
static const uint8_t ksdataformat_guid_tail[14] = { 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80,
                                                    0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71 };

static int parse_fmt(const uint8_t *p, uint32_t size, const char *what, wav_format *f,
                     ls_error *err)
{
    if (size < 16)
        return ls_error_set(err, "%s: 'fmt ' chunk too short (%u bytes)", what, (unsigned)size);
    f->tag = read_u16(p);
    f->channels = read_u16(p + 2);
    f->rate = read_u32(p + 4);
    f->block_align = read_u16(p + 12);
    f->bits = read_u16(p + 14);
    if (f->tag == WAV_TAG_EXTENSIBLE) {
        if (size < 40 || read_u16(p + 16) < 22)
            return ls_error_set(err, "%s: WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk too short", what);
        unsigned valid_bits = read_u16(p + 18);
        if (valid_bits > f->bits)
            return ls_error_set(err, "%s: %u valid bits in a %u-bit container", what, valid_bits,
                                f->bits);
        if (memcmp(p + 26, ksdataformat_guid_tail, sizeof ksdataformat_guid_tail) != 0)
            return ls_error_set(err, "%s: unknown WAVE_FORMAT_EXTENSIBLE sub-format", what);
        f->tag = read_u16(p + 24);
    }
    if (f->tag != WAV_TAG_PCM && f->tag != WAV_TAG_FLOAT)
        return ls_error_set(err, "%s: unsupported format tag %u (%s)", what, f->tag,
                            format_tag_name(f->tag));
    if (f->channels == 0)
        return ls_error_set(err, "%s: zero channels", what);
    if (f->rate == 0 || f->rate > WAV_MAX_RATE)
        return ls_error_set(err, "%s: sample rate %u out of range", what, f->rate);
    int bits_ok = f->tag == WAV_TAG_PCM
                      ? (f->bits == 8 || f->bits == 16 || f->bits == 24 || f->bits == 32)
                      : (f->bits == 32 || f->bits == 64);
    if (!bits_ok)
        return ls_error_set(err, "%s: unsupported %u-bit %s samples", what, f->bits,
                            f->tag == WAV_TAG_PCM ? "PCM" : "float");
    if (f->block_align != f->channels * (f->bits / 8))
        return ls_error_set(err, "%s: block align %u does not match %u channels of %u bits", what,
                            f->block_align, f->channels, f->bits);
    return 0;
}

/* The two's complement value of the low `bits` bits of u. */
static int64_t sign_extend(uint32_t u, int bits)
{
    int64_t v = u;
    return v >= (int64_t)1 << (bits - 1) ? v - ((int64_t)1 << bits) : v;
}

/* One sample of the given format as a float. */
static float decode_sample(const uint8_t *p, const wav_format *f)
{
    if (f->tag == WAV_TAG_FLOAT) {
        if (f->bits == 32) {
            uint32_t u = read_u32(p);
            float v;
            memcpy(&v, &u, sizeof v);
            return v;
        }
        uint64_t u = (uint64_t)read_u32(p) | (uint64_t)read_u32(p + 4) << 32;
        double v;
        memcpy(&v, &u, sizeof v);
        return (float)v;
    }
    switch (f->bits) {
    case 8:
        return ((int)p[0] - 128) * (1.0f / 128);
    case 16:
        return (float)sign_extend(read_u16(p), 16) * (1.0f / 32768);
    case 24:
        return (float)sign_extend((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16, 24) *
               (1.0f / 8388608);
    default:
        return (float)((double)sign_extend(read_u32(p), 32) * (1.0 / 2147483648.0));
    }
}

static int decode_frames(const uint8_t *data, uint32_t size, const wav_format *f, const char *what,
                         ls_audio *out, ls_error *err)
{
    if (size % f->block_align)
        return ls_error_set(err, "%s: 'data' chunk of %u bytes is not a whole number of %u-byte "
                            "frames", what, (unsigned)size, f->block_align);
    int64_t frames = size / f->block_align;
    float *samples = malloc((size_t)(frames > 0 ? frames : 1) * sizeof *samples);
    if (!samples)
        return ls_error_set(err, "%s: out of memory for %lld samples", what, (long long)frames);
    unsigned bytes = f->bits / 8;
    for (int64_t i = 0; i < frames; i++) {
        const uint8_t *frame = data + (size_t)i * f->block_align;
        float sum = 0;
        for (unsigned c = 0; c < f->channels; c++)
            sum += decode_sample(frame + c * bytes, f);
        samples[i] = f->channels == 1 ? sum : sum / (float)f->channels;
    }
    out->samples = samples;
    out->n = frames;
    out->rate = (int)f->rate;
    return 0;
}

int ls_wav_parse(const void *data, size_t len, const char *what, ls_audio *out, ls_error *err)
{
    const uint8_t *p = data;
    memset(out, 0, sizeof *out);
    if (len >= 4 && memcmp(p, "RIFX", 4) == 0)
        return ls_error_set(err, "%s: big-endian RIFX files are not supported", what);
    if (len >= 4 && memcmp(p, "RF64", 4) == 0)
        return ls_error_set(err, "%s: RF64 files are not supported", what);
    if (len < 12 || memcmp(p, "RIFF", 4) != 0 || memcmp(p + 8, "WAVE", 4) != 0)
        return ls_error_set(err, "%s: not a RIFF/WAVE file", what);

    uint32_t riff_size = read_u32(p + 4);
    size_t end = len;
    if (riff_size != WAV_SIZE_UNKNOWN) {
        if (riff_size < 4 || riff_size > len - 8)
            return ls_error_set(err, "%s: RIFF size %u does not fit the file (%zu bytes): "
                                "truncated?", what, (unsigned)riff_size, len);
        end = 8 + (size_t)riff_size;
    }

    wav_format fmt = { 0 };
    int have_fmt = 0;
    const uint8_t *samples = NULL;
    uint32_t samples_size = 0;
    size_t pos = 12;
    while (end - pos >= 8) {
        const uint8_t *id = p + pos;
        uint32_t size = read_u32(p + pos + 4);
        size_t body = pos + 8;
        if (size == WAV_SIZE_UNKNOWN && memcmp(id, "data", 4) == 0 && end - body <= UINT32_MAX)
            size = (uint32_t)(end - body);
        if (size > end - body)
            return ls_error_set(err, "%s: chunk '%.4s' of %u bytes runs past the end of the file: "
                                "truncated?", what, (const char *)id, (unsigned)size);
        if (memcmp(id, "fmt ", 4) == 0) {
            if (have_fmt)
                return ls_error_set(err, "%s: two 'fmt ' chunks", what);
            if (parse_fmt(p + body, size, what, &fmt, err) != 0)
                return -1;
            have_fmt = 1;
        } else if (memcmp(id, "data", 4) == 0) {
            if (samples)
                return ls_error_set(err, "%s: two 'data' chunks", what);
            samples = p + body;
            samples_size = size;
        }
        pos = body + size;
        if (size & 1)   /* chunks are padded to an even size; the last pad may be missing */
            pos = pos < end ? pos + 1 : end;
    }
    if (!have_fmt)
        return ls_error_set(err, "%s: no 'fmt ' chunk", what);
    if (!samples)
        return ls_error_set(err, "%s: no 'data' chunk", what);
    return decode_frames(samples, samples_size, &fmt, what, out, err);
}

int ls_wav_read(const char *path, ls_audio *out, ls_error *err)
{
    void *data;
    size_t len;
    memset(out, 0, sizeof *out);
    if (ls_read_file(path, WAV_MAX_FILE_BYTES, &data, &len, err) != 0)
        return -1;
    int rc = ls_wav_parse(data, len, path, out, err);
    free(data);
    return rc;
}

int ls_wav_write16(const char *path, const float *samples, int64_t n, int rate, ls_error *err)
{
    if (n < 0 || n > (int64_t)(UINT32_MAX - 36) / 2)
        return ls_error_set(err, "%s: %lld samples do not fit a WAV file", path, (long long)n);
    if (rate <= 0 || (unsigned)rate > WAV_MAX_RATE)
        return ls_error_set(err, "%s: sample rate %d out of range", path, rate);
    uint8_t header[44];
    uint32_t data_bytes = (uint32_t)(n * 2);
    memcpy(header, "RIFF", 4);
    write_u32(header + 4, 36 + data_bytes);
    memcpy(header + 8, "WAVEfmt ", 8);
    write_u32(header + 16, 16);
    write_u16(header + 20, WAV_TAG_PCM);
    write_u16(header + 22, 1);
    write_u32(header + 24, (uint32_t)rate);
    write_u32(header + 28, (uint32_t)rate * 2);
    write_u16(header + 32, 2);
    write_u16(header + 34, 16);
    memcpy(header + 36, "data", 4);
    write_u32(header + 40, data_bytes);

    FILE *f = fopen(path, "wb");
    if (!f)
        return ls_error_set(err, "%s: cannot create: %s", path, strerror(errno));
    int ok = fwrite(header, 1, sizeof header, f) == sizeof header;
    uint8_t block[4096];
    for (int64_t i = 0; ok && i < n;) {
        int count = 0;
        for (; count < (int)sizeof block / 2 && i < n; count++, i++) {
            float v = samples[i] == samples[i] ? samples[i] * 32768.0f : 0.0f;   /* NaN -> 0 */
            long q = lrintf(v < -32768.0f ? -32768.0f : v > 32767.0f ? 32767.0f : v);
            write_u16(block + 2 * count, (unsigned)(uint16_t)(int16_t)q);
        }
        ok = fwrite(block, 2, (size_t)count, f) == (size_t)count;
    }
    if (fclose(f) != 0)
        ok = 0;
    if (!ok)
        return ls_error_set(err, "%s: write error", path);
    return 0;
}
