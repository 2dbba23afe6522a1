/*
 * test_server.h - starting a local Python test server (in tests/speech)
 * from a C test: the script prints its port on its first line of stdout.
 */
#ifndef LS_TESTS_TEST_SERVER_H
#define LS_TESTS_TEST_SERVER_H

#include <stdio.h>
#include <stdlib.h>

#include <gio/gio.h>

/* The server's port, or 0 (with a message) when it did not start. */
static inline int test_server_start(const char *python, const char *script, GSubprocess **out)
{
    GError *gerr = NULL;
    *out = g_subprocess_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE, &gerr, python, script, NULL);
    if (!*out) {
        fprintf(stderr, "cannot start %s: %s\n", script, gerr->message);
        g_error_free(gerr);
        return 0;
    }
    GDataInputStream *lines = g_data_input_stream_new(g_subprocess_get_stdout_pipe(*out));
    char *line = g_data_input_stream_read_line(lines, NULL, NULL, NULL);
    int port = line ? atoi(line) : 0;
    g_free(line);
    g_object_unref(lines);
    if (!port)
        fprintf(stderr, "%s printed no port\n", script);
    return port;
}

static inline void test_server_stop(GSubprocess *server)
{
    if (!server)
        return;
    g_subprocess_force_exit(server);
    g_subprocess_wait(server, NULL, NULL);
    g_object_unref(server);
}

#endif
