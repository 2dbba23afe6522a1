/*
 * routes_upload.c - POST /humanaudio: speak an uploaded audio file.
 *
 * A multipart/form-data body (as LiveTalking's pages send it) with the
 * fields `sessionid` and `file`. WAV files are decoded and resampled to
 * 16 kHz mono (audio/audio_load.h: any PCM or float format, channels mixed)
 * and queued as one chunk whose events carry the file name. Other formats answer 415
 * until their decoders arrive.
 */
#include "server/routes.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "audio/audio_load.h"
#include "server/request.h"
#include "speech/speech_queue.h"

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

/* The WAV file as 16 kHz 16-bit samples (malloc'd). The file goes through
 * audio/audio_load.h by way of an in-memory file (memfd). */
static int decode(const upload *u, int16_t **pcm, size_t *n, ls_error *err)
{
    gsize size;
    const char *data = g_bytes_get_data(u->file, &size);
    int fd = memfd_create("upload", MFD_CLOEXEC);
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
        return ls_error_set(err, "%s%s", u->filename, reason);
    }
    *pcm = malloc((size_t)(audio.n ? audio.n : 1) * sizeof **pcm);
    for (int64_t i = 0; *pcm && i < audio.n; i++) {
        float v = roundf(audio.samples[i] * 32768.0f);
        (*pcm)[i] = (int16_t)(v > 32767.0f ? 32767.0f : v < -32768.0f ? -32768.0f : v);
    }
    *n = (size_t)audio.n;
    ls_audio_free(&audio);
    return *pcm ? 0 : ls_error_set(err, "out of memory");
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
    if (size < 12 || memcmp(data, "RIFF", 4) != 0 || memcmp(data + 8, "WAVE", 4) != 0) {
        ls_http_fail(msg, SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE,
                     "%s: only WAV uploads are supported for now", u->filename);
        return;
    }
    int16_t *pcm = NULL;
    size_t n = 0;
    ls_error err;
    if (decode(u, &pcm, &n, &err) < 0) {
        ls_http_fail(msg, SOUP_STATUS_BAD_REQUEST, "%s", err.msg);
        return;
    }
    if (ls_speech_queue_add_audio(s->speech, pcm, n, u->filename, &err) < 0)
        ls_http_fail(msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "%s", err.msg);
    else
        ls_http_ok(msg);
    free(pcm);
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
