/*
 * speech_service.h - the process's one speech thread, serving every session.
 *
 * Sessions attach their speech queues. The thread takes the sessions' items
 * in turn (round robin, one chunk each), synthesises text chunks with the
 * engine, resamples the audio to 16 kHz as it comes and writes it into the
 * queue, so the first frames play while the rest of the chunk is still being
 * made (with the chunk's voice override, if any); uploaded audio items are
 * copied through. A session with more than a few seconds of audio waiting
 * is skipped until it has played some. An
 * interrupt makes the queue's generation stale and cancels the synthesis in
 * flight for that queue (tts_engine.h: a network engine drops its request at
 * once; espeak-ng stops at its next callback). A failed synthesis is logged
 * and its chunk ends silent (its events still fire).
 */
#ifndef LS_SPEECH_SPEECH_SERVICE_H
#define LS_SPEECH_SPEECH_SERVICE_H

#include "speech/speech_queue.h"
#include "speech/tts_engine.h"

typedef struct ls_speech_service ls_speech_service;

/* The engine stays owned by the caller and must outlive the service. */
int ls_speech_service_start(ls_tts_engine *engine, ls_speech_service **out, ls_error *err);
/* Stops and joins the thread (queues still attached are released). */
void ls_speech_service_stop(ls_speech_service *s);

/* The service holds a reference on an attached queue until detached. */
void ls_speech_service_attach(ls_speech_service *s, ls_speech_queue *q);
void ls_speech_service_detach(ls_speech_service *s, ls_speech_queue *q);

#endif
