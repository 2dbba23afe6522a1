/*
 * sse_parser.h - an incremental parser of server-sent events
 * (text/event-stream), as streamed chat-completion replies use them.
 *
 * Bytes are fed as they arrive, cut anywhere. Lines end with LF, CR or CRLF
 * (a CRLF split across two feeds counts once). "data:" lines accumulate
 * (joined with LF), "event:" sets the event name, lines starting with ':'
 * are comments, other fields ("id", "retry", unknown) are ignored; one
 * space after the colon is dropped. A blank line dispatches the event when
 * it has data. A line over LS_SSE_MAX_LINE bytes, or an event whose data
 * grows over LS_SSE_MAX_DATA, is an error (the stream is malformed).
 */
#ifndef LS_SPEECH_SSE_PARSER_H
#define LS_SPEECH_SSE_PARSER_H

#include <stddef.h>

#include "util/error.h"

#define LS_SSE_MAX_LINE (256 * 1024)
#define LS_SSE_MAX_DATA (1024 * 1024)

/* One event: `event` is its name ("message" when none was given), data is
 * NUL-terminated. Returns 0 to go on, or -1 (with err set) to stop. */
typedef int (*ls_sse_event_fn)(void *user, const char *event, const char *data, size_t len, ls_error *err);

typedef struct ls_sse_parser ls_sse_parser;

ls_sse_parser *ls_sse_parser_new(ls_sse_event_fn on_event, void *user);
void ls_sse_parser_free(ls_sse_parser *p);

/* 0, or -1 when the stream is malformed, memory ran out or the callback
 * stopped (err says which). After -1 the parser must not be fed again. */
int ls_sse_parser_feed(ls_sse_parser *p, const char *bytes, size_t n, ls_error *err);

#endif
