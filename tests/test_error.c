/*
 * test_error.c - the error value: messages, prefixes (kept whole or cut at
 * the buffer's end) and the failure's kind, which a prefix keeps and a new
 * message resets.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "util/error.h"

int main(void)
{
    ls_error err;
    CHECK(ls_error_set(&err, "frame %d: %s", 3, "truncated") == -1, "ls_error_set returns -1");
    CHECK(strcmp(err.msg, "frame 3: truncated") == 0 && err.kind == LS_ERROR_FAILED, "set: '%s' kind %d",
          err.msg, (int)err.kind);

    CHECK(ls_error_exhausted(&err, "out of %s memory", "cuda") == -1, "ls_error_exhausted returns -1");
    CHECK(ls_error_prefix(&err, "session %s", "ab12") == -1, "ls_error_prefix returns -1");
    CHECK(strcmp(err.msg, "session ab12: out of cuda memory") == 0 && err.kind == LS_ERROR_EXHAUSTED,
          "a prefix keeps the message and the kind: '%s' kind %d", err.msg, (int)err.kind);

    ls_error_set(&err, "plain");
    CHECK(err.kind == LS_ERROR_FAILED, "a new message resets the kind (%d)", (int)err.kind);

    char wide[700];
    memset(wide, 'x', sizeof wide - 1);
    wide[sizeof wide - 1] = '\0';
    ls_error_set(&err, "inner");
    ls_error_prefix(&err, "%s", wide);
    CHECK(strlen(err.msg) == sizeof err.msg - 1 && err.msg[0] == 'x', "a long prefix is cut at %zu bytes (%zu)",
          sizeof err.msg - 1, strlen(err.msg));
    ls_error_set(&err, "%s", wide);
    ls_error_prefix(&err, "outer");
    CHECK(strncmp(err.msg, "outer: xxx", 10) == 0 && strlen(err.msg) == sizeof err.msg - 1,
          "a long message is cut after its prefix: '%.12s' (%zu bytes)", err.msg, strlen(err.msg));

    CHECK(ls_error_set(NULL, "nowhere") == -1 && ls_error_exhausted(NULL, "nowhere") == -1 &&
              ls_error_prefix(NULL, "nowhere") == -1,
          "a NULL error is allowed");
    return check_result("test_error");
}
