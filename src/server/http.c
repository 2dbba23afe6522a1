/*
 * http.c - dispatching requests to routes, and JSON answers (see http.h).
 *
 * Every response closes its connection ("Connection: close"): libsoup 3.2
 * (Debian 12) never closes a kept-alive connection that its client closes
 * while idle between requests, as browsers and HTTP libraries do; its
 * socket stays in CLOSE_WAIT, one file descriptor per connection, until the
 * server can accept no more (fixed in libsoup 3.3). A new connection per
 * request costs a loopback or LAN round trip, nothing next to a session.
 * A connection whose socket waits IDLE_TIMEOUT_S for its peer (a request
 * that never comes or stops half-way) is closed, so idle connections cannot
 * pile up until the server runs out of descriptors; a response the server
 * holds (a paused message) or an event stream between keepalives waits on
 * no read, and stays.
 */
#include "server/http.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "server/http_bodies.h"
#include "server/json_out.h"
#include "server/static_files.h"

#define IDLE_TIMEOUT_S 20   /* seconds a connection may wait for its peer */
#define OTHER_BODY_LIMIT (64 << 10)   /* requests matching no route */

typedef struct http_table {
    ls_server *srv;
    const ls_route *routes;
    int n;
} http_table;

void ls_http_reply(SoupServerMessage *msg, guint status, GString *json)
{
    soup_server_message_set_status(msg, status, NULL);
    gsize len = json->len;
    soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_TAKE, g_string_free(json, FALSE),
                                     len);
}

void ls_http_ok(SoupServerMessage *msg)
{
    ls_http_reply(msg, SOUP_STATUS_OK, ls_json_result(0, "ok"));
}

void ls_http_fail(SoupServerMessage *msg, guint status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    ls_http_reply(msg, status, ls_json_result(-1, text));
    g_free(text);
}

const char *ls_http_body(SoupServerMessage *msg, size_t *len)
{
    SoupMessageBody *body = soup_server_message_get_request_body(msg);
    g_bytes_unref(soup_message_body_flatten(body));  /* fills body->data */
    *len = (size_t)body->length;
    return body->data ? body->data : "";
}

static int path_matches(const ls_route *r, const char *path)
{
    size_t n = strlen(r->path);
    return r->path[n - 1] == '/' ? strncmp(path, r->path, n) == 0 && path[n] : strcmp(path, r->path) == 0;
}

/* The route for (path, method); when only the method is wrong, *allow lists
 * the methods the path takes. */
static const ls_route *find_route(const http_table *t, const char *path, const char *method, GString *allow)
{
    for (int i = 0; i < t->n; i++) {
        if (!path_matches(&t->routes[i], path))
            continue;
        if (strcmp(t->routes[i].method, method) == 0 ||
            (strcmp(method, "HEAD") == 0 && strcmp(t->routes[i].method, "GET") == 0))
            return &t->routes[i];
        if (allow)
            g_string_append_printf(allow, "%s%s", allow->len ? ", " : "", t->routes[i].method);
    }
    return NULL;
}

void ls_http_allow_cross_origin(SoupServerMessage *msg)
{
    soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Access-Control-Allow-Origin",
                                 "*");
}

static goffset body_limit(const http_table *t, const char *path, const char *method)
{
    const ls_route *r = find_route(t, path, method, NULL);
    return r ? r->max_body : OTHER_BODY_LIMIT;
}

/* Before the body is read: watch its size (server/http_bodies.h). */
static void on_headers(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
                       gpointer data)
{
    ls_http_bodies_watch(msg, body_limit(data, path, soup_server_message_get_method(msg)));
}

static void on_request(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
                       gpointer data)
{
    const http_table *t = data;
    if (soup_server_message_get_status(msg) != 0)
        return;   /* its body was refused (server/http_bodies.h) */
    ls_http_allow_cross_origin(msg);
    const char *method = soup_server_message_get_method(msg);
    if (strcmp(method, "OPTIONS") == 0) {
        SoupMessageHeaders *h = soup_server_message_get_response_headers(msg);
        soup_message_headers_replace(h, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
        soup_message_headers_replace(h, "Access-Control-Allow-Headers", "Content-Type");
        soup_server_message_set_status(msg, SOUP_STATUS_NO_CONTENT, NULL);
        return;
    }
    GString *allow = g_string_new(NULL);
    const ls_route *r = find_route(t, path, method, allow);
    if (!r && allow->len) {
        soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Allow", allow->str);
        ls_http_fail(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "%s takes %s, not %s", path, allow->str, method);
    } else if (!r && (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)) {
        ls_static_serve(t->srv, msg, path);
    } else if (!r) {
        ls_http_fail(msg, SOUP_STATUS_NOT_FOUND, "no such endpoint: %s %s", method, path);
    } else {
        r->handler(t->srv, msg, path, query);
    }
    g_string_free(allow, TRUE);
}

static void on_request_started(SoupServer *server, SoupServerMessage *msg, gpointer data)
{
    soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Connection", "close");
    GSocket *sock = soup_server_message_get_socket(msg);
    if (sock)
        g_socket_set_timeout(sock, IDLE_TIMEOUT_S);
}

void ls_http_install(ls_server *srv, const ls_route *routes, int nroutes)
{
    http_table *t = g_new0(http_table, 1);
    t->srv = srv;
    t->routes = routes;
    t->n = nroutes;
    g_signal_connect(srv->soup, "request-started", G_CALLBACK(on_request_started), NULL);
    soup_server_add_early_handler(srv->soup, NULL, on_headers, t, NULL);
    soup_server_add_handler(srv->soup, NULL, on_request, t, g_free);
}
