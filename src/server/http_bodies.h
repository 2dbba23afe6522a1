/*
 * http_bodies.h - the memory request bodies may take: each its route's
 * limit, all those being received at once LS_HTTP_BODIES_MAX.
 *
 * libsoup keeps a request's whole body in memory before the handler runs,
 * and goes on reading (and keeping) it even after an early handler has
 * answered: a body announced as 2 GB, or a chunked one that never ends,
 * used to fill the server's memory. A watched body is counted as it
 * arrives (a Content-Length is taken whole at once); past its route's limit
 * it is answered 413, and when the bodies in flight would pass
 * LS_HTTP_BODIES_MAX, 503 (the server is busy: try again). Either way the
 * rest of the body is read but not kept, and the connection closes after
 * the answer.
 */
#ifndef LS_SERVER_HTTP_BODIES_H
#define LS_SERVER_HTTP_BODIES_H

#include <libsoup/soup.h>

#define LS_HTTP_BODIES_MAX ((goffset)256 << 20)   /* four uploads at their limit */

/* Watches msg's body (from the early handler, on the main context). */
void ls_http_bodies_watch(SoupServerMessage *msg, goffset limit);

#endif
