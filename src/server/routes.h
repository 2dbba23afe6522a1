/*
 * routes.h - the HTTP API (spec/api.md) and where each endpoint lives.
 *
 *   POST /offer               routes_offer.c     open a session (WebRTC answer)
 *   POST /human               routes_speech.c    speak text (echo; chat needs an LLM)
 *   POST /humanaudio          routes_upload.c    speak an uploaded WAV (multipart)
 *   POST /interrupt_talk      routes_speech.c    stop speaking now
 *   POST /is_speaking         routes_speech.c    {"code": 0, "data": true|false}
 *   POST /set_audiotype       routes_speech.c    action clips (not available yet)
 *   POST /record, GET /record/{id}  routes_record.c  recording (server/session_outputs.h)
 *   GET  /sse?sessionid=      sse.c              speech events
 *   GET  /api/admin/sessions, /api/admin/config   admin.c
 *   GET  /, /file             static_files.c     the web client
 */
#ifndef LS_SERVER_ROUTES_H
#define LS_SERVER_ROUTES_H

#include "server/http.h"
#include "server/sessions.h"
#include "util/json.h"

/* The route table. */
const ls_route *ls_routes(int *n);

/* For JSON routes taking a session: parses the body and finds the session
 * named by its `sessionid`. On failure the answer (400 or 404) is sent and
 * NULL returned; on success the caller frees *body. */
ls_session *ls_route_session(ls_server *srv, SoupServerMessage *msg, ls_json **body);

void ls_route_offer(ls_server *srv, SoupServerMessage *msg, const char *path, GHashTable *query);
void ls_route_human(ls_server *srv, SoupServerMessage *msg, const char *path, GHashTable *query);
void ls_route_humanaudio(ls_server *srv, SoupServerMessage *msg, const char *path, GHashTable *query);
void ls_route_interrupt(ls_server *srv, SoupServerMessage *msg, const char *path, GHashTable *query);
void ls_route_is_speaking(ls_server *srv, SoupServerMessage *msg, const char *path, GHashTable *query);
void ls_route_set_audiotype(ls_server *srv, SoupServerMessage *msg, const char *path, GHashTable *query);
void ls_route_record(ls_server *srv, SoupServerMessage *msg, const char *path, GHashTable *query);
void ls_route_record_download(ls_server *srv, SoupServerMessage *msg, const char *path, GHashTable *query);
void ls_route_admin_sessions(ls_server *srv, SoupServerMessage *msg, const char *path, GHashTable *query);
void ls_route_admin_config(ls_server *srv, SoupServerMessage *msg, const char *path, GHashTable *query);

#endif
