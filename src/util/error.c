/*
 * error.c - formatting for ls_error (see error.h).
 */
#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int ls_error_set(ls_error *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int ls_error_prefix(ls_error *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    char prefix[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    char inner[sizeof err->msg];
    memcpy(inner, err->msg, sizeof inner);
    snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, inner);
    return -1;
}
