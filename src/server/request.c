/*
 * request.c - typed fields of JSON request bodies (see request.h).
 */
#include "server/request.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

int ls_request_parse(const char *body, size_t len, ls_json **out, ls_error *err)
{
    if (len == 0)
        return ls_error_set(err, "empty body (a JSON object expected)");
    if (ls_json_parse(body, len, out, err) < 0)
        return ls_error_prefix(err, "malformed JSON");
    if ((*out)->kind != LS_JSON_OBJECT) {
        ls_json_free(*out);
        *out = NULL;
        return ls_error_set(err, "the body must be a JSON object");
    }
    return 0;
}

static const ls_json *field_value(const ls_json *obj, const char *field, int required, int *rc, ls_error *err)
{
    const ls_json *v = ls_json_get(obj, field);
    if (!v || v->kind == LS_JSON_NULL) {
        *rc = required ? ls_error_set(err, "missing field '%s'", field) : 0;
        return NULL;
    }
    *rc = 1;
    return v;
}

int ls_request_string(const ls_json *obj, const char *field, int required, const char **out, ls_error *err)
{
    int rc;
    const ls_json *v = field_value(obj, field, required, &rc, err);
    if (!v)
        return rc;
    if (v->kind != LS_JSON_STRING)
        return ls_error_set(err, "field '%s' must be a string", field);
    *out = v->u.str.s;
    return 1;
}

int ls_request_int(const ls_json *obj, const char *field, int required, int64_t *out, ls_error *err)
{
    int rc;
    const ls_json *v = field_value(obj, field, required, &rc, err);
    if (!v)
        return rc;
    if (v->kind != LS_JSON_NUMBER || v->u.n != floor(v->u.n) || fabs(v->u.n) > 9007199254740992.0)
        return ls_error_set(err, "field '%s' must be an integer", field);
    *out = (int64_t)v->u.n;
    return 1;
}

int ls_request_bool(const ls_json *obj, const char *field, int *out, ls_error *err)
{
    int rc;
    const ls_json *v = field_value(obj, field, 0, &rc, err);
    if (!v)
        return rc;
    if (v->kind == LS_JSON_BOOL) {
        *out = v->u.b;
        return 1;
    }
    if (v->kind == LS_JSON_NUMBER && (v->u.n == 0 || v->u.n == 1)) {
        *out = v->u.n == 1;
        return 1;
    }
    if (v->kind == LS_JSON_STRING && (strcmp(v->u.str.s, "true") == 0 || strcmp(v->u.str.s, "false") == 0)) {
        *out = v->u.str.s[0] == 't';
        return 1;
    }
    return ls_error_set(err, "field '%s' must be true or false", field);
}

int ls_request_object(const ls_json *obj, const char *field, int required, const ls_json **out, ls_error *err)
{
    int rc;
    const ls_json *v = field_value(obj, field, required, &rc, err);
    if (!v)
        return rc;
    if (v->kind != LS_JSON_OBJECT)
        return ls_error_set(err, "field '%s' must be an object", field);
    *out = v;
    return 1;
}

int ls_request_session_id(const ls_json *obj, char out[LS_REQUEST_ID_MAX], ls_error *err)
{
    int rc;
    const ls_json *v = field_value(obj, "sessionid", 1, &rc, err);
    if (!v)
        return -1;
    if (v->kind == LS_JSON_NUMBER) {
        int64_t n;
        if (ls_request_int(obj, "sessionid", 1, &n, err) < 0)
            return ls_error_set(err, "field 'sessionid' must be a string or an integer");
        snprintf(out, LS_REQUEST_ID_MAX, "%" PRId64, n);
        return 1;
    }
    if (v->kind != LS_JSON_STRING)
        return ls_error_set(err, "field 'sessionid' must be a string or an integer");
    if (v->u.str.len == 0 || v->u.str.len >= LS_REQUEST_ID_MAX)
        return ls_error_set(err, "field 'sessionid': '%.80s' is not a session id", v->u.str.s);
    memcpy(out, v->u.str.s, v->u.str.len + 1);
    return 1;
}
