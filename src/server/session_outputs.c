/*
 * session_outputs.c - push outputs, recordings and their news (see
 * session_outputs.h).
 *
 * Outputs report on the main context (media/output.h), where sessions
 * live: the callback can use its session directly, and an output is freed
 * before its session is. The recording joins the running producer as one
 * more sink and leaves it before it is finished (the producer never pushes
 * into a recording being closed).
 */
#include "server/session_outputs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media/record_sink.h"
#include "media/rtmp_sink.h"
#include "media/vcam_sink.h"
#include "media/whip_sink.h"
#include "server/json_out.h"
#include "server/sse.h"

#define MAX_ID_LEN 64

static void on_output_changed(void *user, ls_output *o, const char *status)
{
    ls_session *s = user;
    int failed = g_str_has_prefix(status, "failed") || g_str_has_prefix(status, "retrying");
    if (!failed && strcmp(status, "live") != 0)
        return;   /* "starting" is not news */
    GString *json = g_string_new(failed ? "{\"status\": \"error\", \"source\": " : "{\"status\": \"output\", "
                                                                                   "\"source\": ");
    ls_json_append_string(json, ls_output_kind_name(o));
    g_string_append(json, failed ? ", \"msg\": " : ", \"state\": ");
    ls_json_append_string(json, status);
    g_string_append_c(json, '}');
    ls_sse_send(s, json->str);
    g_string_free(json, TRUE);
}

static ls_output_config output_config(ls_session *s, char *label, size_t size)
{
    snprintf(label, size, "session %.8s", s->id);
    ls_output_config c = { label, s->avatar->width, s->avatar->height, s->clock, s->base_time, s->srv->context,
                           on_output_changed, s };
    return c;
}

// --- push transports --------------------------------------------------------------------

int ls_session_push_start(ls_session *s, int index, ls_error *err)
{
    const ls_server_options *o = s->srv->opts;
    char label[64];
    ls_output_config c = output_config(s, label, sizeof label);
    if (strcmp(o->transport, "rtmp") == 0)
        return ls_rtmp_output_new(o->push_url, &c, &s->push, err);
    if (strcmp(o->transport, "virtualcam") == 0)
        return ls_vcam_output_new(o->vcam_device, o->vcam_audio, &c, &s->push, err);
    gchar *url = index > 0 ? g_strdup_printf("%s%d", o->push_url, index) : g_strdup(o->push_url);
    const char *token = o->push_token_env && o->push_token_env[0] ? getenv(o->push_token_env) : NULL;
    int rc = ls_whip_output_new(url, o->stun, token, &c, &s->push, err);
    g_free(url);
    return rc;
}

int ls_push_sessions_open(ls_server *srv, ls_error *err)
{
    const char *transport = srv->opts->transport;
    if (strcmp(transport, "webrtc") == 0)
        return 0;
    int n = strcmp(transport, "rtcpush") == 0 ? srv->opts->max_session : 1;
    for (int k = 0; k < n; k++) {
        ls_session *s;
        if (ls_session_open_push(srv, k, &s, err) < 0)
            return ls_error_prefix(err, "%s session %d", transport, k);
    }
    return 0;
}

// --- recording ----------------------------------------------------------------------------

static int valid_id(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > MAX_ID_LEN)
        return 0;
    for (const char *c = id; *c; c++)
        if (!g_ascii_isalnum(*c) && *c != '-' && *c != '_')
            return 0;
    return 1;
}

char *ls_record_path(const ls_server_options *o, const char *id)
{
    if (!valid_id(id))
        return NULL;
    const char *dir = o->record ? o->record : o->record_dir;
    gchar *name = g_strconcat(id, ".mp4", NULL);
    gchar *path = g_build_filename(dir, name, NULL);
    g_free(name);
    return path;
}

static int record_failed(ls_session *s, ls_error *err)
{
    snprintf(s->record_failure, sizeof s->record_failure, "failed: %s", err->msg);
    fprintf(stderr, "lipstream: session %.8s: recording %s\n", s->id, s->record_failure);
    GString *json = g_string_new("{\"status\": \"error\", \"source\": \"record\", \"msg\": ");
    ls_json_append_string(json, s->record_failure);
    g_string_append_c(json, '}');
    ls_sse_send(s, json->str);
    g_string_free(json, TRUE);
    return -1;
}

/* Takes the recording out of the producer and finishes it. */
static void drop_recording(ls_session *s)
{
    ls_producer_remove_sink(s->producer, ls_output_sink(s->recording));
    ls_output_free(s->recording);
    s->recording = NULL;
}

int ls_session_record_start(ls_session *s, ls_error *err)
{
    if (s->recording && ls_output_ok(s->recording))
        return 0;
    if (s->recording)   /* it failed (disk full): start again */
        drop_recording(s);
    char *path = ls_record_path(s->srv->opts, s->id);
    gchar *dir = g_path_get_dirname(path);
    int rc = 0;
    if (g_mkdir_with_parents(dir, 0755) < 0) {
        ls_error_set(err, "cannot make the recording folder %s: %s", dir, strerror(errno));
        rc = -1;
    }
    char label[64];
    ls_output_config c = output_config(s, label, sizeof label);
    if (rc == 0)
        rc = ls_record_output_new(path, &c, &s->recording, err);
    if (rc == 0 && ls_producer_add_sink(s->producer, ls_output_sink(s->recording), err) < 0) {
        ls_output_free(s->recording);
        s->recording = NULL;
        rc = -1;
    }
    g_free(dir);
    g_free(path);
    if (rc < 0)
        return record_failed(s, err);
    s->record_failure[0] = '\0';
    return 0;
}

int ls_session_record_stop(ls_session *s, ls_error *err)
{
    if (!s->recording)
        return ls_error_set(err, "not recording");
    drop_recording(s);
    return 0;
}

int ls_session_recording(ls_session *s)
{
    return s->recording && ls_output_ok(s->recording);
}

void ls_session_outputs_close(ls_session *s)
{
    ls_output_free(s->recording);
    s->recording = NULL;
    ls_output_free(s->push);
    s->push = NULL;
}

static void append_output(GString *out, const char *kind, const char *status, int *first)
{
    g_string_append(out, *first ? "{\"output\": " : ", {\"output\": ");
    ls_json_append_string(out, kind);
    g_string_append(out, ", \"status\": ");
    ls_json_append_string(out, status);
    g_string_append_c(out, '}');
    *first = 0;
}

void ls_session_outputs_json(ls_session *s, GString *out)
{
    int first = 1;
    g_string_append_c(out, '[');
    if (s->push)
        append_output(out, ls_output_kind_name(s->push), ls_output_status(s->push), &first);
    if (s->recording)
        append_output(out, "record", ls_output_status(s->recording), &first);
    else if (s->record_failure[0])
        append_output(out, "record", s->record_failure, &first);
    g_string_append_c(out, ']');
}
