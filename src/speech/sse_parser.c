/*
 * sse_parser.c - server-sent events, incrementally (see sse_parser.h).
 *
 * Bytes collect in `line` until a line ending; each whole line is then
 * interpreted by its field name. `skip_lf` remembers a CR that ended the
 * last feed, so an LF starting the next one is not a second (blank) line.
 */
#include "speech/sse_parser.h"

#include <stdlib.h>
#include <string.h>

typedef struct grow_buf {
    char *p;
    size_t len, cap;
} grow_buf;

struct ls_sse_parser {
    ls_sse_event_fn on_event;
    void *user;
    grow_buf line, data, event;
    int has_data, skip_lf;
};

/* Appends n bytes and keeps the buffer NUL-terminated; -1 when out of memory. */
static int buf_append(grow_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

ls_sse_parser *ls_sse_parser_new(ls_sse_event_fn on_event, void *user)
{
    ls_sse_parser *p = calloc(1, sizeof *p);
    if (p) {
        p->on_event = on_event;
        p->user = user;
    }
    return p;
}

void ls_sse_parser_free(ls_sse_parser *p)
{
    if (!p)
        return;
    free(p->line.p);
    free(p->data.p);
    free(p->event.p);
    free(p);
}

static int dispatch(ls_sse_parser *p, ls_error *err)
{
    int rc = 0;
    if (p->has_data)
        rc = p->on_event(p->user, p->event.len ? p->event.p : "message", p->data.p, p->data.len, err);
    p->data.len = 0;
    p->event.len = 0;
    p->has_data = 0;
    return rc;
}

/* Interprets one complete line (without its ending). */
static int handle_line(ls_sse_parser *p, const char *line, size_t n, ls_error *err)
{
    if (n == 0)
        return dispatch(p, err);
    if (line[0] == ':')
        return 0;
    const char *colon = memchr(line, ':', n);
    size_t name_len = colon ? (size_t)(colon - line) : n;
    const char *value = colon ? colon + 1 : line + n;
    size_t value_len = (size_t)(line + n - value);
    if (value_len > 0 && value[0] == ' ') {
        value++;
        value_len--;
    }
    if (name_len == 4 && memcmp(line, "data", 4) == 0) {
        if (p->data.len + value_len + 1 > LS_SSE_MAX_DATA)
            return ls_error_set(err, "event stream: an event's data is over %d bytes", LS_SSE_MAX_DATA);
        if ((p->has_data && buf_append(&p->data, "\n", 1) < 0) || buf_append(&p->data, value, value_len) < 0)
            return ls_error_set(err, "event stream: out of memory");
        p->has_data = 1;
    } else if (name_len == 5 && memcmp(line, "event", 5) == 0) {
        p->event.len = 0;
        if (buf_append(&p->event, value, value_len) < 0)
            return ls_error_set(err, "event stream: out of memory");
    }
    return 0;
}

int ls_sse_parser_feed(ls_sse_parser *p, const char *bytes, size_t n, ls_error *err)
{
    size_t i = 0;
    if (p->skip_lf && n > 0) {
        p->skip_lf = 0;
        if (bytes[0] == '\n')
            i = 1;
    }
    while (i < n) {
        size_t start = i;
        while (i < n && bytes[i] != '\n' && bytes[i] != '\r')
            i++;
        if (p->line.len + (i - start) > LS_SSE_MAX_LINE)
            return ls_error_set(err, "event stream: a line is over %d bytes", LS_SSE_MAX_LINE);
        if (i == n) {  /* no line ending yet: keep the partial line */
            if (buf_append(&p->line, bytes + start, i - start) < 0)
                return ls_error_set(err, "event stream: out of memory");
            break;
        }
        int rc;
        if (p->line.len == 0) {
            rc = handle_line(p, bytes + start, i - start, err);
        } else {
            if (buf_append(&p->line, bytes + start, i - start) < 0)
                return ls_error_set(err, "event stream: out of memory");
            rc = handle_line(p, p->line.p, p->line.len, err);
            p->line.len = 0;
        }
        if (rc < 0)
            return -1;
        if (bytes[i] == '\r') {
            if (i + 1 == n)
                p->skip_lf = 1;
            else if (bytes[i + 1] == '\n')
                i++;
        }
        i++;
    }
    return 0;
}
