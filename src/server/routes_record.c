/*
 * routes_record.c - POST /record and GET /record/{sessionid}.
 *
 * /record {"sessionid", "type": "start_record" | "end_record"} starts or
 * finishes the session's recording (server/session_outputs.h); a recording
 * that cannot start is answered 500 with the reason, end_record without one
 * 409. GET /record/{id} sends the recording as video/mp4 (memory-mapped),
 * also while it is being written (a fragmented MP4 plays up to its last
 * whole second) and after the session ended; 404 JSON when there is none
 * or nothing is written yet.
 */
#include "server/routes.h"

#include <string.h>

#include "server/request.h"
#include "server/session_outputs.h"

void ls_route_record(ls_server *srv, SoupServerMessage *msg, const char *path, GHashTable *query)
{
    ls_json *body;
    ls_session *s = ls_route_session(srv, msg, &body);
    if (!s)
        return;
    ls_error err;
    const char *type;
    if (ls_request_string(body, "type", 1, &type, &err) < 0) {
        ls_http_fail(msg, SOUP_STATUS_BAD_REQUEST, "%s", err.msg);
    } else if (strcmp(type, "start_record") == 0) {
        if (ls_session_record_start(s, &err) < 0)
            ls_http_fail(msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "%s", err.msg);
        else
            ls_http_ok(msg);
    } else if (strcmp(type, "end_record") == 0) {
        if (ls_session_record_stop(s, &err) < 0)
            ls_http_fail(msg, SOUP_STATUS_CONFLICT, "%s", err.msg);
        else
            ls_http_ok(msg);
    } else {
        ls_http_fail(msg, SOUP_STATUS_BAD_REQUEST, "field 'type' must be \"start_record\" or \"end_record\"");
    }
    ls_json_free(body);
}

void ls_route_record_download(ls_server *srv, SoupServerMessage *msg, const char *path, GHashTable *query)
{
    const char *id = path + strlen("/record/");
    char *file = ls_record_path(srv->opts, id);
    GMappedFile *mapped = file && g_file_test(file, G_FILE_TEST_IS_REGULAR) ? g_mapped_file_new(file, FALSE, NULL)
                                                                             : NULL;
    if (mapped && g_mapped_file_get_length(mapped) == 0) {   /* started a moment ago */
        g_mapped_file_unref(mapped);
        ls_http_fail(msg, SOUP_STATUS_NOT_FOUND, "no recording for session '%.64s' yet: nothing written", id);
    } else if (!mapped) {
        ls_http_fail(msg, SOUP_STATUS_NOT_FOUND, "no recording for session '%.64s'", id);
    } else {
        GBytes *bytes = g_mapped_file_get_bytes(mapped);
        g_mapped_file_unref(mapped);
        SoupMessageHeaders *h = soup_server_message_get_response_headers(msg);
        gchar *disposition = g_strdup_printf("attachment; filename=\"%s.mp4\"", id);
        soup_message_headers_replace(h, "Content-Disposition", disposition);
        soup_message_headers_set_content_type(h, "video/mp4", NULL);
        soup_message_body_append_bytes(soup_server_message_get_response_body(msg), bytes);
        soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
        g_free(disposition);
        g_bytes_unref(bytes);
    }
    g_free(file);
}
