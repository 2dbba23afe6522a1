/*
 * record_sink.c - the recording pipeline (see record_sink.h).
 *
 * The file is created (or truncated) before the pipeline is built, so a
 * directory that cannot be written is reported by name and errno, not as
 * GStreamer's generic "could not open resource". The queues in front of the
 * muxer hold up to 3 s, so the muxer waiting for one track never stalls the
 * other's encoder; the appsrcs hold 25 frames (1 s) more before dropping (a slow start of
 * the encoder loses nothing).
 */
#include "media/record_sink.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "media/encoders.h"

#define FRAGMENT_MS 1000
#define QUEUED_FRAMES 25

typedef struct record {
    char *path;
} record;

static GstElement *build(ls_output *o, ls_error *err)
{
    static const char *const needed[] = { "x264enc", "avenc_aac", "mp4mux", NULL };
    if (ls_encoder_require(needed, "gstreamer1.0-plugins-ugly, gstreamer1.0-libav, gstreamer1.0-plugins-good",
                           err) < 0)
        return NULL;
    record *r = ls_output_data(o);
    gchar *h264 = ls_encoder_h264(ls_output_width(o), ls_output_height(o), "high");
    gchar *aac = ls_encoder_aac(LS_MEDIA_AUDIO_RATE);
    gchar *desc = g_strdup_printf(
        "appsrc name=video ! %s ! queue max-size-buffers=0 max-size-bytes=0 max-size-time=3000000000 ! mux. "
        "appsrc name=audio ! %s ! queue max-size-buffers=0 max-size-bytes=0 max-size-time=3000000000 ! mux. "
        "mp4mux name=mux fragment-duration=%d ! filesink name=file buffer-mode=unbuffered",
        h264, aac, FRAGMENT_MS);
    GstElement *pipeline = ls_output_parse(desc, err);
    g_free(desc);
    g_free(aac);
    g_free(h264);
    if (!pipeline)
        return NULL;
    GstElement *file = gst_bin_get_by_name(GST_BIN(pipeline), "file");
    g_object_set(file, "location", r->path, NULL);
    gst_object_unref(file);
    ls_encoder_delay_video(pipeline, LS_MEDIA_AUDIO_RATE);
    return pipeline;
}

static void free_record(void *data)
{
    record *r = data;
    g_free(r->path);
    g_free(r);
}

static const ls_output_kind record_kind = {
    .name = "record",
    .restart = 0,
    .finish_on_stop = 1,
    .max_frames = QUEUED_FRAMES,
    .build = build,
    .free_data = free_record,
};

int ls_record_output_new(const char *path, const ls_output_config *cfg, ls_output **out, ls_error *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return ls_error_set(err, "cannot write the recording %s: %s", path, strerror(errno));
    close(fd);
    record *r = g_new0(record, 1);
    r->path = g_strdup(path);
    gchar *what = g_strdup_printf("recording %s", path);
    int rc = ls_output_new(&record_kind, r, cfg, what, out, err);
    g_free(what);
    return rc;
}
