/*
 * fuzz_sse.c - libFuzzer target: arbitrary bytes through the event-stream
 * parser, fed in pieces whose size the first byte picks, and every event's
 * data through the reply chunker (as a streamed chat reply goes).
 */
#include <stdint.h>

#include "speech/reply_chunks.h"
#include "speech/sse_parser.h"

static int ignore_piece(void *user, const char *piece)
{
    (void)user, (void)piece;
    return 0;
}

static int on_event(void *user, const char *event, const char *data, size_t len, ls_error *err)
{
    (void)event, (void)err;
    return ls_reply_chunks_add(user, data, len, ignore_piece, NULL) < 0 ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t step = data[0] % 16 + 1;
    ls_reply_chunks chunks;
    ls_reply_chunks_init(&chunks);
    ls_sse_parser *p = ls_sse_parser_new(on_event, &chunks);
    ls_error err;
    for (size_t i = 1; i < size; i += step)
        if (ls_sse_parser_feed(p, (const char *)data + i, size - i < step ? size - i : step, &err) < 0)
            break;
    ls_reply_chunks_finish(&chunks, ignore_piece, NULL);
    ls_sse_parser_free(p);
    ls_reply_chunks_clear(&chunks);
    return 0;
}
