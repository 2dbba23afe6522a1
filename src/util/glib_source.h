/*
 * glib_source.h - stopping a GSource that the caller holds a reference on.
 *
 * Timers and watches kept in a struct (GSource *, attached with
 * g_source_attach and still referenced) are removed from their context and
 * released in one step, and the pointer is cleared so that doing it twice is
 * harmless.
 */
#ifndef LS_UTIL_GLIB_SOURCE_H
#define LS_UTIL_GLIB_SOURCE_H

#include <glib.h>

static inline void ls_source_clear(GSource **s)
{
    if (*s) {
        g_source_destroy(*s);
        g_source_unref(*s);
        *s = NULL;
    }
}

#endif
