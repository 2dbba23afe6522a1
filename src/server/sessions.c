/*
 * sessions.c - opening, finding and closing sessions (see sessions.h).
 *
 * Opening wires the parts together: speech queue (attached to the speech
 * service), WebRTC peer (its answer and close callbacks come back here on
 * the main context) or push output, idle video source and producer, and
 * the recording with --record. Closing takes them apart on the main
 * context, except for what waits on the inference worker: the producer's
 * sinks are removed first (it pushes into the outputs and the peer), then
 * the outputs, speech, the peer and event streams go at once; the producer
 * and the engine are stopped by a closer thread, since stopping them waits
 * for the session's batch being rendered (tens of milliseconds on a GPU,
 * seconds on a CPU with the real weights; its batches only queued are
 * cancelled), and the rest they used (clips, clock, speech queue, avatar) is
 * freed back on the main context after them.
 */
#include "server/sessions.h"

#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "server/http.h"
#include "server/avatars.h"
#include "server/json_out.h"
#include "server/metrics.h"
#include "server/session_outputs.h"
#include "server/session_speech.h"
#include "server/sse.h"

typedef struct speech_event {
    ls_server *srv;
    char id[LS_SESSION_ID_LEN + 1];
    ls_speech_event_kind kind;
    char *text;
} speech_event;

int ls_session_new_id(char out[LS_SESSION_ID_LEN + 1], ls_error *err)
{
    unsigned char bits[LS_SESSION_ID_LEN / 2];
    if (getrandom(bits, sizeof bits, 0) != (ssize_t)sizeof bits)
        return ls_error_set(err, "getrandom failed: no session id");
    for (size_t i = 0; i < sizeof bits; i++)
        snprintf(out + 2 * i, 3, "%02x", bits[i]);
    return 0;
}

ls_session *ls_session_find(ls_server *srv, const char *id)
{
    return g_hash_table_lookup(srv->sessions, id);
}

int ls_sessions_count(ls_server *srv)
{
    return (int)g_hash_table_size(srv->sessions);
}

// --- speech events: any thread -> main context -> /sse ------------------------------

static gboolean deliver_speech_event(gpointer data)
{
    speech_event *e = data;
    ls_session *s = ls_session_find(e->srv, e->id);
    if (s) {
        GString *json = g_string_new("{\"status\": ");
        ls_json_append_string(json, e->kind == LS_SPEECH_START ? "start" : "end");
        g_string_append(json, ", \"text\": ");
        ls_json_append_string(json, e->text);
        g_string_append_c(json, '}');
        ls_sse_send(s, json->str);
        g_string_free(json, TRUE);
    }
    return G_SOURCE_REMOVE;
}

static void free_speech_event(gpointer data)
{
    speech_event *e = data;
    g_free(e->text);
    g_free(e);
}

/* The speech queue's event callback (its lock held): queue the event for
 * the main context, always as a new source so events keep their order. */
static void on_speech_event(void *user, ls_speech_event_kind kind, const char *text)
{
    ls_session *s = user;
    speech_event *e = g_new0(speech_event, 1);
    e->srv = s->srv;
    memcpy(e->id, s->id, sizeof e->id);
    e->kind = kind;
    e->text = g_strdup(text);
    GSource *src = g_idle_source_new();
    g_source_set_callback(src, deliver_speech_event, e, free_speech_event);
    g_source_attach(src, s->srv->context);
    g_source_unref(src);
}

// --- the /offer request waiting for the answer ----------------------------------------

static void forget_offer_msg(ls_session *s)
{
    if (!s->offer_msg)
        return;
    g_signal_handler_disconnect(s->offer_msg, s->offer_finished_handler);
    g_object_unref(s->offer_msg);
    s->offer_msg = NULL;
}

/* The client went away before the answer. */
static void on_offer_finished(SoupServerMessage *msg, gpointer data)
{
    forget_offer_msg(data);
}

static void answer_offer(ls_session *s, guint status, GString *json)
{
    SoupServerMessage *msg = s->offer_msg;
    if (!msg) {
        g_string_free(json, TRUE);
        return;
    }
    g_object_ref(msg);
    forget_offer_msg(s);
    ls_http_reply(msg, status, json);
    soup_server_message_unpause(msg);
    g_object_unref(msg);
}

static void on_answer(void *user, const char *sdp, const char *error)
{
    ls_session *s = user;
    if (!sdp) {
        answer_offer(s, SOUP_STATUS_INTERNAL_SERVER_ERROR, ls_json_result(-1, error));
        ls_session_close(s, error);
        return;
    }
    GString *json = g_string_new("{\"sdp\": ");
    ls_json_append_string(json, sdp);
    g_string_append(json, ", \"type\": \"answer\", \"sessionid\": ");
    ls_json_append_string(json, s->id);
    g_string_append_c(json, '}');
    answer_offer(s, SOUP_STATUS_OK, json);
}

static void on_peer_closed(void *user, const char *why)
{
    ls_session_close(user, why);
}

// --- open / close -----------------------------------------------------------------------

static ls_session *session_alloc(ls_server *srv, ls_avatar *avatar)
{
    ls_session *s = g_new0(ls_session, 1);
    s->srv = srv;
    s->avatar = avatar;
    s->created_us = g_get_real_time();
    s->streams = g_ptr_array_new();
    return s;
}

static int start_speech(ls_session *s, ls_error *err)
{
    s->speech = ls_speech_queue_new(on_speech_event, s);
    if (!s->speech)
        return ls_error_set(err, "out of memory");
    ls_speech_service_attach(s->srv->speech, s->speech);
    if (!(s->chat = ls_session_chat_new(s)))
        return ls_error_set(err, "out of memory");
    return 0;
}

/* The session's lip-sync engine: MuseTalk on the shared worker, or (--model
 * none) the idle avatar; its action clips are its offer's custom_config, or
 * the server's --customvideo_config. */
static int start_engine(ls_session *s, ls_error *err)
{
    const ls_server *srv = s->srv;
    const ls_live_models *m = &srv->models;
    if (m->musetalk && ls_live_models_prepare_avatar(m, s->avatar, err) < 0)
        return -1;
    /* the server's action clips are made for the default avatar's frame size */
    const ls_action_clips *clips = s->clips ? s->clips
                                   : srv->clips && s->avatar->width == srv->avatar->width &&
                                           s->avatar->height == srv->avatar->height
                                       ? srv->clips
                                       : NULL;
    ls_lipsync_config cf = { .avatar = s->avatar, .clips = clips, .whisper = m->whisper, .worker = m->worker,
                             .batch_size = srv->opts->batch_size, .max_in_flight = 2,
                             .window = LS_SESSION_WINDOW, .transition_ms = srv->opts->transition_ms,
                             .lag_policy = strcmp(srv->opts->lag_policy, "skip") == 0 ? LS_LAG_SKIP
                                                                                       : LS_LAG_WAIT,
                             .reserve_bytes = srv->session_bytes };
    return ls_lipsync_new(&cf, &s->engine, err);
}

/* The producer on the session's clock, pushing to `sink`, keeping the engine
 * fed a batch and the right context ahead of the frame due; with --record
 * the recording starts too (a recording that cannot start is reported, and
 * the session goes on without it). */
static int start_producer(ls_session *s, ls_media_sink *sink, int frame_log, ls_error *err)
{
    if (start_engine(s, err) < 0)
        return -1;
    ls_producer_config cfg = { 0 };
    cfg.clock = s->clock;
    cfg.base_time = s->base_time;
    cfg.speech = s->speech;
    cfg.engine = s->engine;
    /* right context: 10 audio frames = 5 video frames */
    cfg.lookahead = s->srv->models.musetalk ? 2 * s->srv->opts->batch_size + 5 : 1;
    cfg.batch_size = s->srv->models.musetalk ? s->srv->opts->batch_size : 0;
    cfg.frame_log = frame_log;
    cfg.sinks[0] = sink;
    cfg.nsinks = 1;
    if (ls_producer_start(&cfg, &s->producer, err) < 0)
        return -1;
    ls_error record_err;
    if (s->srv->opts->record)
        ls_session_record_start(s, &record_err);
    return 0;
}

int ls_session_open(ls_server *srv, const char *offer_sdp, const ls_session_setup *setup, SoupServerMessage *msg,
                    ls_session **out, ls_error *err)
{
    if (srv->stopping)   /* a request still answered while the sessions close */
        return ls_error_exhausted(err, "the server is shutting down");
    const ls_offer_media *media = &setup->media;
    ls_avatar *avatar = setup->avatar;
    ls_session *s = session_alloc(srv, avatar);
    s->clips = setup->clips;
    s->media = *media;
    if (ls_session_new_id(s->id, err) < 0 || start_speech(s, err) < 0)
        goto fail;
    ls_webrtc_config cfg = { avatar->width, avatar->height, srv->opts->stun, srv->context };
    ls_webrtc_callbacks cb = { on_answer, on_peer_closed, s };
    if (ls_webrtc_peer_new(offer_sdp, media, &cfg, &cb, &s->peer, err) < 0)
        goto fail;
    s->clock = ls_webrtc_peer_clock(s->peer, &s->base_time);
    if (start_producer(s, ls_webrtc_peer_sink(s->peer), setup->frame_log, err) < 0)
        goto fail;

    s->offer_msg = g_object_ref(msg);
    s->offer_finished_handler = g_signal_connect(msg, "finished", G_CALLBACK(on_offer_finished), s);
    g_hash_table_insert(srv->sessions, s->id, s);
    fprintf(stderr, "lipstream: session %.8s: opened (%s pt %d, Opus pt %d, avatar %s), %d of %d\n", s->id,
            ls_video_codec_name(media->video_codec), media->video_pt, media->audio_pt, avatar->id,
            ls_sessions_count(srv), srv->opts->max_session);
    *out = s;
    return 0;
fail:
    s->avatar = NULL;   /* the caller still owns them on failure */
    s->clips = NULL;
    ls_session_close(s, NULL);
    return -1;
}

int ls_session_open_push(ls_server *srv, int index, ls_session **out, ls_error *err)
{
    ls_avatar *avatar;
    unsigned status;
    if (ls_server_avatar_acquire(srv->opts, NULL, &avatar, &status, err) < 0)
        return -1;
    ls_session *s = session_alloc(srv, avatar);
    snprintf(s->id, sizeof s->id, "%d", index);
    s->clock = gst_system_clock_obtain();
    s->base_time = gst_clock_get_time(s->clock);
    if (start_speech(s, err) < 0 || ls_session_push_start(s, index, err) < 0 ||
        start_producer(s, ls_output_sink(s->push), 0, err) < 0) {
        ls_session_close(s, NULL);
        return -1;
    }
    g_hash_table_insert(srv->sessions, s->id, s);
    fprintf(stderr, "lipstream: session %s: opened (--transport %s, avatar %s)\n", s->id, srv->opts->transport,
            avatar->id);
    *out = s;
    return 0;
}

// --- closing ----------------------------------------------------------------------------

/* What the producer thread may still touch goes last, with the session. */
static void free_session(ls_session *s)
{
    ls_action_clips_free(s->clips);
    if (s->clock)
        gst_object_unref(s->clock);
    ls_speech_queue_unref(s->speech);
    g_ptr_array_free(s->streams, TRUE);
    if (s->avatar)
        ls_avatar_release(s->avatar);
    g_free(s);
    /* A session's pipeline threads allocate from many malloc arenas; give
     * the freed pages back, or the process keeps growing by a few MiB per
     * session closed. */
    malloc_trim(0);
}

static void stop_engine(ls_session *s)
{
    ls_lipsync_abandon(s->engine);   /* only the batch being rendered is waited for */
    ls_producer_stop(s->producer);
    ls_lipsync_free(s->engine);
}

static gboolean finish_close(gpointer data)
{
    ls_session *s = data;
    s->srv->closing_sessions--;
    free_session(s);
    return G_SOURCE_REMOVE;
}

/* The closer thread: stops the producer and frees the engine (both wait for
 * the session's frames being rendered at the worker), then hands the
 * session back to the main context. A source attached from here always runs
 * there, also while ls_sessions_close_all iterates the context outside the
 * main loop. */
static gpointer run_closer(gpointer data)
{
    ls_session *s = data;
    stop_engine(s);
    GSource *src = g_idle_source_new();
    g_source_set_callback(src, finish_close, s, NULL);
    g_source_attach(src, s->srv->context);
    g_source_unref(src);
    return NULL;
}

void ls_session_close(ls_session *s, const char *why)
{
    ls_server *srv = s->srv;
    if (g_hash_table_lookup(srv->sessions, s->id) == s) {
        g_hash_table_remove(srv->sessions, s->id);
        fprintf(stderr, "lipstream: session %.8s: closed (%s), %d left\n", s->id, why ? why : "",
                ls_sessions_count(srv));
    }
    answer_offer(s, SOUP_STATUS_INTERNAL_SERVER_ERROR, ls_json_result(-1, why ? why : "session closed"));
    ls_session_chat_free(s->chat);
    s->chat = NULL;
    if (s->producer) {
        ls_metrics_session_closed(srv, s->producer);
        ls_producer_remove_all_sinks(s->producer);
    }
    ls_session_outputs_close(s);
    if (s->speech)
        ls_speech_service_detach(srv->speech, s->speech);
    ls_webrtc_peer_free(s->peer);
    s->peer = NULL;
    ls_sse_close_all(s);
    if (!s->producer && !s->engine) {
        free_session(s);
        return;
    }
    srv->closing_sessions++;
    GThread *closer = g_thread_try_new("ls-closer", run_closer, s, NULL);
    if (closer) {
        g_thread_unref(closer);
        return;
    }
    stop_engine(s);
    finish_close(s);
}

void ls_sessions_close_all(ls_server *srv)
{
    srv->stopping = 1;
    GList *all = g_hash_table_get_values(srv->sessions);
    for (GList *l = all; l; l = l->next)
        ls_session_close(l->data, "server shutting down");
    g_list_free(all);
    while (srv->closing_sessions > 0)
        g_main_context_iteration(srv->context, TRUE);
}
