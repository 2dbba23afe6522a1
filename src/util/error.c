/*
 * error.c - formatting for ls_error (see error.h).
 */
#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int set_message(ls_error *err, ls_error_kind kind, const char *fmt, va_list ap)
{
    if (!err)
        return -1;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    err->kind = kind;
    return -1;
}

int ls_error_set(ls_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_message(err, LS_ERROR_FAILED, fmt, ap);
    va_end(ap);
    return -1;
}

int ls_error_exhausted(ls_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_message(err, LS_ERROR_EXHAUSTED, fmt, ap);
    va_end(ap);
    return -1;
}

int ls_error_prefix(ls_error *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    char out[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, sizeof out, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    size_t used = (size_t)n < sizeof out ? (size_t)n : sizeof out - 1;
    /* Append ": <old message>", cut at the buffer's end. */
    size_t room = sizeof out - used;
    if (room > 2) {
        memcpy(out + used, ": ", 2);
        used += 2;
        size_t inner = strnlen(err->msg, sizeof err->msg);
        if (inner > sizeof out - 1 - used)
            inner = sizeof out - 1 - used;
        memcpy(out + used, err->msg, inner);
        used += inner;
    }
    out[used] = '\0';
    memcpy(err->msg, out, used + 1);
    return -1;
}
