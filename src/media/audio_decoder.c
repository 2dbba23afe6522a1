/*
 * audio_decoder.c - streaming decode of compressed audio (see audio_decoder.h).
 *
 * The pipeline:
 *   appsrc -> decodebin -> audioconvert -> audioresample -> appsink (audio/x-raw S16LE 16 kHz mono)
 * decodebin's pads appear on its streaming thread once it has found the
 * format; the first audio pad is linked to audioconvert, later ones (a
 * chained Ogg stream's next part) replace it when the one before is gone.
 * What the streaming threads learn (the format typefind found, a stream no
 * plugin decodes, the pads) is kept under `lock` for the caller's thread,
 * which alone pushes bytes, pulls samples and reads the bus.
 */
#include "media/audio_decoder.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

#define PULL_MS 20          /* finish(): one wait for samples */
#define STALL_MS 5000       /* finish(): no samples and no end for this long is an error */

struct ls_audio_decoder {
    GstElement *pipeline, *src, *convert, *sink;
    GstBus *bus;
    char *name;
    ls_audio_decoder_fn out;
    void *user;
    int64_t samples;
    int stopped;

    GMutex lock;            /* guards the fields below (written by streaming threads) */
    int audio_pads, no_more_pads;
    char *found_type;       /* what typefind saw, e.g. "image/png" */
    char *undecodable;      /* a stream type with no decoder */
};

// --- decodebin's signals (streaming threads) ----------------------------------------------

static char *caps_name(GstCaps *caps)
{
    if (!caps || gst_caps_get_size(caps) == 0)
        return g_strdup("unknown");
    return g_strdup(gst_structure_get_name(gst_caps_get_structure(caps, 0)));
}

static void on_have_type(GstElement *typefind, guint probability, GstCaps *caps, gpointer data)
{
    ls_audio_decoder *d = data;
    g_mutex_lock(&d->lock);
    g_free(d->found_type);
    d->found_type = caps_name(caps);
    g_mutex_unlock(&d->lock);
}

static void on_unknown_type(GstElement *decodebin, GstPad *pad, GstCaps *caps, gpointer data)
{
    ls_audio_decoder *d = data;
    g_mutex_lock(&d->lock);
    g_free(d->undecodable);
    d->undecodable = caps_name(caps);
    g_mutex_unlock(&d->lock);
}

static void on_pad_added(GstElement *decodebin, GstPad *pad, gpointer data)
{
    ls_audio_decoder *d = data;
    GstCaps *caps = gst_pad_get_current_caps(pad);
    if (!caps)
        caps = gst_pad_query_caps(pad, NULL);
    char *type = caps_name(caps);
    gst_caps_unref(caps);
    if (g_str_has_prefix(type, "audio/")) {
        GstPad *sinkpad = gst_element_get_static_pad(d->convert, "sink");
        GstPad *old = gst_pad_get_peer(sinkpad);
        if (old) {
            gst_pad_unlink(old, sinkpad);
            gst_object_unref(old);
        }
        int linked = gst_pad_link(pad, sinkpad) == GST_PAD_LINK_OK;
        gst_object_unref(sinkpad);
        g_mutex_lock(&d->lock);
        d->audio_pads += linked;
        g_mutex_unlock(&d->lock);
    }
    g_free(type);
}

static void on_no_more_pads(GstElement *decodebin, gpointer data)
{
    ls_audio_decoder *d = data;
    g_mutex_lock(&d->lock);
    d->no_more_pads = 1;
    g_mutex_unlock(&d->lock);
}

// --- the caller's side ---------------------------------------------------------------------

/* Why the input gave no audio, from what the streaming threads saw and
 * `detail` (GStreamer's message); lock held. Audio types, and containers
 * that may hold audio (application/ogg, video/quicktime, ...), are files
 * that could not be decoded; anything else (text, images) is not audio. */
static void why_no_audio(ls_audio_decoder *d, const char *detail, char *out, size_t size)
{
    const char *type = d->undecodable ? d->undecodable : d->found_type;
    int audio_like = type && (g_str_has_prefix(type, "audio/") || g_str_has_prefix(type, "application/") ||
                              g_str_has_prefix(type, "video/"));
    if (d->undecodable && g_str_has_prefix(type, "audio/"))
        g_snprintf(out, size, "no decoder for %s", type);
    else if (audio_like)
        g_snprintf(out, size, "cannot decode it (%s): %s", type, detail);
    else if (type)
        g_snprintf(out, size, "not an audio file (it is %s)", type);
    else
        g_snprintf(out, size, "not an audio file (%s)", detail);
}

/* An error posted on the bus: -1 with the error set, else 0. */
static int check_bus(ls_audio_decoder *d, ls_error *err)
{
    GstMessage *msg = gst_bus_pop_filtered(d->bus, GST_MESSAGE_ERROR);
    if (!msg)
        return 0;
    GError *gerr = NULL;
    gst_message_parse_error(msg, &gerr, NULL);
    char what[512];
    g_mutex_lock(&d->lock);
    if (d->audio_pads == 0)
        why_no_audio(d, gerr ? gerr->message : "unreadable", what, sizeof what);
    else
        g_snprintf(what, sizeof what, "cannot decode it: %s", gerr ? gerr->message : "decoder error");
    g_mutex_unlock(&d->lock);
    g_clear_error(&gerr);
    gst_message_unref(msg);
    return ls_error_set(err, "%s: %s", d->name, what);
}

/* Hands on the samples the appsink holds, waiting up to `wait_ms` for the
 * first; the number of buffers handed on. */
static int drain(ls_audio_decoder *d, int wait_ms)
{
    int got = 0;
    GstClockTime wait = (GstClockTime)wait_ms * GST_MSECOND;
    GstSample *sample;
    while (!d->stopped && (sample = gst_app_sink_try_pull_sample(GST_APP_SINK(d->sink), wait))) {
        GstBuffer *buf = gst_sample_get_buffer(sample);
        GstMapInfo map;
        if (buf && gst_buffer_map(buf, &map, GST_MAP_READ)) {
            int n = (int)(map.size / sizeof(int16_t));
            if (n > 0) {
                d->samples += n;
                d->stopped = d->out(d->user, (const int16_t *)map.data, n) != 0;
            }
            gst_buffer_unmap(buf, &map);
        }
        gst_sample_unref(sample);
        got++;
        wait = 0;
    }
    return got;
}

int ls_audio_decoder_push(ls_audio_decoder *d, const void *bytes, size_t n, ls_error *err)
{
    if (d->stopped)
        return 1;
    if (n > 0 && gst_app_src_push_buffer(GST_APP_SRC(d->src), gst_buffer_new_memdup(bytes, n)) != GST_FLOW_OK)
        return check_bus(d, err) < 0 ? -1 : ls_error_set(err, "%s: the decoder stopped taking data", d->name);
    drain(d, 0);
    if (check_bus(d, err) < 0)
        return -1;
    return d->stopped;
}

int ls_audio_decoder_finish(ls_audio_decoder *d, ls_error *err)
{
    gst_app_src_end_of_stream(GST_APP_SRC(d->src));
    gint64 progress = g_get_monotonic_time();
    while (!d->stopped) {
        if (check_bus(d, err) < 0)
            return -1;
        if (drain(d, PULL_MS) > 0) {
            progress = g_get_monotonic_time();
            continue;
        }
        if (gst_app_sink_is_eos(GST_APP_SINK(d->sink)))
            break;
        g_mutex_lock(&d->lock);
        char what[512];
        int no_audio = d->no_more_pads && d->audio_pads == 0;
        if (no_audio)
            why_no_audio(d, "no audio stream in it", what, sizeof what);
        g_mutex_unlock(&d->lock);
        if (no_audio)
            return ls_error_set(err, "%s: %s", d->name, what);
        if (g_get_monotonic_time() - progress > STALL_MS * G_TIME_SPAN_MILLISECOND)
            return ls_error_set(err, "%s: decoding stalled (no audio for %d s)", d->name, STALL_MS / 1000);
    }
    if (d->stopped)
        return 1;
    if (check_bus(d, err) < 0)
        return -1;
    return d->samples > 0 ? 0 : ls_error_set(err, "%s: holds no audio", d->name);
}

int64_t ls_audio_decoder_samples(const ls_audio_decoder *d)
{
    return d->samples;
}

// --- making and freeing ----------------------------------------------------------------------

static GstElement *add(ls_audio_decoder *d, const char *factory)
{
    GstElement *e = gst_element_factory_make(factory, NULL);
    if (e)
        gst_bin_add(GST_BIN(d->pipeline), e);
    return e;
}

int ls_audio_decoder_new(const char *name, ls_audio_decoder_fn out, void *user, ls_audio_decoder **dec,
                         ls_error *err)
{
    GError *gerr = NULL;
    if (!gst_init_check(NULL, NULL, &gerr)) {
        ls_error_set(err, "GStreamer: %s", gerr ? gerr->message : "cannot initialise");
        g_clear_error(&gerr);
        return -1;
    }
    ls_audio_decoder *d = g_new0(ls_audio_decoder, 1);
    g_mutex_init(&d->lock);
    d->name = g_strdup(name);
    d->out = out;
    d->user = user;
    d->pipeline = gst_pipeline_new("audio-decoder");
    d->src = add(d, "appsrc");
    GstElement *decodebin = add(d, "decodebin"), *resample;
    d->convert = add(d, "audioconvert");
    resample = add(d, "audioresample");
    d->sink = add(d, "appsink");
    if (!d->src || !decodebin || !d->convert || !resample || !d->sink ||
        !gst_element_link(d->src, decodebin) || !gst_element_link_many(d->convert, resample, d->sink, NULL)) {
        ls_audio_decoder_free(d);
        return ls_error_set(err, "GStreamer: cannot build the audio decoder (decodebin, audioconvert, "
                                 "audioresample from gstreamer1.0-plugins-base)");
    }
    GstCaps *caps = gst_caps_new_simple("audio/x-raw", "format", G_TYPE_STRING, "S16LE", "rate", G_TYPE_INT,
                                        LS_AUDIO_DECODER_RATE, "channels", G_TYPE_INT, 1, "layout", G_TYPE_STRING,
                                        "interleaved", NULL);
    g_object_set(d->sink, "caps", caps, "sync", FALSE, NULL);
    gst_caps_unref(caps);
    g_object_set(d->src, "format", GST_FORMAT_BYTES, NULL);
    g_signal_connect(decodebin, "pad-added", G_CALLBACK(on_pad_added), d);
    g_signal_connect(decodebin, "no-more-pads", G_CALLBACK(on_no_more_pads), d);
    g_signal_connect(decodebin, "unknown-type", G_CALLBACK(on_unknown_type), d);
    GstElement *typefind = gst_bin_get_by_name(GST_BIN(decodebin), "typefind");
    if (typefind) {
        g_signal_connect(typefind, "have-type", G_CALLBACK(on_have_type), d);
        gst_object_unref(typefind);
    }
    d->bus = gst_element_get_bus(d->pipeline);
    if (gst_element_set_state(d->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
        ls_audio_decoder_free(d);
        return ls_error_set(err, "GStreamer: cannot start the audio decoder");
    }
    *dec = d;
    return 0;
}

void ls_audio_decoder_free(ls_audio_decoder *d)
{
    if (!d)
        return;
    gst_element_set_state(d->pipeline, GST_STATE_NULL);
    if (d->bus)
        gst_object_unref(d->bus);
    gst_object_unref(d->pipeline);
    g_mutex_clear(&d->lock);
    g_free(d->found_type);
    g_free(d->undecodable);
    g_free(d->name);
    g_free(d);
}
