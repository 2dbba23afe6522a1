/*
 * http_tts.c - one streamed speech request (see http_tts.h).
 *
 * Bytes are read in blocks into `pending`: first the WAV header (when the
 * container is WAV) is parsed chunk by chunk until the "data" chunk begins,
 * then every whole sample frame (channels x 2 bytes) is converted and handed
 * on; a frame cut between reads waits in `pending` for its other bytes.
 */
#include "speech/http_tts.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define READ_BLOCK 8192
#define MAX_WAV_HEADER 4096

typedef struct pcm_decoder {
    int header_done, channels, rate;
    unsigned char *pending;
    size_t n_pending;
    int16_t samples[READ_BLOCK];
} pcm_decoder;

static uint32_t le32(const unsigned char *p)
{
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int le16(const unsigned char *p)
{
    return p[0] | p[1] << 8;
}

/* Parses the WAV header in `pending` if it is all there: 1 done (pending
 * then starts at the samples), 0 needs more bytes, -1 error. */
static int parse_wav_header(pcm_decoder *d, int rate, const char *url, ls_error *err)
{
    const unsigned char *p = d->pending;
    size_t n = d->n_pending, at = 12;
    if (n < 12)
        return 0;
    if (memcmp(p, "RIFF", 4) != 0 || memcmp(p + 8, "WAVE", 4) != 0)
        return ls_error_set(err, "%s: the answer is not a WAV stream", url);
    int have_fmt = 0;
    while (at + 8 <= n) {
        uint32_t size = le32(p + at + 4);
        if (memcmp(p + at, "data", 4) == 0) {
            if (!have_fmt)
                return ls_error_set(err, "%s: WAV data before its format", url);
            memmove(d->pending, p + at + 8, n - at - 8);
            d->n_pending = n - at - 8;
            return 1;
        }
        if (at + 8 + size > n)
            break;
        if (memcmp(p + at, "fmt ", 4) == 0 && size >= 16) {
            int format = le16(p + at + 8), bits = le16(p + at + 22);
            d->channels = le16(p + at + 10);
            d->rate = (int)le32(p + at + 12);
            if ((format != 1 && format != 0xFFFE) || bits != 16 || d->channels < 1 || d->channels > 8)
                return ls_error_set(err, "%s: WAV is not 16-bit PCM (format %d, %d bits, %d channels)", url, format,
                                    bits, d->channels);
            if (d->rate != rate)
                return ls_error_set(err, "%s: WAV at %d Hz, the engine is set for %d Hz", url, d->rate, rate);
            have_fmt = 1;
        }
        at += 8 + size + (size & 1);
    }
    return n > MAX_WAV_HEADER ? ls_error_set(err, "%s: WAV header over %d bytes", url, MAX_WAV_HEADER) : 0;
}

/* Adds bytes and hands on the whole sample frames; 1 when `out` stopped, -1 error. */
static int decode(pcm_decoder *d, const unsigned char *bytes, size_t n, int rate, const char *url,
                  ls_tts_output_fn out, void *user, ls_error *err)
{
    while (n > 0) {
        size_t take = n < READ_BLOCK ? n : READ_BLOCK;
        memcpy(d->pending + d->n_pending, bytes, take);
        d->n_pending += take;
        bytes += take;
        n -= take;
        if (!d->header_done) {
            int rc = parse_wav_header(d, rate, url, err);
            if (rc <= 0) {
                if (rc == 0 && d->n_pending > MAX_WAV_HEADER)
                    return ls_error_set(err, "%s: WAV header over %d bytes", url, MAX_WAV_HEADER);
                if (rc < 0)
                    return -1;
                continue;
            }
            d->header_done = 1;
        }
        size_t frame = 2 * (size_t)d->channels, frames = d->n_pending / frame;
        for (size_t i = 0; i < frames; i++) {
            int sum = 0;
            for (int c = 0; c < d->channels; c++)
                sum += (int16_t)le16(d->pending + i * frame + 2 * (size_t)c);
            d->samples[i] = (int16_t)(sum / d->channels);
        }
        memmove(d->pending, d->pending + frames * frame, d->n_pending - frames * frame);
        d->n_pending -= frames * frame;
        if (frames > 0 && out(user, d->samples, (int)frames))
            return 1;
    }
    return 0;
}

int ls_http_tts_run(ls_http_tts *h, SoupMessage *msg, ls_pcm_container container, int rate, const char *what,
                    ls_tts_output_fn out, void *user, ls_error *err)
{
    if (!h->session)
        h->session = soup_session_new_with_options("timeout", (guint)h->timeout_s, NULL);
    char *url = g_uri_to_string(soup_message_get_uri(msg));
    GError *gerr = NULL;
    int rc = 0;
    GInputStream *in = soup_session_send(h->session, msg, NULL, &gerr);
    pcm_decoder d = { .header_done = container == LS_PCM_RAW, .channels = 1,
                      .pending = malloc(READ_BLOCK + MAX_WAV_HEADER + 16) };
    unsigned char *block = malloc(READ_BLOCK);
    guint status = soup_message_get_status(msg);
    if (!d.pending || !block) {
        rc = ls_error_set(err, "%s: out of memory", what);
    } else if (!in) {
        rc = ls_error_set(err, "%s: cannot reach %s: %s", what, url, gerr->message);
    } else if (!SOUP_STATUS_IS_SUCCESSFUL(status)) {
        gsize got = 0;
        g_input_stream_read_all(in, block, 200, &got, NULL, NULL);
        rc = ls_error_set(err, "%s: %s answered HTTP %u %s: %.*s", what, url, status,
                          soup_message_get_reason_phrase(msg), (int)got, (const char *)block);
    } else {
        for (;;) {
            gssize n = g_input_stream_read(in, block, READ_BLOCK, NULL, &gerr);
            if (n < 0) {
                rc = ls_error_set(err, "%s: reading from %s: %s", what, url, gerr->message);
                break;
            }
            if (n == 0) {
                if (!d.header_done)
                    rc = ls_error_set(err, "%s: %s answered no audio", what, url);
                break;
            }
            int stop = decode(&d, block, (size_t)n, rate, url, out, user, err);
            if (stop < 0)
                rc = -1;
            if (stop != 0)
                break;
        }
    }
    g_clear_error(&gerr);
    if (in)
        g_object_unref(in);
    g_object_unref(msg);
    g_free(url);
    free(block);
    free(d.pending);
    return rc;
}

void ls_http_tts_clear(ls_http_tts *h)
{
    g_clear_object(&h->session);
}
