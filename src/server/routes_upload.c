/*
 * routes_upload.c - POST /humanaudio: speak an uploaded audio file.
 *
 * A multipart/form-data body (as LiveTalking's pages send it) with the
 * fields `sessionid` and `file`. The file becomes 16 kHz mono samples,
 * queued as one chunk whose events carry the file name: WAV files through
 * audio/audio_load.h (any PCM or float format, channels mixed, resampled),
 * every other format (MP3, Ogg Vorbis/Opus, M4A/AAC, FLAC, ...) through
 * media/audio_decoder.h, pushed in blocks, decoded on this thread. Bytes
 * that are not audio are a 400 naming the file and what it is; decoded
 * audio longer than MAX_UPLOAD_SECONDS is a 413 (the body's own size limit
 * is the route's, server/http.h).
 */
#include "server/routes.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "audio/audio_load.h"
#include "media/audio_decoder.h"
#include "server/request.h"
#include "speech/speech_queue.h"

#define MAX_UPLOAD_SECONDS 600
#define PUSH_BLOCK (64 << 10)   /* bytes handed to the decoder at once */

_Static_assert(LS_AUDIO_DECODER_RATE == LS_SPEECH_RATE, "decoded uploads go to the speech queue as they are");

typedef struct upload {
    char sessionid[LS_REQUEST_ID_MAX];
    const char *filename;
    GBytes *file;           /* borrowed from the multipart */
} upload;

/* Finds the form fields; 400 answered on failure. */
static int read_form(SoupServerMessage *msg, SoupMultipart *mp, upload *u, GHashTable **held_params)
{
    for (int i = 0; i < soup_multipart_get_length(mp); i++) {
        SoupMessageHeaders *headers;
        GBytes *body;
        char *disposition;
        GHashTable *params;
        if (!soup_multipart_get_part(mp, i, &headers, &body) ||
            !soup_message_headers_get_content_disposition(headers, &disposition, &params))
            continue;
        const char *name = g_hash_table_lookup(params, "name");
        if (name && strcmp(name, "sessionid") == 0) {
            gsize n;
            const char *v = g_bytes_get_data(body, &n);
            if (n > 0 && n < sizeof u->sessionid) {
                memcpy(u->sessionid, v, n);
                u->sessionid[n] = 0;
            }
        } else if (name && strcmp(name, "file") == 0) {
            u->file = body;
            u->filename = g_hash_table_lookup(params, "filename");
            if (*held_params)
                g_hash_table_destroy(*held_params);
            *held_params = params;   /* filename lives in it */
            params = NULL;
        }
        g_free(disposition);
        if (params)
            g_hash_table_destroy(params);
    }
    if (!u->sessionid[0]) {
        ls_http_fail(msg, SOUP_STATUS_BAD_REQUEST, "missing form field 'sessionid'");
        return -1;
    }
    if (!u->file) {
        ls_http_fail(msg, SOUP_STATUS_BAD_REQUEST, "missing form field 'file'");
        return -1;
    }
    if (!u->filename)
        u->filename = "upload";
    return 0;
}

/* The decoded upload. */
typedef struct pcm {
    int16_t *samples;      /* malloc'd, 16 kHz */
    size_t n, cap;
    guint status;          /* why decoding failed: 400, 413 or 500 */
} pcm;

/* The WAV file through audio/audio_load.h, by way of an in-memory file (memfd). */
static int decode_wav(const upload *u, pcm *out, ls_error *err)
{
    gsize size;
    const char *data = g_bytes_get_data(u->file, &size);
    int fd = memfd_create("upload", MFD_CLOEXEC);
    out->status = SOUP_STATUS_INTERNAL_SERVER_ERROR;
    if (fd < 0)
        return ls_error_set(err, "%s: cannot hold the upload (memfd)", u->filename);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ls_audio audio = { 0 };
    int rc = write(fd, data, size) == (ssize_t)size ? ls_audio_load_16k(path, &audio, err) : -1;
    close(fd);
    if (rc < 0) {
        size_t k = strlen(path);
        char reason[sizeof err->msg];
        snprintf(reason, sizeof reason, "%s", strncmp(err->msg, path, k) == 0 ? err->msg + k : ": unreadable");
        out->status = SOUP_STATUS_BAD_REQUEST;
        return ls_error_set(err, "%s%s", u->filename, reason);
    }
    if (audio.n > (int64_t)MAX_UPLOAD_SECONDS * LS_SPEECH_RATE) {
        ls_audio_free(&audio);
        out->status = SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE;
        return ls_error_set(err, "%s: longer than %d s", u->filename, MAX_UPLOAD_SECONDS);
    }
    out->samples = malloc((size_t)(audio.n ? audio.n : 1) * sizeof *out->samples);
    for (int64_t i = 0; out->samples && i < audio.n; i++) {
        float v = roundf(audio.samples[i] * 32768.0f);
        out->samples[i] = (int16_t)(v > 32767.0f ? 32767.0f : v < -32768.0f ? -32768.0f : v);
    }
    out->n = (size_t)audio.n;
    ls_audio_free(&audio);
    return out->samples ? 0 : ls_error_set(err, "out of memory");
}

/* Decoder callback: keeps the samples; stops past the length limit (status 413). */
static int keep_samples(void *user, const int16_t *samples, int n)
{
    pcm *out = user;
    if (out->n + (size_t)n > (size_t)MAX_UPLOAD_SECONDS * LS_SPEECH_RATE) {
        out->status = SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE;
        return 1;
    }
    if (out->n + (size_t)n > out->cap) {
        size_t cap = 2 * (out->n + (size_t)n);
        int16_t *grown = realloc(out->samples, cap * sizeof *grown);
        if (!grown) {
            out->status = SOUP_STATUS_INTERNAL_SERVER_ERROR;
            return 1;
        }
        out->samples = grown;
        out->cap = cap;
    }
    memcpy(out->samples + out->n, samples, (size_t)n * sizeof *samples);
    out->n += (size_t)n;
    return 0;
}

/* Any other format through GStreamer. */
static int decode_compressed(const upload *u, pcm *out, ls_error *err)
{
    gsize size;
    const char *data = g_bytes_get_data(u->file, &size);
    ls_audio_decoder *d;
    out->status = SOUP_STATUS_INTERNAL_SERVER_ERROR;
    if (ls_audio_decoder_new(u->filename, keep_samples, out, &d, err) < 0)
        return -1;
    out->status = 0;
    int rc = 0;
    for (gsize at = 0; at < size && rc == 0; at += PUSH_BLOCK)
        rc = ls_audio_decoder_push(d, data + at, size - at < PUSH_BLOCK ? size - at : PUSH_BLOCK, err);
    if (rc == 0)
        rc = ls_audio_decoder_finish(d, err);
    ls_audio_decoder_free(d);
    if (out->status == SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE)
        return ls_error_set(err, "%s: longer than %d s", u->filename, MAX_UPLOAD_SECONDS);
    if (out->status)
        return ls_error_set(err, "out of memory");
    out->status = SOUP_STATUS_BAD_REQUEST;
    return rc < 0 ? -1 : 0;
}

static void speak_upload(ls_server *srv, SoupServerMessage *msg, const upload *u)
{
    ls_session *s = ls_session_find(srv, u->sessionid);
    if (!s) {
        ls_http_fail(msg, SOUP_STATUS_NOT_FOUND, "unknown session '%s'", u->sessionid);
        return;
    }
    gsize size;
    const char *data = g_bytes_get_data(u->file, &size);
    int wav = size >= 12 && memcmp(data, "RIFF", 4) == 0 && memcmp(data + 8, "WAVE", 4) == 0;
    pcm audio = { 0 };
    ls_error err;
    if ((wav ? decode_wav(u, &audio, &err) : decode_compressed(u, &audio, &err)) < 0)
        ls_http_fail(msg, audio.status, "%s", err.msg);
    else if (ls_speech_queue_add_audio(s->speech, audio.samples, audio.n, u->filename, &err) < 0)
        ls_http_fail(msg, err.kind == LS_ERROR_EXHAUSTED ? 429 /* Too Many Requests */
                                                         : SOUP_STATUS_INTERNAL_SERVER_ERROR,
                     "%s", err.msg);
    else
        ls_http_ok(msg);
    free(audio.samples);
}

void ls_route_humanaudio(ls_server *srv, SoupServerMessage *msg, const char *path, GHashTable *query)
{
    size_t len;
    const char *data = ls_http_body(msg, &len);
    GBytes *body = g_bytes_new_static(data, len);
    SoupMultipart *mp = soup_multipart_new_from_message(soup_server_message_get_request_headers(msg), body);
    g_bytes_unref(body);
    if (!mp) {
        ls_http_fail(msg, SOUP_STATUS_BAD_REQUEST, "the body must be multipart/form-data with 'sessionid' and "
                                                   "'file'");
        return;
    }
    upload u = { 0 };
    GHashTable *params = NULL;
    if (read_form(msg, mp, &u, &params) == 0)
        speak_upload(srv, msg, &u);
    if (params)
        g_hash_table_destroy(params);
    soup_multipart_free(mp);
}
