/*
 * static_files.h - serving the browser client (web/) at /.
 *
 * GET / is index.html; GET /name serves the file of that name under the web
 * folder (--web_dir, by default the source tree's web/), so LiveTalking's
 * own pages can be served too by pointing --web_dir at them. Paths with
 * "..", hidden names or backslashes are refused; a missing file is a JSON
 * 404. Files are read whole (up to 16 MiB) with a type from the extension.
 */
#ifndef LS_SERVER_STATIC_FILES_H
#define LS_SERVER_STATIC_FILES_H

#include <libsoup/soup.h>

#include "server/server.h"

/* The built-in web client's folder. */
const char *ls_static_default_dir(void);

void ls_static_serve(ls_server *srv, SoupServerMessage *msg, const char *path);

#endif
