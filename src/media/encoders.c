/*
 * encoders.c - descriptions of the shared H.264 and AAC stages (see encoders.h).
 */
#include "media/encoders.h"

#define KEYFRAME_INTERVAL 50    /* frames: 2 s at 25 fps */
#define AAC_BITS 64000

gchar *ls_encoder_h264(int width, int height, const char *profile)
{
    return g_strdup_printf("videoconvert ! videoscale ! video/x-raw,format=I420,width=%d,height=%d ! "
                           "x264enc tune=zerolatency speed-preset=superfast bframes=0 key-int-max=%d "
                           "bitrate=%d ! video/x-h264,profile=%s ! h264parse",
                           width & ~1, height & ~1, KEYFRAME_INTERVAL, LS_VIDEO_KBITS, profile);
}

gchar *ls_encoder_webrtc_video(ls_video_codec codec, int pt)
{
    if (codec == LS_VIDEO_VP8)
        return g_strdup_printf(
            "vp8enc deadline=1 cpu-used=-6 end-usage=cbr target-bitrate=%d undershoot=100 overshoot=15 "
            "buffer-initial-size=500 buffer-optimal-size=600 buffer-size=1000 keyframe-max-dist=%d ! "
            "rtpvp8pay picture-id-mode=15-bit pt=%d ! "
            "capsfilter caps=\"application/x-rtp,media=video,encoding-name=VP8,clock-rate=90000,payload=%d\"",
            LS_VIDEO_KBITS * 1000, KEYFRAME_INTERVAL, pt, pt);
    return g_strdup_printf(
        "x264enc tune=zerolatency speed-preset=ultrafast bframes=0 key-int-max=%d bitrate=%d ! "
        "video/x-h264,profile=constrained-baseline ! h264parse ! "
        "rtph264pay config-interval=-1 aggregate-mode=zero-latency pt=%d ! "
        "capsfilter caps=\"application/x-rtp,media=video,encoding-name=H264,clock-rate=90000,payload=%d\"",
        KEYFRAME_INTERVAL, LS_VIDEO_KBITS, pt, pt);
}

gchar *ls_encoder_aac(int rate)
{
    return g_strdup_printf("audioconvert ! audioresample ! audio/x-raw,rate=%d ! avenc_aac bitrate=%d ! aacparse",
                           rate, AAC_BITS);
}

void ls_encoder_delay_video(GstElement *pipeline, int aac_rate)
{
    GstElement *video = gst_bin_get_by_name(GST_BIN(pipeline), "video");
    if (!video)
        return;
    GstPad *pad = gst_element_get_static_pad(video, "src");
    gst_pad_set_offset(pad, (gint64)LS_AAC_PRIMING_SAMPLES * GST_SECOND / aac_rate);
    gst_object_unref(pad);
    gst_object_unref(video);
}

int ls_encoder_require(const char *const *elements, const char *package, ls_error *err)
{
    for (; *elements; elements++) {
        GstElementFactory *f = gst_element_factory_find(*elements);
        if (!f)
            return ls_error_set(err, "GStreamer element %s is missing (install %s)", *elements, package);
        gst_object_unref(f);
    }
    return 0;
}
