/*
 * routes.c - the route table and the session lookup shared by the JSON routes.
 */
#include "server/routes.h"

#include "server/metrics.h"
#include "server/request.h"
#include "server/sse.h"

static const ls_route routes[] = {
    { "/offer", "POST", ls_route_offer, LS_HTTP_JSON_LIMIT },
    { "/human", "POST", ls_route_human, LS_HTTP_JSON_LIMIT },
    { "/humanaudio", "POST", ls_route_humanaudio, LS_HTTP_UPLOAD_LIMIT },
    { "/interrupt_talk", "POST", ls_route_interrupt, LS_HTTP_JSON_LIMIT },
    { "/is_speaking", "POST", ls_route_is_speaking, LS_HTTP_JSON_LIMIT },
    { "/set_audiotype", "POST", ls_route_set_audiotype, LS_HTTP_JSON_LIMIT },
    { "/record", "POST", ls_route_record, LS_HTTP_JSON_LIMIT },
    { "/record/", "GET", ls_route_record_download, 0 },
    { "/sse", "GET", ls_sse_route, 0 },
    { "/api/admin/sessions", "GET", ls_route_admin_sessions, 0 },
    { "/api/admin/config", "GET", ls_route_admin_config, 0 },
    { "/metrics", "GET", ls_route_metrics, 0 },
};

const ls_route *ls_routes(int *n)
{
    *n = (int)(sizeof routes / sizeof routes[0]);
    return routes;
}

ls_session *ls_route_session(ls_server *srv, SoupServerMessage *msg, ls_json **body)
{
    size_t len;
    const char *data = ls_http_body(msg, &len);
    ls_error err;
    char id[LS_REQUEST_ID_MAX];
    *body = NULL;
    if (ls_request_parse(data, len, body, &err) < 0 || ls_request_session_id(*body, id, &err) < 0) {
        ls_http_fail(msg, SOUP_STATUS_BAD_REQUEST, "%s", err.msg);
    } else {
        ls_session *s = ls_session_find(srv, id);
        if (s)
            return s;
        ls_http_fail(msg, SOUP_STATUS_NOT_FOUND, "unknown session '%s'", id);
    }
    ls_json_free(*body);
    *body = NULL;
    return NULL;
}
