/*
 * test_reply_chunks.c - cutting a streamed reply into pieces to speak: mixed
 * Chinese and English, the 10-character rule, UTF-8 characters cut across
 * deltas at every byte, empty deltas, and the remainder at the end.
 */
#include <string.h>

#include <glib.h>

#include "check.h"
#include "speech/reply_chunks.h"

static int collect(void *user, const char *piece)
{
    GString *got = user;
    g_string_append_printf(got, "%s%s", got->len ? "|" : "", piece);
    return 0;
}

/* Feeds `text` in deltas of `step` bytes (0: one empty delta between each byte too). */
static void expect(const char *text, size_t step, const char *want)
{
    ls_reply_chunks c;
    ls_reply_chunks_init(&c);
    GString *got = g_string_new(NULL);
    size_t n = strlen(text);
    int rc = 0;
    for (size_t i = 0; i < n; i += step ? step : 1) {
        size_t len = step ? (n - i < step ? n - i : step) : 1;
        rc |= ls_reply_chunks_add(&c, text + i, len, collect, got);
        if (!step)
            rc |= ls_reply_chunks_add(&c, "", 0, collect, got);
    }
    rc |= ls_reply_chunks_finish(&c, collect, got);
    CHECK(rc == 0 && strcmp(got->str, want) == 0, "step %zu: '%s' -> '%s', want '%s'", step, text, got->str, want);
    ls_reply_chunks_clear(&c);
    g_string_free(got, TRUE);
}

int main(void)
{
    /* Cut at punctuation; handed on once the gathered text is over 10 characters. */
    const char *mixed = "你好，我是lipstream的测试。Nice to meet you! How are you? 我很好：谢谢。End";
    const char *want = "你好，我是lipstream的测试。|Nice to meet you!| How are you?| 我很好：谢谢。End";
    for (size_t step = 0; step <= 8; step++)
        expect(mixed, step, want);
    expect(mixed, strlen(mixed), want);
    /* Short pieces gather until over 10 characters (Chinese characters count one each). */
    expect("一，二，三，四，五，六。七", 1, "一，二，三，四，五，六。|七");
    expect("A, b, c, d. e", 3, "A, b, c, d.| e");
    expect("ten chars,x", 2, "ten chars,x");
    expect("eleven chr,x", 2, "eleven chr,|x");
    expect("", 1, "");
    expect("no punctuation at all", 4, "no punctuation at all");
    /* An invalid byte passes through as one character. */
    expect("bad \xff byte here, and more", 5, "bad \xff byte here,| and more");
    return check_result("test_reply_chunks");
}
