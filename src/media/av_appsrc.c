/*
 * av_appsrc.c - configuring and feeding an output pipeline's two appsrcs
 * (see av_appsrc.h).
 *
 * A video buffer is one BGR frame copied row by row into GStreamer's layout
 * (rows padded to 4 bytes); the 640 audio samples go out as two 20 ms
 * buffers, so audio pipelines see the same granularity as WebRTC's.
 */
#include "media/av_appsrc.h"

#include <string.h>

#define START_MARGIN_FRAMES 3

static GstAppSrc *find_appsrc(GstElement *pipeline, const char *name, ls_error *err)
{
    GstElement *e = gst_bin_get_by_name(GST_BIN(pipeline), name);
    if (e && GST_IS_APP_SRC(e))
        return GST_APP_SRC(e);
    if (e)
        gst_object_unref(e);
    ls_error_set(err, "output pipeline: no appsrc named '%s'", name);
    return NULL;
}

static void configure(GstAppSrc *src, GstCaps *caps, guint64 max_buffers)
{
    gst_app_src_set_caps(src, caps);
    gst_caps_unref(caps);
    gst_app_src_set_stream_type(src, GST_APP_STREAM_TYPE_STREAM);
    gst_app_src_set_max_bytes(src, 0);                                 /* no byte limit: max_buffers bounds it */
    gst_app_src_set_max_buffers(src, max_buffers);
    gst_app_src_set_leaky_type(src, GST_APP_LEAKY_TYPE_DOWNSTREAM);   /* full: drop the oldest */
    g_object_set(src, "format", GST_FORMAT_TIME, "is-live", TRUE, "block", FALSE, "do-timestamp", FALSE, NULL);
}

int ls_av_appsrc_init(ls_av_appsrc *s, GstElement *pipeline, int width, int height, int max_frames,
                      int64_t first, ls_error *err)
{
    memset(s, 0, sizeof *s);
    s->first = first;
    s->video = find_appsrc(pipeline, "video", err);
    s->audio = s->video ? find_appsrc(pipeline, "audio", err) : NULL;
    if (!s->audio) {
        ls_av_appsrc_clear(s);
        return -1;
    }
    gst_video_info_set_format(&s->video_info, GST_VIDEO_FORMAT_BGR, (guint)width, (guint)height);
    s->video_info.fps_n = LS_MEDIA_VIDEO_FPS;
    s->video_info.fps_d = 1;
    configure(s->video, gst_video_info_to_caps(&s->video_info), (guint64)max_frames);
    configure(s->audio,
              gst_caps_new_simple("audio/x-raw", "format", G_TYPE_STRING, "S16LE", "rate", G_TYPE_INT,
                                  LS_MEDIA_AUDIO_RATE, "channels", G_TYPE_INT, 1, "layout", G_TYPE_STRING,
                                  "interleaved", NULL),
              (guint64)max_frames * 2);
    return 0;
}

void ls_av_appsrc_clear(ls_av_appsrc *s)
{
    if (s->video)
        gst_object_unref(s->video);
    if (s->audio)
        gst_object_unref(s->audio);
    s->video = s->audio = NULL;
}

static GstBuffer *timed_buffer(gsize size, int64_t index, int64_t duration_ns)
{
    GstBuffer *b = gst_buffer_new_allocate(NULL, size, NULL);
    GST_BUFFER_PTS(b) = (GstClockTime)(index * duration_ns);
    GST_BUFFER_DURATION(b) = (GstClockTime)duration_ns;
    return b;
}

GstFlowReturn ls_av_appsrc_push(ls_av_appsrc *s, const ls_image *bgr, const int16_t audio[LS_MEDIA_AUDIO_PER_VIDEO],
                                int64_t n)
{
    const GstVideoInfo *vi = &s->video_info;
    if (bgr->channels != 3 || bgr->width != GST_VIDEO_INFO_WIDTH(vi) || bgr->height != GST_VIDEO_INFO_HEIGHT(vi))
        return GST_FLOW_NOT_NEGOTIATED;
    if (n < s->first)
        return GST_FLOW_OK;
    int64_t k = n - s->first;

    GstBuffer *video = timed_buffer(GST_VIDEO_INFO_SIZE(vi), k, LS_MEDIA_FRAME_NS);
    GstMapInfo map;
    gst_buffer_map(video, &map, GST_MAP_WRITE);
    size_t row = (size_t)bgr->width * 3, stride = (size_t)GST_VIDEO_INFO_PLANE_STRIDE(vi, 0);
    for (int y = 0; y < bgr->height; y++) {
        memcpy(map.data + y * stride, ls_image_row(bgr, y), row);
        memset(map.data + y * stride + row, 0, stride - row);
    }
    gst_buffer_unmap(video, &map);
    GstFlowReturn r = gst_app_src_push_buffer(s->video, video);
    for (int i = 0; i < 2 && r == GST_FLOW_OK; i++) {
        GstBuffer *a = timed_buffer(LS_MEDIA_AUDIO_FRAME * sizeof(int16_t), 2 * k + i, LS_MEDIA_AUDIO_FRAME_NS);
        gst_buffer_fill(a, 0, audio + i * LS_MEDIA_AUDIO_FRAME, LS_MEDIA_AUDIO_FRAME * sizeof(int16_t));
        r = gst_app_src_push_buffer(s->audio, a);
    }
    return r;
}

void ls_av_appsrc_end(ls_av_appsrc *s)
{
    gst_app_src_end_of_stream(s->video);
    gst_app_src_end_of_stream(s->audio);
}

int64_t ls_av_first_frame(GstClockTime base_time, GstClockTime now)
{
    int64_t playing = now > base_time ? (int64_t)((now - base_time) / LS_MEDIA_FRAME_NS) : 0;
    return playing + START_MARGIN_FRAMES;
}
