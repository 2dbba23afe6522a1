/*
 * vcam_sink.c - the virtual camera pipeline (see vcam_sink.h).
 *
 * A v4l2loopback device is recognised by the driver name its
 * VIDIOC_QUERYCAP answers ("v4l2 loopback"). The device is looked for, and
 * checked, each time a pipeline is built, so a retry finds a device that
 * appeared meanwhile. The appsrcs hold 3 frames: a camera shows the
 * present, never a backlog.
 */
#include "media/vcam_sink.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "media/encoders.h"

#define QUEUED_FRAMES 3
#define MAX_DEVICES 64

typedef struct vcam {
    char *device;   /* NULL: find one */
    char *audio;
} vcam;

static int is_loopback(const char *path)
{
    int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return 0;
    struct v4l2_capability cap;
    memset(&cap, 0, sizeof cap);
    int yes = ioctl(fd, VIDIOC_QUERYCAP, &cap) == 0 && strcmp((const char *)cap.driver, "v4l2 loopback") == 0;
    close(fd);
    return yes;
}

int ls_vcam_find_device(char *path, size_t size, ls_error *err)
{
    for (int i = 0; i < MAX_DEVICES; i++) {
        snprintf(path, size, "/dev/video%d", i);
        if (is_loopback(path))
            return 0;
    }
    return ls_error_set(err, "no v4l2loopback device among /dev/video*: load the module (modprobe v4l2loopback "
                             "exclusive_caps=1) or name a device with --vcam_device");
}

static int check_device(const char *path, ls_error *err)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return ls_error_set(err, "%s: %s", path, strerror(errno));
    if (!S_ISCHR(st.st_mode))
        return ls_error_set(err, "%s: not a video device", path);
    return 0;
}

static GstElement *build(ls_output *o, ls_error *err)
{
    static const char *const needed[] = { "v4l2sink", "videoconvert", "audioconvert", NULL };
    if (ls_encoder_require(needed, "gstreamer1.0-plugins-good, gstreamer1.0-plugins-base", err) < 0)
        return NULL;
    vcam *v = ls_output_data(o);
    char found[64];
    const char *device = v->device;
    if (!device) {
        if (ls_vcam_find_device(found, sizeof found, err) < 0)
            return NULL;
        device = found;
    }
    if (check_device(device, err) < 0)
        return NULL;
    const char *audio_sink = strcmp(v->audio, "auto") == 0   ? "autoaudiosink"
                             : strcmp(v->audio, "none") == 0 ? "fakesink sync=true"
                                                             : v->audio;
    gchar *desc = g_strdup_printf("appsrc name=video ! videoconvert ! videoscale ! "
                                  "video/x-raw,format=YUY2,width=%d,height=%d ! v4l2sink name=camera "
                                  "appsrc name=audio ! audioconvert ! audioresample ! %s",
                                  ls_output_width(o) & ~1, ls_output_height(o) & ~1, audio_sink);
    GstElement *pipeline = ls_output_parse(desc, err);
    g_free(desc);
    if (!pipeline)
        return NULL;
    GstElement *camera = gst_bin_get_by_name(GST_BIN(pipeline), "camera");
    g_object_set(camera, "device", device, NULL);
    gst_object_unref(camera);
    return pipeline;
}

static void free_vcam(void *data)
{
    vcam *v = data;
    g_free(v->device);
    g_free(v->audio);
    g_free(v);
}

static const ls_output_kind vcam_kind = {
    .name = "virtualcam",
    .restart = 1,
    .finish_on_stop = 0,
    .max_frames = QUEUED_FRAMES,
    .build = build,
    .free_data = free_vcam,
};

int ls_vcam_output_new(const char *device, const char *audio, const ls_output_config *cfg, ls_output **out,
                       ls_error *err)
{
    if (strcmp(audio, "auto") != 0 && strcmp(audio, "none") != 0) {
        const char *const sink[] = { audio, NULL };
        if (ls_encoder_require(sink, "the GStreamer plugin that has it", err) < 0)
            return ls_error_prefix(err, "--vcam_audio");
    }
    vcam *v = g_new0(vcam, 1);
    v->device = device && device[0] ? g_strdup(device) : NULL;
    v->audio = g_strdup(audio);
    gchar *what = g_strdup_printf("virtual camera %s", v->device ? v->device : "(first v4l2loopback)");
    int rc = ls_output_new(&vcam_kind, v, cfg, what, out, err);
    g_free(what);
    return rc;
}
