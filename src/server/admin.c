/*
 * admin.c - GET /api/admin/sessions and GET /api/admin/config.
 *
 * sessions: {"code": 0, "data": [{"sessionid", "state" (WebRTC connection
 * state, or a push session's output status), "speaking", "recording",
 * "avatar", "transport", "video_codec", "outputs" ([{"output": "rtmp" |
 * "whip" | "virtualcam" | "record", "status"}]), "chat" (the last LLM
 * reply: {"busy", "turns", "first_piece_s", "last_piece_s", "reply_bytes",
 * "error"}, server/session_speech.h), "frames" (pushed),
 * "skipped" (frame numbers skipped for lateness), "lipsynced" (pushed with
 * a generated face), "output_fps" and "infer_fps" (frames pushed, and
 * lip-synced frames pushed, per second over the last 2 s), "lag_ms"
 * (live/producer.h), "engine_frames" (video frames inside the lip-sync
 * engine), "engine_batches" (its batches at the worker), "speech_queue_ms"
 * (speech audio waiting in the session's queue), "last_utterance" (null, or the stages of the last utterance:
 * CLOCK_MONOTONIC seconds, see ls_utterance_times), "age_s"}, ...],
 * "workers": [{"frames", "batches", "merged_batches" (holding frames of
 * several sessions), "multi_job_batches" (of several batches of any
 * sessions), "silent_frames" (passed over), "jobs", "largest_batch",
 * "busy_s", "busy_fraction" and "fps" (over the last 2 s),
 * "throughput_fps" (frames per busy second), "queue_depth" (frames queued),
 * "queued_jobs", "clients", "warm_up_s" (the start-up passes, 0: none),
 * "activation_bytes" (backend memory held for activations),
 * "activation_growths" (times it grew after start-up), "passes"
 * ({"replayed", "direct", "recorded", "failed"}: render passes replayed
 * from a recording, run as they are, recordings made and failed, all 0
 * where the backend does not record), "recent_batches" ([[start_s, end_s,
 * frames, batches, sessions], ...] the latest render calls)}] (empty with
 * --model none),
 * "max_session": n}.
 * With ?frames=ID: the frames the session recorded (its offer asked for a
 * "frame_log"): {"code": 0, "data": {"sessionid", "frames": [records of
 * live/frame_log.h, oldest first]}}.
 * config: {"code": 0, "data": {option: value, ...}}, URLs with their
 * credentials, paths and queries redacted (the LLM's API key is not an
 * option: only the name of its environment variable is shown).
 */
#include "server/routes.h"

#include "live/frame_log.h"
#include "server/json_out.h"
#include "server/session_outputs.h"
#include "server/session_speech.h"

static void append_frame_times(GString *out, const ls_frame_times *t)
{
    if (t->n < 0) {
        g_string_append(out, "null");
        return;
    }
    g_string_append_printf(out, "{\"n\": %lld, \"lipsynced\": %s, \"due_s\": %.6f, \"pop_begin_s\": %.6f, "
                           "\"pop_end_s\": %.6f, \"pushed_s\": %.6f}", (long long)t->n,
                           t->lipsynced ? "true" : "false", t->due_s, t->pop_begin_s, t->pop_end_s, t->pushed_s);
}

static void append_utterance(GString *out, const ls_utterance_times *u)
{
    if (u->count == 0) {
        g_string_append(out, "null");
        return;
    }
    g_string_append_printf(out, "{\"count\": %lld, \"first_audio_frame\": %lld, \"audio_in_s\": %.6f, "
                           "\"features_begin_s\": %.6f, \"features_end_s\": %.6f, \"max_lag_ms\": %.1f, "
                           "\"first_speaking\": ", (long long)u->count, (long long)u->first_audio_frame,
                           u->audio_in_s, u->features_begin_s, u->features_end_s, u->max_lag_s * 1000);
    append_frame_times(out, &u->first_speaking);
    g_string_append(out, ", \"first_lipsynced\": ");
    append_frame_times(out, &u->first_lipsynced);
    g_string_append_c(out, '}');
}

static void append_session(GString *out, ls_session *s)
{
    g_string_append(out, "{\"sessionid\": ");
    ls_json_append_string(out, s->id);
    g_string_append(out, ", \"state\": ");
    ls_json_append_string(out, s->peer ? ls_webrtc_peer_state(s->peer) : ls_output_status(s->push));
    g_string_append_printf(out, ", \"speaking\": %s, \"recording\": %s, \"avatar\": ",
                           ls_speech_queue_speaking(s->speech) ? "true" : "false",
                           ls_session_recording(s) ? "true" : "false");
    ls_json_append_string(out, s->avatar->id);
    g_string_append(out, ", \"transport\": ");
    ls_json_append_string(out, s->srv->opts->transport);
    g_string_append(out, ", \"video_codec\": ");
    ls_json_append_string(out, s->peer ? ls_video_codec_name(s->media.video_codec) : "H264");
    g_string_append(out, ", \"outputs\": ");
    ls_session_outputs_json(s, out);
    g_string_append(out, ", \"chat\": ");
    ls_session_chat_to_json(s->chat, out);
    ls_producer_stats st;
    ls_producer_stats_get(s->producer, &st);
    g_string_append_printf(out, ", \"frames\": %lld, \"skipped\": %lld, \"lipsynced\": %lld, \"output_fps\": %.2f, "
                           "\"infer_fps\": %.2f, \"lag_ms\": %.1f, \"engine_frames\": %d, \"engine_batches\": %d, "
                           "\"speech_queue_ms\": %d, \"last_utterance\": ",
                           (long long)st.frames, (long long)st.skipped, (long long)st.lipsynced, st.output_fps,
                           st.lipsync_fps, st.lag_s * 1000, st.engine_frames, st.engine_batches, st.speech_queue_ms);
    append_utterance(out, &st.utterance);
    g_string_append_printf(out, ", \"age_s\": %.1f}", (g_get_real_time() - s->created_us) / 1e6);
}

static void append_workers(GString *out, ls_infer_worker *w)
{
    g_string_append(out, "[");
    if (w) {
        ls_infer_stats st;
        ls_infer_worker_stats(w, &st);
        g_string_append_printf(out, "{\"frames\": %lld, \"batches\": %lld, \"merged_batches\": %lld, "
                               "\"multi_job_batches\": %lld, \"silent_frames\": %lld, \"jobs\": %lld, \"largest_batch\": %d, \"busy_s\": %.3f, "
                               "\"busy_fraction\": %.3f, \"fps\": %.2f, \"throughput_fps\": %.2f, "
                               "\"queue_depth\": %d, \"queued_jobs\": %d, \"clients\": %d, \"warm_up_s\": %.3f, "
                               "\"activation_bytes\": %zu, \"activation_growths\": %lld, \"passes\": {",
                               (long long)st.frames, (long long)st.batches, (long long)st.merged,
                               (long long)st.multi_job, (long long)st.skipped, (long long)st.jobs, st.largest_batch, st.busy_s,
                               st.busy_fraction, st.recent_fps, st.fps, st.queued_frames, st.queued_jobs,
                               st.clients, st.warm_up_s, st.activation_bytes, (long long)st.activation_growths);
        int64_t passes[NN_PASS_KINDS];
        nn_recording_counts(&st.passes, passes);
        for (int k = 0; k < NN_PASS_KINDS; k++)
            g_string_append_printf(out, "%s\"%s\": %lld", k ? ", " : "", nn_pass_kinds[k], (long long)passes[k]);
        g_string_append(out, "}, \"recent_batches\": [");
        for (int i = 0; i < st.nrecent; i++)
            g_string_append_printf(out, "%s[%.6f, %.6f, %d, %d, %d]", i ? ", " : "", st.recent[i].start_s,
                                   st.recent[i].end_s, st.recent[i].frames, st.recent[i].jobs,
                                   st.recent[i].clients);
        g_string_append(out, "]}");
    }
    g_string_append(out, "]");
}

typedef struct frame_list {
    GString *out;
    int first;
} frame_list;

static void append_record(void *user, const ls_frame_record *r)
{
    frame_list *l = user;
    char json[LS_FRAME_RECORD_JSON_MAX];
    ls_frame_record_json(r, json);
    g_string_append(l->out, l->first ? "" : ", ");
    g_string_append(l->out, json);
    l->first = 0;
}

static void reply_frame_log(ls_server *srv, SoupServerMessage *msg, const char *id)
{
    ls_session *s = ls_session_find(srv, id);
    if (!s) {
        ls_http_fail(msg, SOUP_STATUS_NOT_FOUND, "unknown session '%s'", id);
        return;
    }
    GString *out = g_string_new("{\"code\": 0, \"data\": {\"sessionid\": ");
    ls_json_append_string(out, s->id);
    g_string_append(out, ", \"frames\": [");
    frame_list l = { out, 1 };
    ls_producer_frame_log(s->producer, append_record, &l);
    g_string_append(out, "]}}");
    ls_http_reply(msg, SOUP_STATUS_OK, out);
}

void ls_route_admin_sessions(ls_server *srv, SoupServerMessage *msg, const char *path, GHashTable *query)
{
    const char *frames_of = query ? g_hash_table_lookup(query, "frames") : NULL;
    if (frames_of) {
        reply_frame_log(srv, msg, frames_of);
        return;
    }
    GString *out = g_string_new("{\"code\": 0, \"data\": [");
    GHashTableIter it;
    gpointer key, value;
    int first = 1;
    g_hash_table_iter_init(&it, srv->sessions);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        g_string_append(out, first ? "" : ", ");
        append_session(out, value);
        first = 0;
    }
    g_string_append(out, "], \"workers\": ");
    append_workers(out, srv->models.worker);
    g_string_append_printf(out, ", \"max_session\": %d}", srv->opts->max_session);
    ls_http_reply(msg, SOUP_STATUS_OK, out);
}

void ls_route_admin_config(ls_server *srv, SoupServerMessage *msg, const char *path, GHashTable *query)
{
    GString *out = g_string_new("{\"code\": 0, \"data\": ");
    ls_server_options_to_json(srv->opts, out);
    g_string_append_c(out, '}');
    ls_http_reply(msg, SOUP_STATUS_OK, out);
}
