/*
 * fuzz_http_request.c - libFuzzer target: arbitrary bytes as an API request
 * body, through the JSON request parsing, every field getter the routes
 * use, and the sentence chunking of the text to speak.
 */
#include <stdint.h>

#include "server/request.h"
#include "speech/text_chunks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ls_json *body;
    ls_error err;
    if (ls_request_parse((const char *)data, size, &body, &err) < 0)
        return 0;
    char id[LS_REQUEST_ID_MAX];
    const char *s;
    int64_t n;
    int b;
    ls_request_session_id(body, id, &err);
    static const char *const strings[] = { "sdp", "type", "avatar", "custom_config", "text" };
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
        ls_request_string(body, strings[i], 1, &s, &err);
    ls_request_int(body, "audiotype", 1, &n, &err);
    ls_request_bool(body, "interrupt", &b, &err);
    if (ls_request_string(body, "text", 1, &s, &err) == 1) {
        ls_text_chunks chunks;
        if (ls_text_chunks_split(s, &chunks) == 0)
            ls_text_chunks_free(&chunks);
    }
    ls_json_free(body);
    return 0;
}
