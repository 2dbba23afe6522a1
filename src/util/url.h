/*
 * url.h - showing a URL without its secrets.
 *
 * Push URLs carry credentials: user:password@ in the authority, stream keys
 * in the path (rtmp://host/live/KEY), tokens in the query. Logs, statuses
 * and /api/admin/config show only the scheme and the host (with its port):
 * "rtmp://host:1935/(redacted)". Anything that is not scheme://... shows as
 * "(redacted)".
 */
#ifndef LS_UTIL_URL_H
#define LS_UTIL_URL_H

#include <stddef.h>

/* Writes the redacted form of `url` into out (always terminated). */
void ls_url_redact(const char *url, char *out, size_t size);

#endif
