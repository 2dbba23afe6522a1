/*
 * mp4_writer.c - the MP4 pipeline of mp4_writer.h.
 *
 * Both appsrc elements block when a few frames are queued; the queues in
 * front of the muxer are unbounded, so the muxer waiting for video held in
 * x264's look-ahead never stops the audio branch (and with it the writer).
 * Errors posted on the bus are checked before every frame and at the end.
 *
 * A/V alignment: libav's AAC encoder starts its stream with 1024 samples of
 * priming (encoder delay) and mp4mux writes no edit list to skip them, so
 * decoded audio comes out 1024 samples (64 ms at 16 kHz) late. The video is
 * stamped that much later to match (mp4mux starts the video track with an
 * empty edit): frame n plays at the same instant as its audio.
 */
#include "media/mp4_writer.h"

#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <stdio.h>
#include <string.h>

#define QUEUED_FRAMES 4
#define CLOSE_TIMEOUT_S 120
#define AAC_ENCODER "avenc_aac"
#define AAC_PRIMING_SAMPLES 1024   /* libav's AAC encoder delay (its initial_padding) */

struct ls_mp4_writer {
    GstElement *pipeline;
    GstElement *video, *audio;   /* the two appsrc elements */
    GstBus *bus;
    int width, height, stride;   /* GStreamer's BGR rows are padded to 4 bytes */
    int64_t frames;
    char *path;
};

/* -1 with the bus's error message when the pipeline has failed. */
static int bus_error(ls_mp4_writer *w, GstClockTime timeout, int want_eos, ls_error *err)
{
    GstMessageType types = GST_MESSAGE_ERROR | (want_eos ? GST_MESSAGE_EOS : 0);
    GstMessage *msg = gst_bus_timed_pop_filtered(w->bus, timeout, types);
    if (!msg)
        return want_eos ? ls_error_set(err, "%s: the muxer did not finish in %d s", w->path,
                                       CLOSE_TIMEOUT_S)
                        : 0;
    int rc = 0;
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
        GError *e = NULL;
        gst_message_parse_error(msg, &e, NULL);
        rc = ls_error_set(err, "%s: %s", w->path, e ? e->message : "pipeline error");
        g_clear_error(&e);
    }
    gst_message_unref(msg);
    return rc;
}

static void destroy(ls_mp4_writer *w)
{
    if (w->pipeline) {
        gst_element_set_state(w->pipeline, GST_STATE_NULL);
        gst_object_unref(w->pipeline);
    }
    if (w->video)
        gst_object_unref(w->video);
    if (w->audio)
        gst_object_unref(w->audio);
    if (w->bus)
        gst_object_unref(w->bus);
    g_free(w->path);
    g_free(w);
}

static int build(ls_mp4_writer *w, ls_error *err)
{
    static const char *const needed[] = { "appsrc", "videoconvert", "x264enc", "h264parse",
                                          "audioconvert", AAC_ENCODER, "aacparse", "mp4mux",
                                          "filesink" };
    for (size_t i = 0; i < sizeof needed / sizeof needed[0]; i++) {
        GstElementFactory *f = gst_element_factory_find(needed[i]);
        if (!f)
            return ls_error_set(err, "GStreamer element %s is missing (install the gstreamer1.0-"
                                "plugins-{base,good,bad,ugly} and gstreamer1.0-libav packages)",
                                needed[i]);
        gst_object_unref(f);
    }
    char desc[2048];
    snprintf(desc, sizeof desc,
             "appsrc name=video format=time block=true max-bytes=%d "
             "caps=video/x-raw,format=BGR,width=%d,height=%d,framerate=%d/1 "
             "! videoconvert ! video/x-raw,format=I420 "
             "! x264enc pass=qual quantizer=18 speed-preset=veryfast ! h264parse "
             "! queue max-size-buffers=0 max-size-bytes=0 max-size-time=0 ! mux. "
             "appsrc name=audio format=time block=true max-bytes=%d "
             "caps=audio/x-raw,format=S16LE,rate=%d,channels=1,layout=interleaved "
             "! audioconvert ! audioresample ! " AAC_ENCODER " bitrate=64000 ! aacparse "
             "! queue max-size-buffers=0 max-size-bytes=0 max-size-time=0 ! mux. "
             "mp4mux name=mux ! filesink name=file",
             QUEUED_FRAMES * w->stride * w->height, w->width, w->height, LS_MP4_FPS,
             QUEUED_FRAMES * LS_MP4_AUDIO_PER_FRAME * 2, LS_MP4_AUDIO_RATE);
    GError *e = NULL;
    w->pipeline = gst_parse_launch(desc, &e);
    if (!w->pipeline || e) {
        ls_error_set(err, "MP4 pipeline: %s", e ? e->message : "cannot be built");
        g_clear_error(&e);
        return -1;
    }
    GstElement *file = gst_bin_get_by_name(GST_BIN(w->pipeline), "file");
    g_object_set(file, "location", w->path, NULL);
    gst_object_unref(file);
    w->video = gst_bin_get_by_name(GST_BIN(w->pipeline), "video");
    w->audio = gst_bin_get_by_name(GST_BIN(w->pipeline), "audio");
    w->bus = gst_element_get_bus(w->pipeline);
    if (gst_element_set_state(w->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
        return bus_error(w, 0, 0, err) ? -1 : ls_error_set(err, "%s: cannot start writing", w->path);
    return 0;
}

int ls_mp4_writer_open(const char *path, int width, int height, ls_mp4_writer **out,
                       ls_error *err)
{
    *out = NULL;
    GError *e = NULL;
    if (!gst_init_check(NULL, NULL, &e)) {
        ls_error_set(err, "GStreamer: %s", e ? e->message : "cannot initialise");
        g_clear_error(&e);
        return -1;
    }
    if (width <= 0 || height <= 0 || width % 2 || height % 2)
        return ls_error_set(err, "%s: H.264 needs an even frame size, not %dx%d", path, width,
                            height);
    ls_mp4_writer *w = g_new0(ls_mp4_writer, 1);
    w->width = width;
    w->height = height;
    w->stride = (width * 3 + 3) & ~3;
    w->path = g_strdup(path);
    if (build(w, err) != 0) {
        destroy(w);
        return -1;
    }
    *out = w;
    return 0;
}

static int push(ls_mp4_writer *w, GstElement *src, GstClockTime delay, GstBuffer *buf,
                ls_error *err)
{
    GST_BUFFER_PTS(buf) = (GstClockTime)w->frames * GST_SECOND / LS_MP4_FPS + delay;
    GST_BUFFER_DURATION(buf) = GST_SECOND / LS_MP4_FPS;
    if (gst_app_src_push_buffer(GST_APP_SRC(src), buf) != GST_FLOW_OK)
        return bus_error(w, 0, 0, err) ? -1 : ls_error_set(err, "%s: the pipeline stopped", w->path);
    return 0;
}

int ls_mp4_writer_write(ls_mp4_writer *w, const ls_image *bgr, const int16_t *audio,
                        ls_error *err)
{
    if (bus_error(w, 0, 0, err) != 0)
        return -1;
    if (bgr->width != w->width || bgr->height != w->height || bgr->channels != 3)
        return ls_error_set(err, "%s: frame %dx%d, the file is %dx%d", w->path, bgr->width,
                            bgr->height, w->width, w->height);
    GstBuffer *video = gst_buffer_new_allocate(NULL, (gsize)w->stride * w->height, NULL);
    GstMapInfo map;
    gst_buffer_map(video, &map, GST_MAP_WRITE);
    size_t row = (size_t)w->width * 3;
    for (int y = 0; y < w->height; y++) {
        memcpy(map.data + (size_t)y * w->stride, ls_image_row(bgr, y), row);
        memset(map.data + (size_t)y * w->stride + row, 0, (size_t)w->stride - row);
    }
    gst_buffer_unmap(video, &map);
    GstBuffer *sound = gst_buffer_new_memdup(audio, LS_MP4_AUDIO_PER_FRAME * sizeof *audio);
    GstClockTime priming = (GstClockTime)AAC_PRIMING_SAMPLES * GST_SECOND / LS_MP4_AUDIO_RATE;
    if (push(w, w->video, priming, video, err) != 0) {
        gst_buffer_unref(sound);
        return -1;
    }
    if (push(w, w->audio, 0, sound, err) != 0)
        return -1;
    w->frames++;
    return 0;
}

int ls_mp4_writer_close(ls_mp4_writer *w, ls_error *err)
{
    if (!w)
        return 0;
    gst_app_src_end_of_stream(GST_APP_SRC(w->video));
    gst_app_src_end_of_stream(GST_APP_SRC(w->audio));
    int rc = bus_error(w, (GstClockTime)CLOSE_TIMEOUT_S * GST_SECOND, 1, err);
    destroy(w);
    return rc;
}
