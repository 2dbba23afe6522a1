/*
 * text_chunks.h - cutting text to speak into sentence-sized chunks.
 *
 * Speech is synthesised and reported (start/end events) one chunk at a time,
 * so a long text starts playing after its first sentence. Text is cut after
 * sentence punctuation followed by a space or the end (. ! ? ; and the
 * ellipsis), after CJK sentence punctuation (。！？；…) and at line breaks.
 * A piece longer than LS_TEXT_CHUNK_MAX bytes is cut again at its last
 * space or comma (, ， 、) before the limit, or else at a character
 * boundary. Chunks are trimmed; chunks with no letter or digit (e.g. "...")
 * are dropped. Input must be UTF-8 (the HTTP layer checks); invalid bytes
 * are kept as they are.
 */
#ifndef LS_SPEECH_TEXT_CHUNKS_H
#define LS_SPEECH_TEXT_CHUNKS_H

#include <stddef.h>

#define LS_TEXT_CHUNK_MAX 300

typedef struct ls_text_chunks {
    char **items;   /* NUL-terminated, malloc'd */
    size_t n;
} ls_text_chunks;

/* 0, or -1 when out of memory (out is then empty). */
int ls_text_chunks_split(const char *text, ls_text_chunks *out);
void ls_text_chunks_free(ls_text_chunks *c);

#endif
