/*
 * http_tts.c - one streamed speech request (see http_tts.h).
 *
 * The body is read in blocks and fed to the container's decoder. Raw and
 * WAV bodies go through `pcm_decoder`: the WAV header (when the container
 * is WAV) is parsed chunk by chunk until the "data" chunk begins, then every
 * whole sample frame (channels x 2 bytes) is converted and handed on; a
 * frame cut between reads waits in `pending` for its other bytes. Encoded
 * bodies are pushed into a media/audio_decoder.h decoder, which hands its
 * 16 kHz samples straight to `out`. Every blocking call takes the caller's
 * GCancellable, so cancelling it ends a wait for bytes at once.
 */
#include "speech/http_tts.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media/audio_decoder.h"
#include "util/file.h"

#define READ_BLOCK 8192
#define MAX_WAV_HEADER 4096
#define MAX_ERROR_BODY 200     /* bytes of an error answer quoted */

typedef struct pcm_decoder {
    int header_done, channels, rate, engine_rate;
    const char *url;
    ls_tts_output_fn out;
    void *user;
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
static int pcm_feed(void *ctx, const unsigned char *bytes, size_t n, ls_error *err)
{
    pcm_decoder *d = ctx;
    while (n > 0) {
        size_t take = n < READ_BLOCK ? n : READ_BLOCK;
        memcpy(d->pending + d->n_pending, bytes, take);
        d->n_pending += take;
        bytes += take;
        n -= take;
        if (!d->header_done) {
            int rc = parse_wav_header(d, d->engine_rate, d->url, err);
            if (rc <= 0) {
                if (rc == 0 && d->n_pending > MAX_WAV_HEADER)
                    return ls_error_set(err, "%s: WAV header over %d bytes", d->url, MAX_WAV_HEADER);
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
        if (frames > 0 && d->out(d->user, d->samples, (int)frames))
            return 1;
    }
    return 0;
}

static int encoded_feed(void *ctx, const unsigned char *bytes, size_t n, ls_error *err)
{
    return ls_audio_decoder_push(ctx, bytes, n, err);
}

typedef int (*feed_fn)(void *ctx, const unsigned char *bytes, size_t n, ls_error *err);

/* Reads the body block by block into `feed`: 0 at its end, 1 when the feed
 * stopped, -1 error. */
static int read_body(GInputStream *in, GCancellable *cancel, const char *what, const char *url, feed_fn feed,
                     void *ctx, ls_error *err)
{
    unsigned char *block = malloc(READ_BLOCK);
    if (!block)
        return ls_error_set(err, "%s: out of memory", what);
    int rc;
    for (;;) {
        GError *gerr = NULL;
        gssize n = g_input_stream_read(in, block, READ_BLOCK, cancel, &gerr);
        if (n < 0) {
            rc = ls_error_set(err, "%s: reading from %s: %s", what, url, gerr->message);
            g_error_free(gerr);
            break;
        }
        if (n == 0 || (rc = feed(ctx, block, (size_t)n, err)) != 0) {
            rc = n == 0 ? 0 : rc;
            break;
        }
    }
    free(block);
    return rc;
}

/* Sends the request; on a 2xx answer *in is its body, else -1 with the
 * error naming the status and the start of the body. */
static int send_request(ls_http_tts *h, SoupMessage *msg, const char *what, const char *url, GCancellable *cancel,
                        GInputStream **in, ls_error *err)
{
    if (!h->session)
        h->session = soup_session_new_with_options("timeout", (guint)h->timeout_s, NULL);
    GError *gerr = NULL;
    *in = soup_session_send(h->session, msg, cancel, &gerr);
    if (!*in) {
        ls_error_set(err, "%s: cannot reach %s: %s", what, url, gerr->message);
        g_error_free(gerr);
        return -1;
    }
    guint status = soup_message_get_status(msg);
    if (SOUP_STATUS_IS_SUCCESSFUL(status))
        return 0;
    char start[MAX_ERROR_BODY];
    gsize got = 0;
    g_input_stream_read_all(*in, start, sizeof start, &got, cancel, NULL);
    ls_error_set(err, "%s: %s answered HTTP %u %s: %.*s", what, url, status, soup_message_get_reason_phrase(msg),
                 (int)got, start);
    g_clear_object(in);
    return -1;
}

/* Streams the body through the container's decoder into `out`. */
static int stream_audio(GInputStream *in, ls_pcm_container container, int rate, const char *what, const char *url,
                        GCancellable *cancel, ls_tts_output_fn out, void *user, ls_error *err)
{
    if (container == LS_PCM_ENCODED) {
        char *name = g_strdup_printf("%s: %s", what, url);   /* names the answer in decoding errors */
        ls_audio_decoder *dec;
        int rc = ls_audio_decoder_new(name, out, user, &dec, err);
        g_free(name);
        if (rc < 0)
            return ls_error_prefix(err, "%s", what);
        rc = read_body(in, cancel, what, url, encoded_feed, dec, err);
        if (rc == 0)
            rc = ls_audio_decoder_finish(dec, err);
        ls_audio_decoder_free(dec);
        return rc < 0 ? -1 : 0;
    }
    pcm_decoder d = { .header_done = container == LS_PCM_RAW, .channels = 1, .engine_rate = rate, .url = url,
                      .out = out, .user = user, .pending = malloc(READ_BLOCK + MAX_WAV_HEADER + 16) };
    if (!d.pending)
        return ls_error_set(err, "%s: out of memory", what);
    int rc = read_body(in, cancel, what, url, pcm_feed, &d, err);
    if (rc == 0 && !d.header_done)
        rc = ls_error_set(err, "%s: %s answered no audio", what, url);
    free(d.pending);
    return rc < 0 ? -1 : 0;
}

int ls_http_tts_run(ls_http_tts *h, SoupMessage *msg, ls_pcm_container container, int rate, const char *what,
                    GCancellable *cancel, ls_tts_output_fn out, void *user, ls_error *err)
{
    char *url = g_uri_to_string(soup_message_get_uri(msg));
    GInputStream *in;
    int rc = send_request(h, msg, what, url, cancel, &in, err);
    if (rc == 0) {
        rc = stream_audio(in, container, rate, what, url, cancel, out, user, err);
        g_object_unref(in);
    }
    g_object_unref(msg);
    g_free(url);
    return rc < 0 && g_cancellable_is_cancelled(cancel) ? 0 : rc;
}

int ls_http_tts_fetch(ls_http_tts *h, SoupMessage *msg, size_t max_bytes, const char *what, GCancellable *cancel,
                      GBytes **body, ls_error *err)
{
    char *url = g_uri_to_string(soup_message_get_uri(msg));
    GInputStream *in;
    int rc = send_request(h, msg, what, url, cancel, &in, err);
    if (rc == 0) {
        char *data = g_malloc(max_bytes + 1);
        gsize got = 0;
        GError *gerr = NULL;
        if (!g_input_stream_read_all(in, data, max_bytes + 1, &got, cancel, &gerr)) {
            rc = ls_error_set(err, "%s: reading from %s: %s", what, url, gerr->message);
            g_error_free(gerr);
        } else if (got > max_bytes) {
            rc = ls_error_set(err, "%s: %s answered over %zu bytes", what, url, max_bytes);
        }
        *body = rc == 0 ? g_bytes_new_take(data, got) : NULL;
        if (rc < 0)
            g_free(data);
        g_object_unref(in);
    }
    g_object_unref(msg);
    g_free(url);
    return rc < 0 && g_cancellable_is_cancelled(cancel) ? 1 : rc;
}

void ls_http_tts_clear(ls_http_tts *h)
{
    g_clear_object(&h->session);
}

SoupMessage *ls_http_tts_post_json(const char *url, GString *body)
{
    GBytes *bytes = g_string_free_to_bytes(body);
    SoupMessage *msg = soup_message_new("POST", url);
    soup_message_set_request_body_from_bytes(msg, "application/json", bytes);
    g_bytes_unref(bytes);
    return msg;
}

char *ls_http_tts_url(const char *server, const char *path, const char *engine, ls_error *err)
{
    server = server ? server : "";
    char *url = g_strconcat(server, g_str_has_suffix(server, "/") ? "" : "/", path, NULL);
    GUri *uri = g_uri_parse(url, SOUP_HTTP_URI_FLAGS, NULL);
    int ok = uri && (strcmp(g_uri_get_scheme(uri), "http") == 0 || strcmp(g_uri_get_scheme(uri), "https") == 0);
    if (uri)
        g_uri_unref(uri);
    if (ok)
        return url;
    g_free(url);
    ls_error_set(err, "--tts %s needs --TTS_SERVER http://host:port (got '%.200s')", engine, server);
    return NULL;
}

GBytes *ls_http_tts_read_ref(const char *path, const char *engine, ls_error *err)
{
    void *data;
    size_t len;
    if (!path || !path[0]) {
        ls_error_set(err, "--tts %s needs --REF_FILE, the reference voice (a WAV file)", engine);
        return NULL;
    }
    if (ls_read_file(path, LS_TTS_MAX_REF_FILE, &data, &len, err) < 0) {
        ls_error_prefix(err, "--REF_FILE");
        return NULL;
    }
    return g_bytes_new_with_free_func(data, len, free, data);
}
