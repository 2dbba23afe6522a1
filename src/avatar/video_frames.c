/*
 * video_frames.c - decoding a video file's frames with GStreamer (see
 * video_frames.h).
 *
 * The pipeline is built element by element: decodebin's pads appear once
 * it has typed the stream, and the first raw video pad is linked to
 * videoconvert. Prerolling (PAUSED) proves the file decodes and gives the
 * frame size and rate; then the pipeline plays and frames are pulled from
 * the appsink with a short timeout, so a stream error on the bus ends the
 * loop instead of blocking it.
 */
#include "avatar/video_frames.h"

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <stdlib.h>
#include <string.h>

#include "avatar/progress.h"

#define PREROLL_TIMEOUT_S 30
#define PULL_TIMEOUT_MS 100

typedef struct decoder {
    const char *path;
    GstElement *pipeline;
    GstElement *convert;   /* borrowed from the pipeline */
    GstAppSink *sink;      /* borrowed from the pipeline */
    GstBus *bus;
} decoder;

/* decodebin "pad-added": the first raw video pad goes to videoconvert. */
static void link_video_pad(GstElement *decodebin, GstPad *pad, gpointer data)
{
    GstElement *convert = data;
    GstCaps *caps = gst_pad_get_current_caps(pad);
    if (!caps)
        caps = gst_pad_query_caps(pad, NULL);
    const char *media = gst_structure_get_name(gst_caps_get_structure(caps, 0));
    GstPad *sink = gst_element_get_static_pad(convert, "sink");
    if (g_str_has_prefix(media, "video/x-raw") && !gst_pad_is_linked(sink))
        gst_pad_link(pad, sink);
    gst_object_unref(sink);
    gst_caps_unref(caps);
}

static void decoder_close(decoder *d)
{
    if (d->pipeline) {
        gst_element_set_state(d->pipeline, GST_STATE_NULL);
        gst_object_unref(d->pipeline);
    }
    if (d->bus)
        gst_object_unref(d->bus);
    memset(d, 0, sizeof *d);
}

static int decoder_open(decoder *d, const char *path, ls_error *err)
{
    memset(d, 0, sizeof *d);
    d->path = path;
    GError *e = NULL;
    if (!gst_init_check(NULL, NULL, &e)) {
        ls_error_set(err, "GStreamer: %s", e ? e->message : "cannot initialise");
        g_clear_error(&e);
        return -1;
    }
    d->pipeline = gst_pipeline_new("video-frames");
    GstElement *src = gst_element_factory_make("filesrc", NULL);
    GstElement *decode = gst_element_factory_make("decodebin", NULL);
    d->convert = gst_element_factory_make("videoconvert", NULL);
    GstElement *sink = gst_element_factory_make("appsink", NULL);
    if (!d->pipeline || !src || !decode || !d->convert || !sink) {
        GstElement *made[] = { src, decode, d->convert, sink };
        for (size_t i = 0; i < sizeof made / sizeof made[0]; i++)
            if (made[i])
                gst_object_unref(made[i]);
        return ls_error_set(err, "%s: GStreamer plugins missing (filesrc, decodebin, videoconvert, "
                            "appsink: install gstreamer1.0-plugins-base)", path);
    }
    gst_bin_add_many(GST_BIN(d->pipeline), src, decode, d->convert, sink, NULL);
    g_object_set(src, "location", path, NULL);
    GstCaps *bgr = gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "BGR", NULL);
    g_object_set(sink, "caps", bgr, "sync", FALSE, "max-buffers", 4, NULL);
    gst_caps_unref(bgr);
    d->sink = GST_APP_SINK(sink);
    g_signal_connect(decode, "pad-added", G_CALLBACK(link_video_pad), d->convert);
    if (!gst_element_link(src, decode) || !gst_element_link(d->convert, sink))
        return ls_error_set(err, "%s: cannot build the decoding pipeline", path);
    d->bus = gst_element_get_bus(d->pipeline);
    return 0;
}

/* The first error on the bus (waiting up to `timeout`), or 0. */
static int bus_error(decoder *d, GstClockTime timeout, ls_error *err)
{
    GstMessage *msg = gst_bus_timed_pop_filtered(d->bus, timeout, GST_MESSAGE_ERROR);
    if (!msg)
        return 0;
    GError *e = NULL;
    gst_message_parse_error(msg, &e, NULL);
    ls_error_set(err, "%s: %s", d->path, e ? e->message : "GStreamer error");
    g_clear_error(&e);
    gst_message_unref(msg);
    return -1;
}

/* PAUSED: the file is typed and the first frame decoded, or an error. */
static int preroll(decoder *d, ls_error *err)
{
    if (gst_element_set_state(d->pipeline, GST_STATE_PAUSED) == GST_STATE_CHANGE_FAILURE)
        return bus_error(d, 0, err) ? -1 : ls_error_set(err, "%s: cannot be opened", d->path);
    GstMessage *msg = gst_bus_timed_pop_filtered(d->bus, PREROLL_TIMEOUT_S * GST_SECOND,
                                                 GST_MESSAGE_ERROR | GST_MESSAGE_ASYNC_DONE);
    if (!msg)
        return ls_error_set(err, "%s: no video frame after %d s", d->path, PREROLL_TIMEOUT_S);
    int failed = GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR;
    if (failed) {
        GError *e = NULL;
        gst_message_parse_error(msg, &e, NULL);
        ls_error_set(err, "%s: %s", d->path, e ? e->message : "cannot be decoded");
        g_clear_error(&e);
    }
    gst_message_unref(msg);
    GstPad *pad = gst_element_get_static_pad(d->convert, "sink");
    int linked = gst_pad_is_linked(pad);
    gst_object_unref(pad);
    if (!failed && !linked)
        return ls_error_set(err, "%s: no video stream", d->path);
    return failed ? -1 : 0;
}

/* The frame size and rate from the negotiated caps. */
static int stream_info(decoder *d, ls_video_frames *v, ls_error *err)
{
    GstSample *sample = gst_app_sink_pull_preroll(d->sink);
    GstVideoInfo info;
    int ok = sample && gst_video_info_from_caps(&info, gst_sample_get_caps(sample));
    if (sample)
        gst_sample_unref(sample);
    if (!ok)
        return ls_error_set(err, "%s: the decoder gave no video format", d->path);
    v->width = GST_VIDEO_INFO_WIDTH(&info);
    v->height = GST_VIDEO_INFO_HEIGHT(&info);
    v->fps = info.fps_d > 0 && info.fps_n > 0 ? (double)info.fps_n / info.fps_d : 0;
    return 0;
}

/* Frames expected, for the progress bar: duration x rate (0 if unknown). */
static int expected_frames(decoder *d, const ls_video_frames *v, int max_frames)
{
    gint64 duration = 0;
    int n = 0;
    if (v->fps > 0 && gst_element_query_duration(d->pipeline, GST_FORMAT_TIME, &duration) &&
        duration > 0)
        n = (int)((double)duration / GST_SECOND * v->fps + 0.5);
    return max_frames > 0 && (n == 0 || n > max_frames) ? max_frames : n;
}

/* Appends the sample's frame to v as a new BGR image. */
static int add_frame(decoder *d, GstSample *sample, ls_video_frames *v, int *cap, ls_error *err)
{
    GstVideoInfo info;
    if (!gst_video_info_from_caps(&info, gst_sample_get_caps(sample)))
        return ls_error_set(err, "%s: frame %d has no video format", d->path, v->n);
    if (GST_VIDEO_INFO_WIDTH(&info) != v->width || GST_VIDEO_INFO_HEIGHT(&info) != v->height)
        return ls_error_set(err, "%s: frame %d is %dx%d, frame 0 is %dx%d", d->path, v->n,
                            GST_VIDEO_INFO_WIDTH(&info), GST_VIDEO_INFO_HEIGHT(&info), v->width,
                            v->height);
    if (v->n == *cap) {
        int grown = *cap ? *cap * 2 : 64;
        ls_image *frames = realloc(v->frames, sizeof *frames * (size_t)grown);
        if (!frames)
            return ls_error_set(err, "%s: out of memory at frame %d", d->path, v->n);
        v->frames = frames;
        *cap = grown;
    }
    ls_image *img = &v->frames[v->n];
    if (ls_image_alloc(img, v->width, v->height, 3, err))
        return ls_error_prefix(err, "%s: frame %d", d->path, v->n);
    GstVideoFrame frame;
    if (!gst_video_frame_map(&frame, &info, gst_sample_get_buffer(sample), GST_MAP_READ)) {
        ls_image_free(img);
        return ls_error_set(err, "%s: frame %d cannot be read", d->path, v->n);
    }
    const uint8_t *src = GST_VIDEO_FRAME_PLANE_DATA(&frame, 0);
    int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0);
    for (int y = 0; y < v->height; y++)
        memcpy(ls_image_row(img, y), src + (size_t)y * stride, (size_t)v->width * 3);
    gst_video_frame_unmap(&frame);
    v->n++;
    return 0;
}

/* PLAYING: pulls frames until the end, max_frames, or an error. */
static int pull_frames(decoder *d, int max_frames, ls_progress *bar, ls_video_frames *v,
                       ls_error *err)
{
    if (gst_element_set_state(d->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
        return bus_error(d, 0, err) ? -1 : ls_error_set(err, "%s: cannot play", d->path);
    int cap = 0;
    while (max_frames <= 0 || v->n < max_frames) {
        if (bus_error(d, 0, err))
            return ls_error_prefix(err, "frame %d", v->n);
        GstSample *sample = gst_app_sink_try_pull_sample(d->sink, PULL_TIMEOUT_MS * GST_MSECOND);
        if (!sample) {
            if (gst_app_sink_is_eos(d->sink))
                break;
            continue;
        }
        int rc = add_frame(d, sample, v, &cap, err);
        gst_sample_unref(sample);
        if (rc)
            return -1;
        if (bar->done >= bar->total)
            bar->total = bar->done + 1;   /* the duration under-estimated the count */
        ls_progress_step(bar);
    }
    if (v->n == 0)
        return ls_error_set(err, "%s: the video has no frames", d->path);
    return 0;
}

int ls_video_frames_read(const char *path, int max_frames, const char *label,
                         ls_video_frames *out, ls_error *err)
{
    memset(out, 0, sizeof *out);
    decoder d;
    ls_progress bar = { 0 };
    int rc = decoder_open(&d, path, err);
    if (rc == 0)
        rc = preroll(&d, err);
    if (rc == 0)
        rc = stream_info(&d, out, err);
    if (rc == 0) {
        ls_progress_start(&bar, label, expected_frames(&d, out, max_frames));
        rc = pull_frames(&d, max_frames, &bar, out, err);
        bar.total = bar.done;
        ls_progress_end(&bar);
    }
    decoder_close(&d);
    if (rc)
        ls_video_frames_free(out);
    return rc;
}

void ls_video_frames_free(ls_video_frames *v)
{
    for (int i = 0; i < v->n; i++)
        ls_image_free(&v->frames[i]);
    free(v->frames);
    memset(v, 0, sizeof *v);
}
