/*
 * metrics.h - GET /metrics: the server's measurements in the Prometheus text
 * exposition format (version 0.0.4), for scrapers and dashboards.
 *
 * Per session (label session="<id>"): output and lip-sync frame rates, lag,
 * frames inside the engine, frames pushed by kind. Server-wide: sessions,
 * frames by kind (counters that include closed sessions), and per inference
 * worker (label worker="0"): frames, render calls, merged calls, silent
 * frames passed over, busy seconds, queue depth, recent frame rate and busy
 * fraction. The same figures appear in /api/admin/sessions (admin.c).
 */
#ifndef LS_SERVER_METRICS_H
#define LS_SERVER_METRICS_H

#include "live/producer.h"
#include "server/server.h"

void ls_route_metrics(ls_server *srv, SoupServerMessage *msg, const char *path, GHashTable *query);

/* Adds a closing session's frame counts to the server's totals. */
void ls_metrics_session_closed(ls_server *srv, ls_producer *producer);

#endif
