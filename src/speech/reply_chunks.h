/*
 * reply_chunks.h - cutting a streamed reply (an LLM's) into pieces to speak.
 *
 * The reply arrives as deltas of UTF-8 text, cut anywhere, even inside a
 * character. As LiveTalking does, text is cut after any of
 *     , . ! ? ; :  and  ， 。 ！ ？ ： ；
 * and the text gathered so far is handed on once it is longer than
 * LS_REPLY_CHUNK_MIN characters (code points); what is left is handed on at
 * the end. (LiveTalking's list lacks the ASCII '?'; it is added here so
 * English questions are cut like Chinese ones.) Each piece handed on is then
 * spoken as text (speech/text_chunks.h cuts it further when it is long).
 */
#ifndef LS_SPEECH_REPLY_CHUNKS_H
#define LS_SPEECH_REPLY_CHUNKS_H

#include <stddef.h>

#define LS_REPLY_CHUNK_MIN 10

/* Receives one piece (NUL-terminated); returns 0, or -1 to stop. */
typedef int (*ls_reply_piece_fn)(void *user, const char *piece);

typedef struct ls_reply_chunks {
    char *pending;       /* text cut at punctuation but not yet handed on */
    size_t pending_len, pending_chars;
    char *tail;          /* text after the last cut, an incomplete character included */
    size_t tail_len, cap_pending, cap_tail;
} ls_reply_chunks;

void ls_reply_chunks_init(ls_reply_chunks *c);
void ls_reply_chunks_clear(ls_reply_chunks *c);

/* Adds a delta (any bytes, possibly empty). 0, or -1 when out of memory or
 * the callback stopped. */
int ls_reply_chunks_add(ls_reply_chunks *c, const char *delta, size_t n, ls_reply_piece_fn fn, void *user);
/* Hands on what is left (when it is not empty) and empties the chunker. */
int ls_reply_chunks_finish(ls_reply_chunks *c, ls_reply_piece_fn fn, void *user);

#endif
