/*
 * metrics.c - GET /metrics (see metrics.h).
 *
 * Every family is written whole (HELP, TYPE, then all its samples) before
 * the next, as the text format requires; counters end in _total. The
 * session figures are read once per session into a table first
 * (ls_producer_stats_get), so each family walks the table.
 */
#include "server/metrics.h"

#include "server/http.h"
#include "server/sessions.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef struct session_row {
    const char *id;
    ls_producer_stats st;
} session_row;

static void family(GString *out, const char *name, const char *type, const char *help)
{
    g_string_append_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value with \, " and newlines escaped. */
static void append_label_value(GString *out, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            g_string_append_c(out, '\\');
        if (*v == '\n')
            g_string_append(out, "\\n");
        else
            g_string_append_c(out, *v);
    }
}

static void sample(GString *out, const char *name, const char *label, const char *value_of_label,
                   const char *label2, const char *value2, double value)
{
    g_string_append(out, name);
    if (label) {
        g_string_append_printf(out, "{%s=\"", label);
        append_label_value(out, value_of_label);
        g_string_append_c(out, '"');
        if (label2) {
            g_string_append_printf(out, ",%s=\"", label2);
            append_label_value(out, value2);
            g_string_append_c(out, '"');
        }
        g_string_append_c(out, '}');
    }
    g_string_append_printf(out, " %.9g\n", value);
}

/* --- sessions ---------------------------------------------------------------- */

static GArray *read_sessions(ls_server *srv)
{
    GArray *rows = g_array_new(FALSE, TRUE, sizeof(session_row));
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, srv->sessions);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        ls_session *s = value;
        if (!s->producer)
            continue;
        session_row row = { .id = s->id };
        ls_producer_stats_get(s->producer, &row.st);
        g_array_append_val(rows, row);
    }
    return rows;
}

typedef double (*session_figure)(const ls_producer_stats *st);

static double output_fps(const ls_producer_stats *st) { return st->output_fps; }
static double lipsync_fps(const ls_producer_stats *st) { return st->lipsync_fps; }
static double lag_s(const ls_producer_stats *st) { return st->lag_s; }
static double engine_frames(const ls_producer_stats *st) { return st->engine_frames; }
static double engine_batches(const ls_producer_stats *st) { return st->engine_batches; }
static double speech_queue_s(const ls_producer_stats *st) { return st->speech_queue_ms / 1000.0; }

static void session_family(GString *out, GArray *rows, const char *name, const char *help, session_figure f)
{
    family(out, name, "gauge", help);
    for (guint i = 0; i < rows->len; i++) {
        const session_row *r = &g_array_index(rows, session_row, i);
        sample(out, name, "session", r->id, NULL, NULL, f(&r->st));
    }
}

static void write_sessions(ls_server *srv, GString *out)
{
    GArray *rows = read_sessions(srv);
    family(out, "lipstream_sessions", "gauge", "Sessions open.");
    sample(out, "lipstream_sessions", NULL, NULL, NULL, NULL, ls_sessions_count(srv));
    family(out, "lipstream_sessions_closing", "gauge",
           "Sessions closed whose producer and engine are still stopping (their batch in flight).");
    sample(out, "lipstream_sessions_closing", NULL, NULL, NULL, NULL, srv->closing_sessions);
    family(out, "lipstream_max_sessions", "gauge", "The session limit (--max_session).");
    sample(out, "lipstream_max_sessions", NULL, NULL, NULL, NULL, srv->opts->max_session);
    family(out, "lipstream_session_reserved_bytes", "gauge",
           "Device memory a new session reserves for its whisper encoder (0 on the CPU).");
    sample(out, "lipstream_session_reserved_bytes", NULL, NULL, NULL, NULL, (double)srv->session_bytes);
    session_family(out, rows, "lipstream_session_output_fps",
                   "Frames pushed to the session's outputs per second, over the last 2 s.", output_fps);
    session_family(out, rows, "lipstream_session_lipsync_fps",
                   "Pushed frames with a generated (lip-synced) face per second, over the last 2 s.",
                   lipsync_fps);
    session_family(out, rows, "lipstream_session_lag_seconds",
                   "How much later the last frame went out than it would have without stalls.", lag_s);
    session_family(out, rows, "lipstream_session_engine_frames",
                   "Video frames inside the session's lip-sync engine, not yet shown.", engine_frames);
    session_family(out, rows, "lipstream_session_engine_batches",
                   "Batches of the session's lip-sync engine at the inference worker.", engine_batches);
    session_family(out, rows, "lipstream_session_speech_queue_seconds",
                   "Speech audio waiting in the session's queue.", speech_queue_s);

    family(out, "lipstream_session_frames_total", "counter",
           "Frames of the session: pushed with a generated face (lipsynced), pushed without (idle), "
           "frame numbers skipped for lateness (skipped).");
    int64_t totals[3] = { srv->closed.lipsynced, srv->closed.frames - srv->closed.lipsynced, srv->closed.skipped };
    static const char *const kinds[3] = { "lipsynced", "idle", "skipped" };
    for (guint i = 0; i < rows->len; i++) {
        const session_row *r = &g_array_index(rows, session_row, i);
        int64_t v[3] = { r->st.lipsynced, r->st.frames - r->st.lipsynced, r->st.skipped };
        for (int k = 0; k < 3; k++) {
            sample(out, "lipstream_session_frames_total", "session", r->id, "kind", kinds[k], (double)v[k]);
            totals[k] += v[k];
        }
    }
    family(out, "lipstream_frames_total", "counter",
           "Frames of every session since start-up, closed ones included, by kind (as above).");
    for (int k = 0; k < 3; k++)
        sample(out, "lipstream_frames_total", "kind", kinds[k], NULL, NULL, (double)totals[k]);
    g_array_free(rows, TRUE);
}

/* --- the inference worker ----------------------------------------------------------- */

static void worker_sample(GString *out, const char *name, const char *type, const char *help, double v)
{
    family(out, name, type, help);
    sample(out, name, "worker", "0", NULL, NULL, v);
}

static void write_worker(ls_server *srv, GString *out)
{
    if (!srv->models.worker)
        return;
    ls_infer_stats st;
    ls_infer_worker_stats(srv->models.worker, &st);
    worker_sample(out, "lipstream_worker_frames_total", "counter", "Frames rendered (UNet + VAE decode).",
                  (double)st.frames);
    worker_sample(out, "lipstream_worker_batches_total", "counter", "Render calls.", (double)st.batches);
    worker_sample(out, "lipstream_worker_merged_batches_total", "counter",
                  "Render calls holding frames of several sessions.", (double)st.merged);
    worker_sample(out, "lipstream_worker_multi_job_batches_total", "counter",
                  "Render calls holding frames of several batches (of any sessions).", (double)st.multi_job);
    worker_sample(out, "lipstream_worker_silent_frames_total", "counter",
                  "Frames passed over without inference (silent, or no face).", (double)st.skipped);
    worker_sample(out, "lipstream_worker_busy_seconds_total", "counter", "Seconds spent rendering.", st.busy_s);
    worker_sample(out, "lipstream_worker_warm_up_seconds", "gauge",
                  "Seconds the start-up passes took (0: none, as on the CPU).", st.warm_up_s);
    worker_sample(out, "lipstream_worker_activation_bytes", "gauge",
                  "Backend memory held for activations.", (double)st.activation_bytes);
    worker_sample(out, "lipstream_worker_activation_growths_total", "counter",
                  "Times the activation memory grew after start-up (allocations inside render calls).",
                  (double)st.activation_growths);
    family(out, "lipstream_worker_passes_total", "counter",
           "Render passes replayed from a recording (a GPU's graph) or run as they are (direct), "
           "recordings made (recorded) and failed (failed).");
    int64_t passes[NN_PASS_KINDS];
    nn_recording_counts(&st.passes, passes);
    for (int k = 0; k < NN_PASS_KINDS; k++)
        sample(out, "lipstream_worker_passes_total", "worker", "0", "kind", nn_pass_kinds[k], (double)passes[k]);
    worker_sample(out, "lipstream_worker_queue_depth", "gauge", "Frames queued for rendering now.",
                  st.queued_frames);
    worker_sample(out, "lipstream_worker_queued_jobs", "gauge", "Session batches queued now.", st.queued_jobs);
    worker_sample(out, "lipstream_worker_fps", "gauge", "Frames rendered per second, over the last 2 s.",
                  st.recent_fps);
    worker_sample(out, "lipstream_worker_busy_ratio", "gauge", "Fraction of the last 2 s spent rendering.",
                  st.busy_fraction);
    worker_sample(out, "lipstream_worker_largest_batch", "gauge", "The most frames rendered in one call.",
                  st.largest_batch);
}

/* The GPU's memory (every process's use), where the models run on one. */
static void write_device(ls_server *srv, GString *out)
{
    const nn_backend *be = srv->models.worker ? ls_infer_worker_backend(srv->models.worker) : NULL;
    size_t used, total;
    if (!be || !be->memory_info || be->memory_info(&used, &total) != 0)
        return;
    family(out, "lipstream_device_memory_bytes", "gauge",
           "The GPU's memory in use (by every process) and in all.");
    sample(out, "lipstream_device_memory_bytes", "kind", "used", NULL, NULL, (double)used);
    sample(out, "lipstream_device_memory_bytes", "kind", "total", NULL, NULL, (double)total);
}

void ls_route_metrics(ls_server *srv, SoupServerMessage *msg, const char *path, GHashTable *query)
{
    GString *out = g_string_new(NULL);
    write_sessions(srv, out);
    write_worker(srv, out);
    write_device(srv, out);
    gsize len = out->len;
    soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
    soup_server_message_set_response(msg, CONTENT_TYPE, SOUP_MEMORY_TAKE, g_string_free(out, FALSE), len);
}

void ls_metrics_session_closed(ls_server *srv, ls_producer *producer)
{
    srv->closed.frames += ls_producer_frames(producer);
    srv->closed.lipsynced += ls_producer_lipsynced(producer);
    srv->closed.skipped += ls_producer_skipped(producer);
}
