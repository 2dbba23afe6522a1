/*
 * test_encoders.c - the shared video encoder stages (media/encoders.h)
 * hold their rate and keyframe interval.
 *
 * Each stage encodes 4 s (100 frames at 25 fps) of GStreamer's SMPTE test
 * picture at 512x512, whose moving noise patch keeps an encoder busy at
 * LS_VIDEO_KBITS, into an appsink: the bytes that come out (RTP packets for
 * the browser's encoders, headers included) must make LS_VIDEO_KBITS within
 * 25 %. Where the output is H.264 the keyframes are checked too: the first
 * frame is one, and no more than 50 frames (2 s) pass between two (x264
 * adds one at a scene change). Before the browser's VP8 encoder was given a rate
 * it sent libvpx's default of 256 kbit/s, an eighth of it.
 */
#include <gst/app/gstappsink.h>
#include <gst/gst.h>

#include "check.h"
#include "media/encoders.h"

#define FRAMES 100
#define FPS 25

typedef struct encoded {
    size_t bytes;
    int buffers;
    int first_keyframe;   /* buffers before the first keyframe */
    int longest_gop;      /* most buffers from a keyframe to the next (or to the end) */
} encoded;

/* Runs "videotestsrc ! 512x512 I420 (when `i420`) ! stage ! appsink". */
static encoded encode(const char *stage, int i420)
{
    encoded out = { .first_keyframe = -1 };
    int last_keyframe = -1;
    gchar *desc = g_strdup_printf(
        "videotestsrc pattern=smpte num-buffers=%d ! video/x-raw,width=512,height=512,framerate=%d/1 "
        "%s ! %s ! appsink name=out sync=false",
        FRAMES, FPS, i420 ? "! videoconvert ! video/x-raw,format=I420" : "", stage);
    GError *gerr = NULL;
    GstElement *pipeline = gst_parse_launch(desc, &gerr);
    CHECK(pipeline != NULL, "pipeline '%s': %s", desc, gerr ? gerr->message : "?");
    g_free(desc);
    g_clear_error(&gerr);
    if (!pipeline)
        return out;
    GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "out");
    gst_element_set_state(pipeline, GST_STATE_PLAYING);
    GstSample *sample;
    while ((sample = gst_app_sink_pull_sample(GST_APP_SINK(sink))) != NULL) {
        GstBuffer *b = gst_sample_get_buffer(sample);
        if (!GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_DELTA_UNIT)) {
            if (out.first_keyframe < 0)
                out.first_keyframe = out.buffers;
            else if (out.buffers - last_keyframe > out.longest_gop)
                out.longest_gop = out.buffers - last_keyframe;
            last_keyframe = out.buffers;
        }
        out.bytes += gst_buffer_get_size(b);
        out.buffers++;
        gst_sample_unref(sample);
    }
    if (last_keyframe >= 0 && out.buffers - last_keyframe > out.longest_gop)
        out.longest_gop = out.buffers - last_keyframe;   /* and the frames after the last */
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(sink);
    gst_object_unref(pipeline);
    return out;
}

static double kbits_per_second(const encoded *e)
{
    return (double)e->bytes * 8.0 / ((double)FRAMES / FPS) / 1000.0;
}

static void check_rate(const char *what, const encoded *e)
{
    double kbps = kbits_per_second(e);
    printf("%-32s %4d buffers, %7.0f kbit/s (target %d)\n", what, e->buffers, kbps, LS_VIDEO_KBITS);
    CHECK(kbps > 0.75 * LS_VIDEO_KBITS && kbps < 1.25 * LS_VIDEO_KBITS,
          "%s: %.0f kbit/s, not within 25%% of %d", what, kbps, LS_VIDEO_KBITS);
}

int main(int argc, char **argv)
{
    gst_init(&argc, &argv);
    gchar *vp8 = ls_encoder_webrtc_video(LS_VIDEO_VP8, 96);
    encoded e = encode(vp8, 1);
    check_rate("browser VP8 (RTP)", &e);
    g_free(vp8);

    gchar *h264_rtp = ls_encoder_webrtc_video(LS_VIDEO_H264, 108);
    e = encode(h264_rtp, 1);
    check_rate("browser H.264 (RTP)", &e);
    g_free(h264_rtp);

    /* without the payloader: the access units and their keyframes */
    gchar *h264 = ls_encoder_h264(512, 512, "high");
    e = encode(h264, 0);
    check_rate("recording/push H.264", &e);
    CHECK(e.buffers == FRAMES && e.first_keyframe == 0 && e.longest_gop <= 50,
          "H.264: %d frames of %d, the first keyframe at %d, at most %d frames between two (want "
          "0 and 50: one every 2 s at least)", e.buffers, FRAMES, e.first_keyframe, e.longest_gop);
    g_free(h264);
    return check_result("test_encoders");
}
