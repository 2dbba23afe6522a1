/*
 * output.c - an output's pipeline life: start, watch, fail, retry, stop
 * (see output.h).
 *
 * Two threads touch an output. The producer calls push_frame; it only
 * takes `lock` and pushes into the appsrcs recorded there (if any). All
 * else runs on the main context: the bus watch, the retry timer, the kind's
 * hooks and the public calls. A pipeline is installed for the producer
 * (under the lock) once it is PLAYING and taken away (under the lock)
 * before it is stopped, so a push never meets a pipeline being torn down.
 */
#include "media/output.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "media/av_appsrc.h"
#include "util/glib_source.h"

#define FIRST_DELAY_S 1
#define MAX_DELAY_S 30
#define STEADY_US (10 * G_USEC_PER_SEC)   /* a pipeline that ran this long resets the back-off */
#define FINISH_TIMEOUT_S 10

struct ls_output {
    ls_media_sink sink;                /* first member: the output is a media sink */
    const ls_output_kind *kind;
    void *data;
    ls_output_config cfg;              /* label: our copy; clock: our reference */
    /* main context */
    GstElement *pipeline;
    GSource *bus_watch, *retry_timer;
    unsigned tries;
    gint64 started_us;
    int next_delay_s;
    char status[400];
    /* shared with the producer thread */
    GMutex lock;
    ls_av_appsrc src;
    int feeding;                       /* src holds the running pipeline's appsrcs */
};

static void set_status(ls_output *o, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void set_status(ls_output *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->status, sizeof o->status, fmt, ap);
    va_end(ap);
    fprintf(stderr, "lipstream: %s: %s\n", o->cfg.label, o->status);
    if (o->cfg.changed)
        o->cfg.changed(o->cfg.user, o, o->status);
}

/* An error message's text, with the reason GStreamer puts on the last lines
 * of its debug string ("No space left on device") when there is one. */
static void describe_error(GstMessage *msg, char *out, size_t size)
{
    GError *gerr = NULL;
    gchar *debug = NULL;
    gst_message_parse_error(msg, &gerr, &debug);
    const char *detail = debug ? strchr(debug, '\n') : NULL;
    if (detail) {
        g_strdelimit(debug, "\n", ' ');
        snprintf(out, size, "%s (%s)", gerr ? gerr->message : "pipeline error", detail + 1);
    } else {
        snprintf(out, size, "%s", gerr ? gerr->message : "pipeline error");
    }
    g_clear_error(&gerr);
    g_free(debug);
}

// --- the producer's side --------------------------------------------------------

static int push_frame(ls_media_sink *sink, const ls_image *bgr, const int16_t audio[LS_MEDIA_AUDIO_PER_VIDEO],
                      int64_t n)
{
    ls_output *o = (ls_output *)sink;
    if (bgr->channels != 3 || bgr->width != o->cfg.width || bgr->height != o->cfg.height)
        return -1;
    g_mutex_lock(&o->lock);
    if (o->feeding)
        ls_av_appsrc_push(&o->src, bgr, audio, n);   /* a stopping pipeline's refusal is a drop */
    g_mutex_unlock(&o->lock);
    return 0;
}

static const ls_media_sink_ops output_sink_ops = { push_frame };

// --- stopping -------------------------------------------------------------------

/* Takes the appsrcs away from the producer. */
static void stop_feeding(ls_output *o)
{
    g_mutex_lock(&o->lock);
    ls_av_appsrc src = o->src;
    int feeding = o->feeding;
    o->feeding = 0;
    memset(&o->src, 0, sizeof o->src);
    g_mutex_unlock(&o->lock);
    if (feeding)
        ls_av_appsrc_clear(&src);
}


static void teardown(ls_output *o)
{
    if (!o->pipeline)
        return;
    if (o->kind->stopping)
        o->kind->stopping(o);
    stop_feeding(o);
    ls_source_clear(&o->bus_watch);
    gst_element_set_state(o->pipeline, GST_STATE_NULL);
    gst_object_unref(o->pipeline);
    o->pipeline = NULL;
}

/* End of stream into the appsrcs, then wait until it has gone through the
 * muxer (or an error, or the timeout). */
static void finish(ls_output *o)
{
    g_mutex_lock(&o->lock);
    if (o->feeding)
        ls_av_appsrc_end(&o->src);
    o->feeding = 0;
    g_mutex_unlock(&o->lock);
    ls_source_clear(&o->bus_watch);
    GstBus *bus = gst_element_get_bus(o->pipeline);
    GstMessage *msg = gst_bus_timed_pop_filtered(bus, (GstClockTime)FINISH_TIMEOUT_S * GST_SECOND,
                                                 GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
    if (!msg) {
        fprintf(stderr, "lipstream: %s: did not finish within %d s\n", o->cfg.label, FINISH_TIMEOUT_S);
    } else if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
        char why[300];
        describe_error(msg, why, sizeof why);
        fprintf(stderr, "lipstream: %s: failed while finishing: %s\n", o->cfg.label, why);
    }
    if (msg)
        gst_message_unref(msg);
    gst_object_unref(bus);
    ls_av_appsrc_clear(&o->src);
}

// --- starting, failing, retrying ------------------------------------------------

static int start_pipeline(ls_output *o, ls_error *err);

static void handle_failure(ls_output *o, const char *why);

static gboolean on_retry(gpointer data)
{
    ls_output *o = data;
    ls_source_clear(&o->retry_timer);
    ls_error err;
    if (start_pipeline(o, &err) < 0)
        handle_failure(o, err.msg);
    return G_SOURCE_REMOVE;
}

/* Stops what is left of the pipeline; then either a retry or "failed". */
static void handle_failure(ls_output *o, const char *why)
{
    gint64 ran = o->started_us ? g_get_monotonic_time() - o->started_us : 0;
    char reason[300];
    g_strlcpy(reason, why, sizeof reason);   /* `why` may live in what teardown frees */
    teardown(o);
    o->started_us = 0;
    if (!o->kind->restart) {
        set_status(o, "failed: %s", reason);
        return;
    }
    int delay = ran >= STEADY_US ? FIRST_DELAY_S : o->next_delay_s;
    o->next_delay_s = MIN(delay * 2, MAX_DELAY_S);
    o->retry_timer = g_timeout_source_new_seconds((guint)delay);
    g_source_set_callback(o->retry_timer, on_retry, o, NULL);
    g_source_attach(o->retry_timer, o->cfg.context);
    set_status(o, "retrying in %d s: %s", delay, reason);
}

void ls_output_fail(ls_output *o, const char *why)
{
    if (o->pipeline)   /* only the running pipeline can fail */
        handle_failure(o, why);
}

void ls_output_live(ls_output *o)
{
    if (o->pipeline && strcmp(o->status, "live") != 0)
        set_status(o, "live");
}

static gboolean on_bus_message(GstBus *bus, GstMessage *msg, gpointer data)
{
    ls_output *o = data;
    switch (GST_MESSAGE_TYPE(msg)) {
    case GST_MESSAGE_ERROR: {
        char why[300];
        describe_error(msg, why, sizeof why);
        ls_output_fail(o, why);
        return G_SOURCE_REMOVE;   /* the watch is gone with the pipeline */
    }
    case GST_MESSAGE_EOS:
        ls_output_fail(o, "the stream ended");
        return G_SOURCE_REMOVE;
    case GST_MESSAGE_LATENCY:
        gst_bin_recalculate_latency(GST_BIN(o->pipeline));
        break;
    case GST_MESSAGE_STATE_CHANGED:
        if (GST_MESSAGE_SRC(msg) == GST_OBJECT(o->pipeline) && !o->kind->started) {
            GstState state;
            gst_message_parse_state_changed(msg, NULL, &state, NULL);
            if (state == GST_STATE_PLAYING)
                ls_output_live(o);
        }
        break;
    default:
        break;
    }
    return G_SOURCE_CONTINUE;
}

/* The error a pipeline that would not start left on its bus. */
static int start_error(ls_output *o, ls_error *err)
{
    GstBus *bus = gst_element_get_bus(o->pipeline);
    GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
    if (msg) {
        describe_error(msg, err->msg, sizeof err->msg);
        gst_message_unref(msg);
    } else {
        ls_error_set(err, "the pipeline does not start");
    }
    gst_object_unref(bus);
    return -1;
}

static int start_pipeline(ls_output *o, ls_error *err)
{
    o->tries++;
    o->pipeline = o->kind->build(o, err);
    if (!o->pipeline)
        return -1;
    gst_pipeline_use_clock(GST_PIPELINE(o->pipeline), o->cfg.clock);
    gst_element_set_start_time(o->pipeline, GST_CLOCK_TIME_NONE);
    int64_t first = ls_av_first_frame(o->cfg.base_time, gst_clock_get_time(o->cfg.clock));
    gst_element_set_base_time(o->pipeline, o->cfg.base_time + (GstClockTime)first * LS_MEDIA_FRAME_NS);
    ls_av_appsrc src;
    if (ls_av_appsrc_init(&src, o->pipeline, o->cfg.width, o->cfg.height, o->kind->max_frames, first, err) < 0)
        return -1;
    if (gst_element_set_state(o->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
        ls_av_appsrc_clear(&src);
        return start_error(o, err);
    }
    GstBus *bus = gst_element_get_bus(o->pipeline);
    o->bus_watch = gst_bus_create_watch(bus);
    gst_object_unref(bus);
    g_source_set_callback(o->bus_watch, (GSourceFunc)(void (*)(void))on_bus_message, o, NULL);
    g_source_attach(o->bus_watch, o->cfg.context);

    g_mutex_lock(&o->lock);
    o->src = src;
    o->feeding = 1;
    g_mutex_unlock(&o->lock);
    o->started_us = g_get_monotonic_time();
    set_status(o, "starting");
    return o->kind->started ? o->kind->started(o, err) : 0;
}

// --- public ---------------------------------------------------------------------

int ls_output_new(const ls_output_kind *kind, void *data, const ls_output_config *cfg, const char *what,
                  ls_output **out, ls_error *err)
{
    ls_output *o = g_new0(ls_output, 1);
    o->sink.ops = &output_sink_ops;
    o->kind = kind;
    o->data = data;
    o->cfg = *cfg;
    o->cfg.label = g_strdup_printf("%s: %s", cfg->label, what);
    gst_object_ref(o->cfg.clock);
    o->next_delay_s = FIRST_DELAY_S;
    g_mutex_init(&o->lock);
    ls_error why;
    if (start_pipeline(o, &why) < 0) {
        if (!kind->restart) {
            teardown(o);
            ls_error_set(err, "%s", why.msg);
            ls_output_free(o);
            return -1;
        }
        handle_failure(o, why.msg);
    }
    *out = o;
    return 0;
}

void ls_output_free(ls_output *o)
{
    if (!o)
        return;
    ls_source_clear(&o->retry_timer);
    if (o->pipeline && o->kind->finish_on_stop)
        finish(o);
    teardown(o);
    if (o->kind->free_data)
        o->kind->free_data(o->data);
    gst_object_unref(o->cfg.clock);
    g_free((char *)o->cfg.label);
    g_mutex_clear(&o->lock);
    g_free(o);
}

ls_media_sink *ls_output_sink(ls_output *o)
{
    return &o->sink;
}

const char *ls_output_status(ls_output *o)
{
    return o->status;
}

const char *ls_output_kind_name(ls_output *o)
{
    return o->kind->name;
}

int ls_output_ok(ls_output *o)
{
    return o->pipeline != NULL;
}

void *ls_output_data(ls_output *o)
{
    return o->data;
}

const char *ls_output_label(ls_output *o)
{
    return o->cfg.label;
}

GMainContext *ls_output_context(ls_output *o)
{
    return o->cfg.context;
}

int ls_output_width(ls_output *o)
{
    return o->cfg.width;
}

int ls_output_height(ls_output *o)
{
    return o->cfg.height;
}

GstElement *ls_output_parse(const char *description, ls_error *err)
{
    GError *gerr = NULL;
    GstElement *pipeline = gst_parse_launch(description, &gerr);
    if (!pipeline || gerr) {
        ls_error_set(err, "pipeline '%s': %s", description, gerr ? gerr->message : "cannot be built");
        g_clear_error(&gerr);
        if (pipeline)
            gst_object_unref(pipeline);
        return NULL;
    }
    return pipeline;
}

GstElement *ls_output_pipeline(ls_output *o)
{
    return o->pipeline;
}

unsigned ls_output_try(ls_output *o)
{
    return o->tries;
}
