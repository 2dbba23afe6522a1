/*
 * url.c - redacting URLs (see url.h).
 */
#include "util/url.h"

#include <stdio.h>
#include <string.h>

void ls_url_redact(const char *url, char *out, size_t size)
{
    const char *scheme_end = strstr(url, "://");
    if (!scheme_end || scheme_end == url) {
        snprintf(out, size, "(redacted)");
        return;
    }
    const char *host = scheme_end + 3, *end = host + strcspn(host, "/?#");
    const char *at = memrchr(host, '@', (size_t)(end - host));   /* the password may hold '@' */
    if (at)
        host = at + 1;
    snprintf(out, size, "%.*s%.*s%s", (int)(scheme_end + 3 - url), url, (int)(end - host), host,
             *end ? "/(redacted)" : "");
}
