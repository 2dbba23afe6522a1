/*
 * json_out.c - JSON string escaping (see json_out.h).
 */
#include "server/json_out.h"

#include <string.h>

static void append_escaped(GString *out, const char *s, size_t n)
{
    for (const unsigned char *p = (const unsigned char *)s, *end = p + n; p < end; p++) {
        switch (*p) {
        case '"': g_string_append(out, "\\\""); break;
        case '\\': g_string_append(out, "\\\\"); break;
        case '\n': g_string_append(out, "\\n"); break;
        case '\r': g_string_append(out, "\\r"); break;
        case '\t': g_string_append(out, "\\t"); break;
        default:
            if (*p < 0x20)
                g_string_append_printf(out, "\\u%04x", *p);
            else
                g_string_append_c(out, (char)*p);
        }
    }
}

void ls_json_append_string(GString *out, const char *s)
{
    size_t n = strlen(s);
    g_string_append_c(out, '"');
    while (n > 0) {
        const char *bad;
        size_t valid = g_utf8_validate(s, (gssize)n, &bad) ? n : (size_t)(bad - s);
        append_escaped(out, s, valid);
        s += valid;
        n -= valid;
        if (n > 0) {  /* an invalid byte */
            g_string_append(out, "\\ufffd");
            s++;
            n--;
        }
    }
    g_string_append_c(out, '"');
}

GString *ls_json_result(int code, const char *msg)
{
    GString *out = g_string_new(NULL);
    g_string_append_printf(out, "{\"code\": %d, \"msg\": ", code);
    ls_json_append_string(out, msg);
    g_string_append_c(out, '}');
    return out;
}
