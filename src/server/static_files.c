/*
 * static_files.c - the web client's files (see static_files.h).
 */
#include "server/static_files.h"

#include <string.h>

#include "server/http.h"

#ifndef LS_WEB_DIR
#define LS_WEB_DIR "web"
#endif

#define MAX_FILE (16 << 20)

const char *ls_static_default_dir(void)
{
    return LS_WEB_DIR;
}

static const char *content_type(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        { ".html", "text/html; charset=utf-8" }, { ".js", "text/javascript; charset=utf-8" },
        { ".css", "text/css; charset=utf-8" },   { ".json", "application/json" },
        { ".png", "image/png" },                 { ".jpg", "image/jpeg" },
        { ".svg", "image/svg+xml" },             { ".ico", "image/x-icon" },
        { ".wav", "audio/wav" },                 { ".txt", "text/plain; charset=utf-8" },
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (g_ascii_strcasecmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

/* 1 when every segment of the path is a plain name. */
static int safe_path(const char *path)
{
    if (strchr(path, '\\'))
        return 0;
    for (const char *seg = path; seg; seg = strchr(seg + 1, '/'))
        if (seg[1] == '.')
            return 0;
    return 1;
}

void ls_static_serve(ls_server *srv, SoupServerMessage *msg, const char *path)
{
    if (strcmp(path, "/") == 0)
        path = "/index.html";
    if (!safe_path(path)) {
        ls_http_fail(msg, SOUP_STATUS_NOT_FOUND, "not found: %s", path);
        return;
    }
    char *file = g_strconcat(srv->web_dir, path, NULL);
    gchar *data = NULL;
    gsize len = 0;
    if (!g_file_test(file, G_FILE_TEST_IS_REGULAR) || !g_file_get_contents(file, &data, &len, NULL) ||
        len > MAX_FILE) {
        ls_http_fail(msg, SOUP_STATUS_NOT_FOUND, "not found: %s", path);
    } else {
        soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
        soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Cache-Control", "no-cache");
        soup_server_message_set_response(msg, content_type(path), SOUP_MEMORY_TAKE, data, len);
        data = NULL;
    }
    g_free(data);
    g_free(file);
}
