/*
 * test_sse_parser.c - server-sent events fed in pieces of every size: LF,
 * CR and CRLF line endings (CRLF cut between feeds), multi-line data,
 * comments, event names, fields without a value, unknown fields, a final
 * event without its blank line (not dispatched), and the line-length limit.
 */
#include <string.h>

#include <glib.h>

#include "check.h"
#include "speech/sse_parser.h"

static int collect(void *user, const char *event, const char *data, size_t len, ls_error *err)
{
    (void)err;
    CHECK(strlen(data) == len, "length %zu of '%s'", len, data);
    g_string_append_printf(user, "[%s:%s]", event, data);
    return 0;
}

static void expect(const char *stream, const char *want)
{
    size_t n = strlen(stream);
    for (size_t step = 1; step <= n; step++) {
        GString *got = g_string_new(NULL);
        ls_sse_parser *p = ls_sse_parser_new(collect, got);
        ls_error err;
        int rc = 0;
        for (size_t i = 0; i < n && rc == 0; i += step)
            rc = ls_sse_parser_feed(p, stream + i, n - i < step ? n - i : step, &err);
        CHECK(rc == 0 && strcmp(got->str, want) == 0, "step %zu: got '%s', want '%s'", step, got->str, want);
        ls_sse_parser_free(p);
        g_string_free(got, TRUE);
    }
}

static int stop(void *user, const char *event, const char *data, size_t len, ls_error *err)
{
    (void)user, (void)event, (void)data, (void)len;
    return ls_error_set(err, "stopped");
}

int main(void)
{
    expect("data: {\"a\": 1}\n\ndata: [DONE]\n\n", "[message:{\"a\": 1}][message:[DONE]]");
    expect("data: one\r\n\r\ndata: two\r\rdata: three\n\n", "[message:one][message:two][message:three]");
    expect("data: a\ndata:b\ndata\n\n", "[message:a\nb\n]");
    expect(": comment\nevent: delta\nid: 7\nretry: 10\nfoo: bar\ndata:  two spaces\n\n", "[delta: two spaces]");
    expect("event: empty\n\ndata: x\n\n", "[message:x]");
    expect("\n\n\r\n", "");
    expect("data: unfinished", "");
    expect("data: 你好，世界\n\n", "[message:你好，世界]");

    ls_sse_parser *p = ls_sse_parser_new(stop, NULL);
    ls_error err;
    CHECK(ls_sse_parser_feed(p, "data: x\n\n", 9, &err) < 0 && strcmp(err.msg, "stopped") == 0, "callback stop");
    ls_sse_parser_free(p);

    p = ls_sse_parser_new(collect, NULL);
    char *big = g_malloc(LS_SSE_MAX_LINE + 10);
    memset(big, 'x', LS_SSE_MAX_LINE + 10);
    int rc = 0;
    for (size_t i = 0; i < LS_SSE_MAX_LINE + 10 && rc == 0; i += 1000)
        rc = ls_sse_parser_feed(p, big + i, 1000 < LS_SSE_MAX_LINE + 10 - i ? 1000 : LS_SSE_MAX_LINE + 10 - i, &err);
    CHECK(rc < 0 && strstr(err.msg, "line is over"), "over-long line: %s", rc < 0 ? err.msg : "accepted");
    g_free(big);
    ls_sse_parser_free(p);
    return check_result("test_sse_parser");
}
