/*
 * llm_chat.h - a conversation with an OpenAI-compatible chat-completions
 * service (DashScope's compatible mode, OpenAI, llama.cpp, vLLM, Ollama),
 * streamed.
 *
 * ls_llm_chat_ask POSTs {model, stream: true, messages: [system prompt,
 * remembered turns, question]} to <base_url>/chat/completions with libsoup,
 * asynchronously on the calling thread's default main context, and reads
 * the reply as server-sent events (speech/sse_parser.h) as it arrives:
 * choices[0].delta.content pieces are cut into speakable pieces
 * (speech/reply_chunks.h) and handed to on_piece. The API key is read from
 * the environment variable named in the config at each request (unset or
 * empty: no Authorization header, for local servers); it is never logged.
 *
 * Callbacks (on the main context): on_started once the service accepted the
 * request (HTTP 2xx), then any number of on_piece, then exactly one on_done
 * for every accepted ask - also when the ask failed before starting, and
 * when it is cancelled (then synchronously, from cancel or free). Failures
 * (service unreachable, no bytes for timeout_s, an HTTP error, a malformed
 * stream or an error event in it) end in on_done with LS_LLM_FAILED and a
 * message naming the service. A turn is remembered (up to history_turns)
 * only when its reply completed; timings of the last reply are kept.
 *
 * One reply at a time per conversation: asking while one streams is an error.
 */
#ifndef LS_SPEECH_LLM_CHAT_H
#define LS_SPEECH_LLM_CHAT_H

#include "util/error.h"

#define LS_LLM_DEFAULT_BASE_URL "https://dashscope.aliyuncs.com/compatible-mode/v1"
#define LS_LLM_DEFAULT_MODEL "qwen-plus"
#define LS_LLM_DEFAULT_API_KEY_ENV "DASHSCOPE_API_KEY"
#define LS_LLM_DEFAULT_HISTORY 10
#define LS_LLM_DEFAULT_TIMEOUT_S 30

typedef struct ls_llm_config {
    const char *base_url;       /* ".../v1"; "/chat/completions" is appended */
    const char *model;
    const char *api_key_env;    /* name of the environment variable holding the key */
    const char *system_prompt;  /* NULL or "": none */
    int history_turns;          /* question/answer pairs remembered (0: none) */
    int timeout_s;              /* longest wait for the service's next bytes */
} ls_llm_config;

typedef enum ls_llm_status {
    LS_LLM_OK,
    LS_LLM_FAILED,
    LS_LLM_CANCELLED,
} ls_llm_status;

typedef struct ls_llm_callbacks {
    void (*on_started)(void *user);
    /* A piece of the reply to speak; returns 0, or -1 to stop the reply (it fails). */
    int (*on_piece)(void *user, const char *piece);
    /* err is NULL for LS_LLM_OK. */
    void (*on_done)(void *user, ls_llm_status status, const ls_error *err);
} ls_llm_callbacks;

/* Seconds from the ask to the first and last piece of the last reply
 * (-1 when none came), and its length in bytes. */
typedef struct ls_llm_timings {
    double first_piece_s, last_piece_s;
    size_t reply_bytes;
} ls_llm_timings;

typedef struct ls_llm_chat ls_llm_chat;

/* The config's strings are copied. NULL when out of memory. */
ls_llm_chat *ls_llm_chat_new(const ls_llm_config *config);
/* Cancels a reply in flight (its on_done runs) and frees everything. */
void ls_llm_chat_free(ls_llm_chat *c);

/* Starts a reply; -1 (no callback will run) when one is already streaming,
 * the URL is invalid or memory ran out. */
int ls_llm_chat_ask(ls_llm_chat *c, const char *question, const ls_llm_callbacks *fns, void *user, ls_error *err);
/* Stops the reply in flight, if any: its HTTP request is cancelled and its
 * on_done runs now with LS_LLM_CANCELLED. */
void ls_llm_chat_cancel(ls_llm_chat *c);

int ls_llm_chat_busy(const ls_llm_chat *c);
ls_llm_timings ls_llm_chat_timings(const ls_llm_chat *c);
/* Turns remembered now. */
int ls_llm_chat_history_len(const ls_llm_chat *c);

#endif
