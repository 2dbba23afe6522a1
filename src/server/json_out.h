/*
 * json_out.h - writing JSON answers into a GString.
 *
 * Only strings need care: ls_json_append_string writes a quoted JSON string
 * with ", \ and control characters escaped (UTF-8 passes through; invalid
 * UTF-8 bytes become U+FFFD so the answer stays valid JSON). Numbers and
 * literals are written with g_string_append_printf by the callers.
 */
#ifndef LS_SERVER_JSON_OUT_H
#define LS_SERVER_JSON_OUT_H

#include <glib.h>

void ls_json_append_string(GString *out, const char *s);

/* {"code": code, "msg": msg} */
GString *ls_json_result(int code, const char *msg);

#endif
