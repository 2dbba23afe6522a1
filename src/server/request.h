/*
 * request.h - reading the fields of a JSON request body.
 *
 * Every API request but /humanaudio is a JSON object. These helpers turn
 * the body into a parsed object and fetch typed fields, with messages that
 * name the field, for the 400 answers: "malformed JSON: ...", "missing
 * field 'text'", "field 'interrupt' must be true or false". They accept what
 * LiveTalking's clients send: `sessionid` as a string or an integer,
 * booleans also as 0/1 or "true"/"false".
 */
#ifndef LS_SERVER_REQUEST_H
#define LS_SERVER_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "util/json.h"

#define LS_REQUEST_ID_MAX 64   /* longest session id accepted (bytes, with the NUL) */

/* The body as a JSON object (free with ls_json_free). */
int ls_request_parse(const char *body, size_t len, ls_json **out, ls_error *err);

/* Each returns 1 when the field is there and converted, 0 when it is absent
 * and not required, -1 with a message otherwise. */
int ls_request_string(const ls_json *obj, const char *field, int required, const char **out, ls_error *err);
int ls_request_int(const ls_json *obj, const char *field, int required, int64_t *out, ls_error *err);
int ls_request_bool(const ls_json *obj, const char *field, int *out, ls_error *err);
/* A nested object (its fields read with the same helpers). */
int ls_request_object(const ls_json *obj, const char *field, int required, const ls_json **out, ls_error *err);

/* The required `sessionid` (a string, or an integer written in decimal). */
int ls_request_session_id(const ls_json *obj, char out[LS_REQUEST_ID_MAX], ls_error *err);

#endif
