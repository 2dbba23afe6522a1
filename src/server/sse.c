/*
 * sse.c - event streams (see sse.h).
 *
 * A stream is a paused libsoup response with chunked encoding: appending to
 * its body and unpausing writes the chunk, after which libsoup pauses it
 * again by itself. The session's `streams` array owns the stream records;
 * the message's "finished" signal (client gone) removes one. A session
 * takes MAX_STREAMS at most (each holds a connection and its descriptor).
 */
#include "server/sse.h"

#include <string.h>

#include "server/http.h"

#define KEEPALIVE_S 15
#define MAX_STREAMS 8   /* per session: a page needs one; each holds a descriptor */

typedef struct stream {
    SoupServerMessage *msg;
    ls_session *session;
    gulong finished_handler;
    GSource *keepalive;
} stream;

static void write_chunk(stream *st, const char *text)
{
    soup_message_body_append(soup_server_message_get_response_body(st->msg), SOUP_MEMORY_COPY, text,
                             strlen(text));
    soup_server_message_unpause(st->msg);
}

static void stream_free(stream *st)
{
    g_signal_handler_disconnect(st->msg, st->finished_handler);
    g_source_destroy(st->keepalive);
    g_source_unref(st->keepalive);
    g_object_unref(st->msg);
    g_free(st);
}

static void on_finished(SoupServerMessage *msg, gpointer data)
{
    stream *st = data;
    g_ptr_array_remove_fast(st->session->streams, st);
    stream_free(st);
}

static gboolean on_keepalive(gpointer data)
{
    write_chunk(data, ": keepalive\n\n");
    return G_SOURCE_CONTINUE;
}

void ls_sse_route(ls_server *srv, SoupServerMessage *msg, const char *path, GHashTable *query)
{
    const char *id = query ? g_hash_table_lookup(query, "sessionid") : NULL;
    if (!id || !id[0]) {
        ls_http_fail(msg, SOUP_STATUS_BAD_REQUEST, "missing query parameter 'sessionid'");
        return;
    }
    ls_session *s = ls_session_find(srv, id);
    if (!s) {
        ls_http_fail(msg, SOUP_STATUS_NOT_FOUND, "unknown session '%.64s'", id);
        return;
    }
    if (s->streams->len >= MAX_STREAMS) {
        ls_http_fail(msg, 429 /* Too Many Requests */,
                     "session '%s' already has %d event streams open (the most)", s->id, MAX_STREAMS);
        return;
    }
    stream *st = g_new0(stream, 1);
    st->msg = g_object_ref(msg);
    st->session = s;
    soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
    SoupMessageHeaders *h = soup_server_message_get_response_headers(msg);
    soup_message_headers_set_content_type(h, "text/event-stream", NULL);
    soup_message_headers_replace(h, "Cache-Control", "no-cache");
    soup_message_headers_set_encoding(h, SOUP_ENCODING_CHUNKED);
    st->finished_handler = g_signal_connect(msg, "finished", G_CALLBACK(on_finished), st);
    st->keepalive = g_timeout_source_new_seconds(KEEPALIVE_S);
    g_source_set_callback(st->keepalive, on_keepalive, st, NULL);
    g_source_attach(st->keepalive, srv->context);
    g_ptr_array_add(s->streams, st);
    write_chunk(st, ": lipstream speech events\n\n");
}

void ls_sse_send(ls_session *s, const char *json)
{
    for (guint i = 0; i < s->streams->len; i++) {
        stream *st = g_ptr_array_index(s->streams, i);
        char *event = g_strdup_printf("data: %s\n\n", json);
        write_chunk(st, event);
        g_free(event);
    }
}

void ls_sse_close_all(ls_session *s)
{
    while (s->streams->len > 0) {
        stream *st = g_ptr_array_steal_index_fast(s->streams, s->streams->len - 1);
        SoupServerMessage *msg = g_object_ref(st->msg);
        stream_free(st);
        soup_message_body_complete(soup_server_message_get_response_body(msg));
        soup_server_message_unpause(msg);
        g_object_unref(msg);
    }
}
