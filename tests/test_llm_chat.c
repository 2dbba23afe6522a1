/*
 * test_llm_chat.c - the streamed chat client against a local test server
 * (tests/speech/llm_server.py, a Python http.server speaking the
 * chat-completions event stream, cut into 7-byte writes): the pieces of a
 * mixed Chinese/English reply, the API key from the environment, history
 * (bounded) and the system prompt, and every failure - HTTP errors, an
 * unreachable service, a malformed stream, an error event, a stall (timeout),
 * a stream ending early - each ending in one on_done; then cancelling a
 * reply in flight. Usage: test_llm_chat PYTHON SERVER_SCRIPT
 */
#include <stdlib.h>
#include <string.h>

#include <gio/gio.h>

#include "check.h"
#include "test_server.h"
#include "speech/llm_chat.h"

typedef struct reply {
    GString *pieces;
    int started, done_calls;
    ls_llm_status status;
    char error[512];
    ls_llm_chat *cancel_after_first;   /* cancels from on_piece when set */
} reply;

static void on_started(void *user)
{
    ((reply *)user)->started++;
}

static int on_piece(void *user, const char *piece)
{
    reply *r = user;
    g_string_append_printf(r->pieces, "%s%s", r->pieces->len ? "|" : "", piece);
    return 0;
}

static void on_done(void *user, ls_llm_status status, const ls_error *err)
{
    reply *r = user;
    r->done_calls++;
    r->status = status;
    g_strlcpy(r->error, err ? err->msg : "", sizeof r->error);
}

static const ls_llm_callbacks fns = { on_started, on_piece, on_done };

static gboolean on_timeout(gpointer user)
{
    *(int *)user = 1;
    return G_SOURCE_REMOVE;
}

/* Runs the main context until the reply is done (or 10 s passed); returns the seconds taken. */
static double wait_done(reply *r)
{
    int timed_out = 0;
    guint timer = g_timeout_add(10000, on_timeout, &timed_out);
    gint64 t0 = g_get_monotonic_time();
    while (!r->done_calls && !timed_out)
        g_main_context_iteration(NULL, TRUE);
    if (!timed_out)
        g_source_remove(timer);
    CHECK(!timed_out, "no on_done within 10 s");
    return (double)(g_get_monotonic_time() - t0) / 1e6;
}

static ls_llm_chat *chat_for(int port, const char *scenario, int history, const char *system_prompt)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/%s/v1", port, scenario);
    ls_llm_config cfg = { url, "test-model", "LS_TEST_LLM_KEY", system_prompt, history, 1 };
    return ls_llm_chat_new(&cfg);
}

/* One question; checks the outcome and, on failure, that the error holds `error_part`. */
static void ask(ls_llm_chat *c, const char *question, ls_llm_status want, const char *error_part, reply *r)
{
    *r = (reply){ .pieces = g_string_new(NULL) };
    ls_error err;
    CHECK(ls_llm_chat_ask(c, question, &fns, r, &err) == 0, "ask: %s", err.msg);
    double s = wait_done(r);
    CHECK(r->done_calls == 1 && r->status == want, "'%s': status %d (want %d), %d on_done, error '%s'", question,
          r->status, want, r->done_calls, r->error);
    if (error_part)
        CHECK(strstr(r->error, error_part), "error '%s' lacks '%s'", r->error, error_part);
    printf("%-12s %.2f s  pieces '%s'  error '%s'\n", question, s, r->pieces->str, r->error);
}

static void test_scenario(int port, const char *scenario, ls_llm_status want, const char *error_part)
{
    ls_llm_chat *c = chat_for(port, scenario, 4, NULL);
    reply r;
    ask(c, scenario, want, error_part, &r);
    CHECK(r.started == (strstr(scenario, "error5") || strstr(scenario, "down") ? 0 : 1), "%s: started %d",
          scenario, r.started);
    CHECK(ls_llm_chat_history_len(c) == 0, "a failed turn was remembered");
    g_string_free(r.pieces, TRUE);
    ls_llm_chat_free(c);
}

static void test_reply_and_key(int port)
{
    ls_llm_chat *c = chat_for(port, "auth", 4, NULL);
    reply r;
    unsetenv("LS_TEST_LLM_KEY");
    ask(c, "no key", LS_LLM_FAILED, "HTTP 401", &r);
    g_string_free(r.pieces, TRUE);
    setenv("LS_TEST_LLM_KEY", "test-key", 1);
    ask(c, "with key", LS_LLM_OK, NULL, &r);
    CHECK(strcmp(r.pieces->str, "你好，我是lipstream的测试。|Nice to meet you!| How are you today?| "
                                "我很好：谢谢。End") == 0,
          "pieces '%s'", r.pieces->str);
    ls_llm_timings t = ls_llm_chat_timings(c);
    printf("timings: first piece %.3f s, last %.3f s, %zu bytes\n", t.first_piece_s, t.last_piece_s, t.reply_bytes);
    CHECK(t.first_piece_s >= 0 && t.last_piece_s >= t.first_piece_s && t.reply_bytes == r.pieces->len - 3 /* the separators */, "timings");
    g_string_free(r.pieces, TRUE);
    ls_llm_chat_free(c);
}

static void test_history(int port)
{
    ls_llm_chat *c = chat_for(port, "count", 2, "Be brief.");
    const char *want[] = { "users=1 system=Be brief.", "users=2 system=Be brief.", "users=3 system=Be brief.",
                           "users=3 system=Be brief." };
    for (int i = 0; i < 4; i++) {
        reply r;
        ask(c, "count", LS_LLM_OK, NULL, &r);
        CHECK(strcmp(r.pieces->str, want[i]) == 0, "turn %d: '%s', want '%s'", i, r.pieces->str, want[i]);
        g_string_free(r.pieces, TRUE);
    }
    CHECK(ls_llm_chat_history_len(c) == 2, "history %d turns, bound 2", ls_llm_chat_history_len(c));
    ls_llm_chat_free(c);
}

/* Cancel while pieces stream: on_done at once, nothing after; a new ask works; free while in flight. */
static void test_cancel(int port)
{
    ls_llm_chat *c = chat_for(port, "slow", 4, NULL);
    reply r = { .pieces = g_string_new(NULL) };
    ls_error err;
    CHECK(ls_llm_chat_ask(c, "slow", &fns, &r, &err) == 0, "ask");
    CHECK(ls_llm_chat_ask(c, "again", &fns, &r, &err) < 0 && strstr(err.msg, "still"), "second ask accepted");
    while (r.pieces->len == 0)
        g_main_context_iteration(NULL, TRUE);
    ls_llm_chat_cancel(c);
    CHECK(r.done_calls == 1 && r.status == LS_LLM_CANCELLED && !ls_llm_chat_busy(c), "cancel: %d on_done, status %d",
          r.done_calls, r.status);
    size_t len = r.pieces->len;
    for (int i = 0; i < 40; i++)   /* let the cancelled request's callback run */
        g_main_context_iteration(NULL, FALSE), g_usleep(10000);
    CHECK(r.pieces->len == len && r.done_calls == 1, "pieces after cancel");
    g_string_free(r.pieces, TRUE);

    r = (reply){ .pieces = g_string_new(NULL) };
    CHECK(ls_llm_chat_ask(c, "slow", &fns, &r, &err) == 0, "ask after cancel");
    g_main_context_iteration(NULL, TRUE);
    ls_llm_chat_free(c);
    CHECK(r.done_calls == 1 && r.status == LS_LLM_CANCELLED, "free in flight: %d on_done", r.done_calls);
    for (int i = 0; i < 20; i++)
        g_main_context_iteration(NULL, FALSE), g_usleep(10000);
    g_string_free(r.pieces, TRUE);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_llm_chat PYTHON llm_server.py\n");
        return 2;
    }
    GSubprocess *server;
    int port = test_server_start(argv[1], argv[2], &server);
    CHECK(port > 0, "no port from the test server");
    if (port > 0) {
        test_reply_and_key(port);
        test_history(port);
        test_scenario(port, "error500", LS_LLM_FAILED, "HTTP 500");
        test_scenario(port, "malformed", LS_LLM_FAILED, "malformed reply stream");
        test_scenario(port, "errorevent", LS_LLM_FAILED, "quota exceeded");
        test_scenario(port, "stall", LS_LLM_FAILED, "reading the reply");
        test_scenario(port, "eof", LS_LLM_FAILED, "ended before");
        test_cancel(port);
    }
    test_server_stop(server);

    /* Nothing listens on port 1. */
    test_scenario(1, "down", LS_LLM_FAILED, "cannot reach");
    return check_result("test_llm_chat");
}
