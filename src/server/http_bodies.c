/*
 * http_bodies.c - counting request bodies as they arrive (see
 * http_bodies.h). Each watched message holds a count of its body's bytes
 * and the share of the process-wide budget it took; its "finished" signal
 * gives the share back. Everything runs on the main context, where libsoup
 * reads requests, so the budget needs no lock.
 */
#include "server/http_bodies.h"

#include "server/http.h"

typedef struct body_count {
    goffset seen, limit;
    goffset taken;   /* of the budget */
    int refused;
} body_count;

static goffset in_flight;

/* Answers now; the rest of the body is read but not kept. */
static void refuse(SoupServerMessage *msg, body_count *count, guint status, const char *why)
{
    count->refused = 1;
    SoupMessageBody *body = soup_server_message_get_request_body(msg);
    soup_message_body_set_accumulate(body, FALSE);
    soup_message_body_truncate(body);
    soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Connection", "close");
    ls_http_allow_cross_origin(msg);
    ls_http_fail(msg, status, "%s", why);
}

/* `bytes` more of the body: within its limit and the budget, or refused. */
static void take(SoupServerMessage *msg, body_count *count, goffset bytes)
{
    if (count->refused)
        return;
    count->seen += bytes;
    char why[160];
    if (count->seen > count->limit) {
        g_snprintf(why, sizeof why,
                   "request body too large (%" G_GINT64_FORMAT " bytes; the limit is %" G_GINT64_FORMAT ")",
                   (gint64)count->seen, (gint64)count->limit);
        refuse(msg, count, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, why);
    } else if (in_flight + bytes > LS_HTTP_BODIES_MAX) {
        g_snprintf(why, sizeof why,
                   "the server is receiving too many request bodies at once (%" G_GINT64_FORMAT
                   " bytes); try again",
                   (gint64)in_flight);
        refuse(msg, count, SOUP_STATUS_SERVICE_UNAVAILABLE, why);
    } else {
        in_flight += bytes;
        count->taken += bytes;
    }
}

static void on_chunk(SoupServerMessage *msg, GBytes *chunk, gpointer data)
{
    take(msg, data, (goffset)g_bytes_get_size(chunk));
}

static void on_finished(SoupServerMessage *msg, gpointer data)
{
    body_count *count = data;
    in_flight -= count->taken;
    count->taken = 0;
}

void ls_http_bodies_watch(SoupServerMessage *msg, goffset limit)
{
    SoupMessageHeaders *h = soup_server_message_get_request_headers(msg);
    SoupEncoding encoding = soup_message_headers_get_encoding(h);
    if (encoding != SOUP_ENCODING_CONTENT_LENGTH && encoding != SOUP_ENCODING_CHUNKED)
        return;   /* no body */
    body_count *count = g_new0(body_count, 1);
    count->limit = limit;
    g_signal_connect_data(msg, "finished", G_CALLBACK(on_finished), count,
                          (GClosureNotify)(void (*)(void))g_free, 0);
    if (encoding == SOUP_ENCODING_CONTENT_LENGTH)
        take(msg, count, soup_message_headers_get_content_length(h));   /* all of it, up front */
    else
        g_signal_connect(msg, "got-chunk", G_CALLBACK(on_chunk), count);
}
