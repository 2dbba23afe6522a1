/*
 * session_speech.h - what a session says: echo text, and the replies of its
 * chat with an LLM (speech/llm_chat.h), through the same speech queue.
 *
 * Text to speak is cut into sentences (speech/text_chunks.h), each queued
 * as one chunk with its own start/end events and the request's voice
 * override (speech/tts_voice.h; NULL: the configured voice); a chat reply
 * is spoken with the voice of the question that asked for it. A session's chat is made with
 * it from the server's --llm_* options and freed when it closes. A chat
 * question (/human type "chat") holds its HTTP request until the service
 * accepts it (answered {"code": 0}) or fails first (502 with the reason);
 * the reply's pieces (speech/reply_chunks.h) are then spoken as they come,
 * and a failure later in the reply reaches the session's /sse streams as
 * {"status": "error", "text": reason}. Interrupting cancels the reply in
 * flight. Main context only.
 */
#ifndef LS_SERVER_SESSION_SPEECH_H
#define LS_SERVER_SESSION_SPEECH_H

#include <libsoup/soup.h>

#include "server/sessions.h"

/* Queues `text` (cut into sentences) in `voice` (may be NULL); -1 when the
 * queue holds too much. */
int ls_session_say(ls_session *s, const char *text, ls_tts_voice *voice, ls_error *err);

/* The session's chat; NULL when out of memory. */
ls_session_chat *ls_session_chat_new(ls_session *s);
/* Cancels the reply in flight (a waiting request is answered) and frees. */
void ls_session_chat_free(ls_session_chat *c);

/* Asks `question`, the reply to be spoken in `voice` (a reference is
 * taken; NULL: the configured voice); `msg` is answered now (not
 * configured, busy) or once the service accepted or refused the question. */
void ls_session_chat_ask(ls_session_chat *c, SoupServerMessage *msg, const char *question, ls_tts_voice *voice);
/* Stops the reply in flight, if any. */
void ls_session_chat_cancel(ls_session_chat *c);

/* {"busy", "turns", "first_piece_s", "last_piece_s", "reply_bytes",
 * "error"} of the last reply (seconds from the question; -1: none). */
void ls_session_chat_to_json(const ls_session_chat *c, GString *out);

#endif
