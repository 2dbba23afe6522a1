/*
 * http.h - request dispatch and JSON answers on the libsoup server.
 *
 * Routes are a table of (path, method, handler, body limit). One libsoup
 * handler dispatches every request: an exact path match (or a prefix route
 * such as "/record/"), with the wrong method, is 405 with an Allow header;
 * no route at all falls through to the static web client for GET and HEAD,
 * and is 404 otherwise. An early handler watches each body against the
 * route's limit and the memory of all bodies in flight (413 or 503 before
 * the handler runs; server/http_bodies.h). Every answer carries
 * "Access-Control-Allow-Origin: *", and OPTIONS preflights are answered, as
 * LiveTalking does, so pages served elsewhere can use the API.
 *
 * Error answers are JSON: {"code": -1, "msg": "..."} with the HTTP status.
 */
#ifndef LS_SERVER_HTTP_H
#define LS_SERVER_HTTP_H

#include <libsoup/soup.h>

#include "server/server.h"
#include "util/error.h"

typedef void (*ls_route_handler)(ls_server *srv, SoupServerMessage *msg, const char *path, GHashTable *query);

typedef struct ls_route {
    const char *path;          /* exact, or a prefix when it ends in '/' */
    const char *method;
    ls_route_handler handler;
    goffset max_body;          /* bytes */
} ls_route;

#define LS_HTTP_JSON_LIMIT (1 << 20)          /* JSON requests: 1 MiB */
#define LS_HTTP_UPLOAD_LIMIT (64 << 20)       /* /humanaudio: 64 MiB */

void ls_http_install(ls_server *srv, const ls_route *routes, int nroutes);

/* Sends `json` (taken over) with `status`. */
void ls_http_reply(SoupServerMessage *msg, guint status, GString *json);
/* {"code": 0, "msg": "ok"} */
void ls_http_ok(SoupServerMessage *msg);
/* {"code": -1, "msg": ...} with `status`. */
void ls_http_fail(SoupServerMessage *msg, guint status, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* "Access-Control-Allow-Origin: *" on msg's answer. */
void ls_http_allow_cross_origin(SoupServerMessage *msg);

/* The request body (valid while msg is); *len its size. */
const char *ls_http_body(SoupServerMessage *msg, size_t *len);

#endif
