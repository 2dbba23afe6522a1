/*
 * text_chunks.c - sentence chunking of text to speak (see text_chunks.h).
 *
 * One pass over the UTF-8 code points: `start` marks the current piece,
 * `soft` its last space or comma (a fallback cut for over-long pieces).
 */
#include "speech/text_chunks.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Decodes one code point at s (n bytes left); invalid bytes decode as
 * themselves, one byte long. */
static uint32_t next_codepoint(const unsigned char *s, size_t n, size_t *len)
{
    uint32_t c = s[0];
    size_t k = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (k == 0 || k > n) {
        *len = 1;
        return c;
    }
    if (k > 1) {
        c &= 0x3F >> (k - 1);
        for (size_t i = 1; i < k; i++) {
            if ((s[i] & 0xC0) != 0x80) {
                *len = 1;
                return s[0];
            }
            c = (c << 6) | (s[i] & 0x3F);
        }
    }
    *len = k;
    return c;
}

static int is_space(uint32_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v' || c == 0x3000;
}

/* Punctuation that ends a sentence when followed by a space or the end. */
static int ends_sentence_before_space(uint32_t c)
{
    return c == '.' || c == '!' || c == '?' || c == ';';
}

/* CJK punctuation ending a sentence wherever it stands (。！？；…). */
static int ends_sentence(uint32_t c)
{
    return c == 0x3002 || c == 0xFF01 || c == 0xFF1F || c == 0xFF1B || c == 0x2026;
}

static int is_soft_break(uint32_t c)
{
    return c == ' ' || c == ',' || c == 0xFF0C || c == 0x3001;
}

/* Letters, digits and other characters that are spoken (not punctuation or symbols). */
static int is_spoken(uint32_t c)
{
    if (c < 0x80)
        return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
    return !(c >= 0x2000 && c <= 0x206F) && !(c >= 0x3000 && c <= 0x303F) &&
           !(c >= 0xFF00 && c <= 0xFF0F) && !(c >= 0xFF1A && c <= 0xFF20);
}

/* Adds text[a, b) trimmed, if it has something to say. */
static int emit(ls_text_chunks *out, const char *text, size_t a, size_t b)
{
    const unsigned char *s = (const unsigned char *)text;
    int spoken = 0;
    size_t first = b, last = a;
    for (size_t i = a, len; i < b; i += len) {
        uint32_t c = next_codepoint(s + i, b - i, &len);
        if (!is_space(c)) {
            if (first == b)
                first = i;
            last = i + len;
        }
        spoken |= is_spoken(c);
    }
    if (!spoken)
        return 0;
    char **items = realloc(out->items, (out->n + 1) * sizeof *items);
    if (!items)
        return -1;
    out->items = items;
    out->items[out->n] = strndup(text + first, last - first);
    if (!out->items[out->n])
        return -1;
    out->n++;
    return 0;
}

int ls_text_chunks_split(const char *text, ls_text_chunks *out)
{
    out->items = NULL;
    out->n = 0;
    const unsigned char *s = (const unsigned char *)text;
    size_t n = strlen(text), start = 0, soft = 0;
    for (size_t i = 0, len; i < n; i += len) {
        uint32_t c = next_codepoint(s + i, n - i, &len);
        size_t end = i + len;
        if (end - start > LS_TEXT_CHUNK_MAX) {  /* too long: cut at the last soft break, or here */
            size_t cut = soft > start ? soft : i;
            if (emit(out, text, start, cut) < 0)
                goto oom;
            start = cut;
            soft = 0;
        }
        int cut_after = ends_sentence(c);
        if (ends_sentence_before_space(c)) {
            size_t next_len;
            cut_after = end == n || is_space(next_codepoint(s + end, n - end, &next_len));
        }
        if (c == '\n' || cut_after) {
            if (emit(out, text, start, end) < 0)
                goto oom;
            start = end;
            soft = 0;
        } else if (is_soft_break(c)) {
            soft = end;
        }
    }
    if (emit(out, text, start, n) < 0)
        goto oom;
    return 0;
oom:
    ls_text_chunks_free(out);
    return -1;
}

void ls_text_chunks_free(ls_text_chunks *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->items[i]);
    free(c->items);
    c->items = NULL;
    c->n = 0;
}
