/*
 * sse.h - server-sent events: a session's speech events as a text/event-stream.
 *
 * GET /sse?sessionid=ID keeps the response open (chunked) and writes one
 * "data: {json}\n\n" per event, e.g. {"status": "start", "text": "Hello."},
 * plus a comment line every 15 s so dead connections are noticed. A
 * stream ends when the client leaves or the session closes.
 */
#ifndef LS_SERVER_SSE_H
#define LS_SERVER_SSE_H

#include "server/sessions.h"

void ls_sse_route(ls_server *srv, SoupServerMessage *msg, const char *path, GHashTable *query);

/* Sends one event (a JSON object) to the session's streams. */
void ls_sse_send(ls_session *s, const char *json);

/* Ends the session's streams. */
void ls_sse_close_all(ls_session *s);

#endif
