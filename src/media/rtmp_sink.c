/*
 * rtmp_sink.c - the RTMP push pipeline (see rtmp_sink.h).
 *
 * rtmp2sink connects when the pipeline starts and reports a refused or
 * broken connection as a pipeline error, which output.c turns into a retry.
 * It announces no successful connection, so its statistics are read every
 * 250 ms until the server has answered and media is going out: the output
 * is "live" from then. The appsrcs hold 3 frames: a push that cannot keep
 * up drops frames rather than growing a backlog (it is live).
 */
#include "media/rtmp_sink.h"

#include <string.h>

#include "media/encoders.h"
#include "util/glib_source.h"
#include "util/url.h"

#define FLV_AUDIO_RATE 44100
#define QUEUED_FRAMES 3
#define CONNECTED_POLL_MS 250

typedef struct rtmp {
    char *url;
    GstElement *sink;      /* the running try's rtmp2sink (a reference) */
    GSource *poll;         /* until it is connected */
} rtmp;

static GstElement *build(ls_output *o, ls_error *err)
{
    static const char *const needed[] = { "x264enc", "avenc_aac", "flvmux", "rtmp2sink", NULL };
    if (ls_encoder_require(needed, "gstreamer1.0-plugins-ugly, gstreamer1.0-libav, gstreamer1.0-plugins-good, "
                                   "gstreamer1.0-plugins-bad", err) < 0)
        return NULL;
    rtmp *r = ls_output_data(o);
    gchar *h264 = ls_encoder_h264(ls_output_width(o), ls_output_height(o), "main");
    gchar *aac = ls_encoder_aac(FLV_AUDIO_RATE);
    gchar *desc = g_strdup_printf("appsrc name=video ! %s ! queue ! mux. "
                                  "appsrc name=audio ! %s ! queue ! mux. "
                                  "flvmux name=mux streamable=true ! rtmp2sink name=out",
                                  h264, aac);
    GstElement *pipeline = ls_output_parse(desc, err);
    g_free(desc);
    g_free(aac);
    g_free(h264);
    if (!pipeline)
        return NULL;
    r->sink = gst_bin_get_by_name(GST_BIN(pipeline), "out");
    g_object_set(r->sink, "location", r->url, NULL);
    ls_encoder_delay_video(pipeline, FLV_AUDIO_RATE);
    return pipeline;
}

/* Live once the server has spoken and media bytes went out. */
static gboolean on_poll(gpointer data)
{
    ls_output *o = data;
    rtmp *r = ls_output_data(o);
    GstStructure *stats = NULL;
    g_object_get(r->sink, "stats", &stats, NULL);
    guint64 in = 0, out = 0;
    if (stats) {
        gst_structure_get_uint64(stats, "in-bytes-total", &in);
        gst_structure_get_uint64(stats, "out-bytes-total", &out);
        gst_structure_free(stats);
    }
    if (!in || !out)
        return G_SOURCE_CONTINUE;
    g_source_unref(r->poll);
    r->poll = NULL;
    ls_output_live(o);
    return G_SOURCE_REMOVE;
}

static int started(ls_output *o, ls_error *err)
{
    rtmp *r = ls_output_data(o);
    r->poll = g_timeout_source_new(CONNECTED_POLL_MS);
    g_source_set_callback(r->poll, on_poll, o, NULL);
    g_source_attach(r->poll, ls_output_context(o));
    return 0;
}

static void stopping(ls_output *o)
{
    rtmp *r = ls_output_data(o);
    ls_source_clear(&r->poll);
    if (r->sink)
        gst_object_unref(r->sink);
    r->sink = NULL;
}

static void free_rtmp(void *data)
{
    rtmp *r = data;
    g_free(r->url);
    g_free(r);
}

static const ls_output_kind rtmp_kind = {
    .name = "rtmp",
    .restart = 1,
    .finish_on_stop = 0,
    .max_frames = QUEUED_FRAMES,
    .build = build,
    .started = started,
    .stopping = stopping,
    .free_data = free_rtmp,
};

int ls_rtmp_output_new(const char *url, const ls_output_config *cfg, ls_output **out, ls_error *err)
{
    char shown[256];
    ls_url_redact(url, shown, sizeof shown);
    if (!g_str_has_prefix(url, "rtmp://") && !g_str_has_prefix(url, "rtmps://"))
        return ls_error_set(err, "push URL %s: RTMP needs rtmp://host[:port]/app/stream", shown);
    rtmp *r = g_new0(rtmp, 1);
    r->url = g_strdup(url);
    gchar *what = g_strdup_printf("rtmp %s", shown);
    int rc = ls_output_new(&rtmp_kind, r, cfg, what, out, err);
    g_free(what);
    return rc;
}
