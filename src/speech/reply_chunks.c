/*
 * reply_chunks.c - streamed reply chunking (see reply_chunks.h).
 *
 * The delta is appended to `tail`; the tail is scanned a whole character at
 * a time (an incomplete last character stays for the next delta). At each
 * cut punctuation the text up to it moves to `pending`, which is handed on
 * once it holds more than LS_REPLY_CHUNK_MIN characters.
 */
#include "speech/reply_chunks.h"

#include <stdlib.h>
#include <string.h>

static const char *const cut_marks[] = { ",", ".", "!", "?", ";", ":", "，", "。", "！", "？", "：", "；" };

/* Bytes in the UTF-8 character starting with byte b (1 for invalid bytes). */
static size_t char_len(unsigned char b)
{
    return b < 0xC0 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : b < 0xF8 ? 4 : 1;
}

static int is_cut_mark(const char *s, size_t len)
{
    for (size_t i = 0; i < sizeof cut_marks / sizeof *cut_marks; i++)
        if (strlen(cut_marks[i]) == len && memcmp(cut_marks[i], s, len) == 0)
            return 1;
    return 0;
}

static int append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t new_cap = *cap ? *cap : 64;
        while (new_cap < *len + n + 1)
            new_cap *= 2;
        char *p = realloc(*buf, new_cap);
        if (!p)
            return -1;
        *buf = p;
        *cap = new_cap;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

void ls_reply_chunks_init(ls_reply_chunks *c)
{
    memset(c, 0, sizeof *c);
}

void ls_reply_chunks_clear(ls_reply_chunks *c)
{
    free(c->pending);
    free(c->tail);
    ls_reply_chunks_init(c);
}

static int hand_on_pending(ls_reply_chunks *c, ls_reply_piece_fn fn, void *user)
{
    int rc = fn(user, c->pending);
    c->pending_len = 0;
    c->pending_chars = 0;
    c->pending[0] = '\0';
    return rc;
}

int ls_reply_chunks_add(ls_reply_chunks *c, const char *delta, size_t n, ls_reply_piece_fn fn, void *user)
{
    if (n == 0)
        return 0;
    if (append(&c->tail, &c->tail_len, &c->cap_tail, delta, n) < 0)
        return -1;
    size_t i = 0, cut = 0, chars = 0;   /* cut: bytes of the tail moved to pending so far */
    while (i < c->tail_len) {
        size_t len = char_len((unsigned char)c->tail[i]);
        if (i + len > c->tail_len)
            break;   /* incomplete character: wait for the rest */
        i += len;
        chars++;
        if (!is_cut_mark(c->tail + i - len, len))
            continue;
        if (append(&c->pending, &c->pending_len, &c->cap_pending, c->tail + cut, i - cut) < 0)
            return -1;
        c->pending_chars += chars;
        chars = 0;
        cut = i;
        if (c->pending_chars > LS_REPLY_CHUNK_MIN && hand_on_pending(c, fn, user) < 0)
            return -1;
    }
    memmove(c->tail, c->tail + cut, c->tail_len - cut + 1);
    c->tail_len -= cut;
    return 0;
}

int ls_reply_chunks_finish(ls_reply_chunks *c, ls_reply_piece_fn fn, void *user)
{
    int rc = 0;
    if (c->tail_len && append(&c->pending, &c->pending_len, &c->cap_pending, c->tail, c->tail_len) < 0)
        rc = -1;
    else if (c->pending_len)
        rc = hand_on_pending(c, fn, user);
    c->tail_len = 0;
    return rc;
}
