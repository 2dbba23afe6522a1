/*
 * test_text_chunks.c - sentence chunking of English and Chinese text, line
 * breaks, punctuation-only pieces, and over-long pieces (cut at spaces, or
 * at character boundaries, always leaving valid UTF-8).
 */
#include <string.h>

#include <glib.h>

#include "check.h"
#include "speech/text_chunks.h"

/* Joins the chunks with " | ". */
static void expect(const char *text, const char *want)
{
    ls_text_chunks c;
    CHECK(ls_text_chunks_split(text, &c) == 0, "split failed");
    GString *got = g_string_new(NULL);
    for (size_t i = 0; i < c.n; i++)
        g_string_append_printf(got, "%s%s", i ? " | " : "", c.items[i]);
    CHECK(strcmp(got->str, want) == 0, "'%s' -> '%s', want '%s'", text, got->str, want);
    g_string_free(got, TRUE);
    ls_text_chunks_free(&c);
}

static void test_long(const char *piece, const char *what)
{
    GString *text = g_string_new(NULL);
    while (text->len < 3 * LS_TEXT_CHUNK_MAX)
        g_string_append(text, piece);
    ls_text_chunks c;
    ls_text_chunks_split(text->str, &c);
    size_t total = 0;
    int ok = c.n >= 3;
    for (size_t i = 0; i < c.n; i++) {
        ok &= strlen(c.items[i]) <= LS_TEXT_CHUNK_MAX && g_utf8_validate(c.items[i], -1, NULL);
        total += strlen(c.items[i]);
    }
    printf("%-30s %zu bytes -> %zu chunks\n", what, text->len, c.n);
    CHECK(ok && total <= text->len && total + c.n >= text->len - c.n, "%s: %zu chunks, %zu bytes", what, c.n, total);
    ls_text_chunks_free(&c);
    g_string_free(text, TRUE);
}

int main(void)
{
    expect("Hello there. How are you? Fine!", "Hello there. | How are you? | Fine!");
    expect("Version 1.5 is out.", "Version 1.5 is out.");
    expect("  first line\nsecond line  ", "first line | second line");
    expect("你好。今天天气很好！我们走吧", "你好。 | 今天天气很好！ | 我们走吧");
    expect("Wait... what?!", "Wait... | what?!");
    expect("...", "");
    expect("  \n\n ", "");
    expect("", "");
    expect("a;b; c", "a;b; | c");
    test_long("word ", "long English, no punctuation");
    test_long("长", "long Chinese, no punctuation");
    test_long("x", "one long word");
    return check_result("test_text_chunks");
}
