/*
 * test_speech_queue.c - framing, events and interrupts of the speech queue.
 *
 * Writes chunks the way the speech service does and pops frames the way
 * the producer does, checking: 20 ms framing with a padded last frame, the
 * one-frame hold-back, start/end events firing when frames are reported
 * sent (in order, each start with one end), empty chunks, interrupts (with
 * frames in flight and a writer going stale), the limits of text and of
 * uploaded audio waiting, and the buffered-audio limit of take().
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "speech/speech_queue.h"

typedef struct event_log {
    char text[1024];
    int n;
} event_log;

static void on_event(void *user, ls_speech_event_kind kind, const char *text)
{
    event_log *log = user;
    size_t len = strlen(log->text);
    snprintf(log->text + len, sizeof log->text - len, "%s%s:%s", log->n++ ? " " : "",
             kind == LS_SPEECH_START ? "start" : "end", text);
}

/* Pops one frame, reports it sent; returns 1 for speech, 0 for silence. */
static int play_frame(ls_speech_queue *q, int16_t out[LS_SPEECH_FRAME])
{
    ls_speech_marks marks = { 0 };
    int speech = ls_speech_queue_pop(q, out, &marks);
    ls_speech_queue_sent(q, &marks);
    return speech;
}

static void write_chunk(ls_speech_queue *q, const char *text, const int16_t *s, size_t n)
{
    ls_speech_item item;
    CHECK(ls_speech_queue_take(q, 1000000, &item) == 1, "no item for '%s'", text);
    CHECK(strcmp(item.text, text) == 0, "item '%s', want '%s'", item.text, text);
    CHECK(ls_speech_queue_begin(q, item.generation, item.text) == 0, "begin");
    CHECK(ls_speech_queue_append(q, item.generation, s, n) == 0, "append");
    CHECK(ls_speech_queue_end(q, item.generation) == 0, "end");
    ls_speech_item_clear(&item);
}

static void test_framing(void)
{
    event_log log = { "", 0 };
    ls_speech_queue *q = ls_speech_queue_new(on_event, &log);
    int16_t samples[1000], out[LS_SPEECH_FRAME];
    for (int i = 0; i < 1000; i++)
        samples[i] = (int16_t)(i + 1);
    ls_error err;
    CHECK(ls_speech_queue_add_text(q, "Hello.", &err) == 0, "add_text");
    write_chunk(q, "Hello.", samples, 1000);

    /* 1000 samples: three full frames and one of 40 samples padded with silence */
    int frames = 0, exact = 1;
    while (play_frame(q, out)) {
        for (int i = 0; i < LS_SPEECH_FRAME; i++) {
            int k = frames * LS_SPEECH_FRAME + i;
            exact &= out[i] == (k < 1000 ? samples[k] : 0);
        }
        frames++;
        if (frames == 1)
            CHECK(ls_speech_queue_speaking(q), "speaking after the first frame went out");
    }
    CHECK(frames == 4 && exact, "%d frames, samples %s", frames, exact ? "exact" : "wrong");
    CHECK(strcmp(log.text, "start:Hello. end:Hello.") == 0, "events '%s'", log.text);
    CHECK(!ls_speech_queue_speaking(q), "not speaking after the end");
    CHECK(play_frame(q, out) == 0 && out[0] == 0 && out[LS_SPEECH_FRAME - 1] == 0, "silence when empty");
    ls_speech_queue_unref(q);
}

static void test_hold_back_and_empty_chunk(void)
{
    event_log log = { "", 0 };
    ls_speech_queue *q = ls_speech_queue_new(on_event, &log);
    int16_t frame[LS_SPEECH_FRAME], out[LS_SPEECH_FRAME];
    for (int i = 0; i < LS_SPEECH_FRAME; i++)
        frame[i] = 1000;
    ls_error err;
    ls_speech_queue_add_text(q, "a", &err);
    ls_speech_queue_add_text(q, "b", &err);
    ls_speech_item item;
    ls_speech_queue_take(q, 1000, &item);
    ls_speech_queue_begin(q, item.generation, item.text);
    ls_speech_queue_append(q, item.generation, frame, LS_SPEECH_FRAME);
    /* one finished frame is held until the chunk goes on or ends */
    CHECK(play_frame(q, out) == 0, "the only frame is held back");
    ls_speech_queue_append(q, item.generation, frame, LS_SPEECH_FRAME);
    CHECK(play_frame(q, out) == 1 && out[0] == 1000, "the first frame is released by the second");
    ls_speech_queue_end(q, item.generation);
    CHECK(play_frame(q, out) == 1, "the held frame is released by the end");
    ls_speech_item_clear(&item);

    write_chunk(q, "b", NULL, 0);   /* no audio at all: one silent frame carries start and end */
    CHECK(play_frame(q, out) == 1 && out[0] == 0, "an empty chunk plays one silent frame");
    CHECK(strcmp(log.text, "start:a end:a start:b end:b") == 0, "events '%s'", log.text);
    ls_speech_queue_unref(q);
}

static void test_interrupt(void)
{
    event_log log = { "", 0 };
    ls_speech_queue *q = ls_speech_queue_new(on_event, &log);
    int16_t samples[3200], out[LS_SPEECH_FRAME];
    for (int i = 0; i < 3200; i++)
        samples[i] = 500;
    ls_error err;
    ls_speech_queue_add_text(q, "one", &err);
    ls_speech_queue_add_text(q, "two", &err);
    write_chunk(q, "one", samples, 3200);
    CHECK(play_frame(q, out) == 1 && ls_speech_queue_speaking(q), "speaking");

    ls_speech_marks in_flight = { 0 };
    ls_speech_queue_pop(q, out, &in_flight);   /* popped before the interrupt, reported after */
    ls_speech_item item;
    ls_speech_queue_take(q, 1000000, &item);   /* "two" is being written when the interrupt comes */
    ls_speech_queue_begin(q, item.generation, item.text);
    ls_speech_queue_append(q, item.generation, samples, 1000);

    ls_speech_queue_interrupt(q);
    CHECK(!ls_speech_queue_speaking(q), "not speaking after the interrupt");
    CHECK(strcmp(log.text, "start:one end:one") == 0, "the interrupt ends the playing chunk: '%s'", log.text);
    ls_speech_queue_sent(q, &in_flight);
    CHECK(strcmp(log.text, "start:one end:one") == 0, "frames in flight fire nothing: '%s'", log.text);
    CHECK(ls_speech_queue_append(q, item.generation, samples, 10) < 0 &&
              ls_speech_queue_end(q, item.generation) < 0,
          "the stale writer is refused");
    ls_speech_item_clear(&item);
    CHECK(play_frame(q, out) == 0 && !ls_speech_queue_take(q, 1000000, &item), "everything is cleared");
    ls_speech_queue_unref(q);
}

static void test_limits(void)
{
    ls_speech_queue *q = ls_speech_queue_new(NULL, NULL);
    ls_error err = { 0 };
    char *big = malloc(LS_SPEECH_MAX_PENDING_TEXT / 2 + 1);
    memset(big, 'a', LS_SPEECH_MAX_PENDING_TEXT / 2);
    big[LS_SPEECH_MAX_PENDING_TEXT / 2] = 0;
    int first = ls_speech_queue_add_text(q, big, &err) + ls_speech_queue_add_text(q, big, &err);
    int third = ls_speech_queue_add_text(q, big, &err);
    CHECK(first == 0 && third < 0 && strstr(err.msg, "too much text"), "text limit: '%s'", err.msg);
    free(big);

    /* take() waits while more than max_buffered_ms of audio is queued */
    ls_speech_item item;
    int16_t second[LS_SPEECH_RATE] = { 0 };
    CHECK(ls_speech_queue_take(q, 500, &item) == 1, "take with nothing buffered");
    ls_speech_queue_begin(q, item.generation, item.text);
    ls_speech_queue_append(q, item.generation, second, LS_SPEECH_RATE);
    ls_speech_queue_end(q, item.generation);
    ls_speech_item_clear(&item);
    CHECK(ls_speech_queue_take(q, 500, &item) == 0, "1 s buffered > 500 ms: not taken");
    CHECK(ls_speech_queue_take(q, 1500, &item) == 1, "1 s buffered <= 1500 ms: taken");
    ls_speech_item_clear(&item);

    int16_t pcm[100] = { 7 };
    CHECK(ls_speech_queue_add_audio(q, pcm, 100, "clip.wav", &err) == 0, "add_audio");
    CHECK(ls_speech_queue_take(q, 1500, &item) == 1 && item.audio && item.n == 100 && item.audio[0] == 7 &&
              strcmp(item.text, "clip.wav") == 0,
          "audio items keep their samples and label");
    ls_speech_item_clear(&item);
    ls_speech_queue_unref(q);
}

/* Uploaded audio waiting to play is bounded like text: two uploads of half
 * the limit fit, a third is refused as a resource used up (the server's
 * 429), and once one is taken to play there is room again. */
static void test_audio_limit(void)
{
    ls_speech_queue *q = ls_speech_queue_new(NULL, NULL);
    ls_error err = { 0 };
    size_t half = (size_t)LS_SPEECH_MAX_PENDING_AUDIO_S * LS_SPEECH_RATE / 2;
    int16_t *pcm = calloc(half, sizeof *pcm);
    int first = ls_speech_queue_add_audio(q, pcm, half, "a.wav", &err) +
                ls_speech_queue_add_audio(q, pcm, half, "b.wav", &err);
    int third = ls_speech_queue_add_audio(q, pcm, 1, "c.wav", &err);
    CHECK(first == 0 && third < 0 && err.kind == LS_ERROR_EXHAUSTED && strstr(err.msg, "too much audio"),
          "audio limit: '%s'", err.msg);
    ls_speech_item item;
    CHECK(ls_speech_queue_take(q, 0, &item) == 1 && item.n == half, "the first upload is taken");
    ls_speech_item_clear(&item);
    CHECK(ls_speech_queue_add_audio(q, pcm, half, "d.wav", &err) == 0, "room again after one is taken");
    free(pcm);
    ls_speech_queue_unref(q);
}

int main(void)
{
    test_framing();
    test_hold_back_and_empty_chunk();
    test_interrupt();
    test_limits();
    test_audio_limit();
    return check_result("test_speech_queue");
}
