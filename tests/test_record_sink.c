/*
 * test_record_sink.c - recording a session's output to MP4, in process.
 *
 * A 2 s recording of paced frames (64x48, each a flat grey level that
 * steps with the frame number, and a 440 Hz tone) is decoded back with
 * GStreamer: every frame from the first one recorded must be there, in
 * order, with its grey level, and the audio must have the tone's level and
 * the recording's length. Then the failures: a file in a missing folder is
 * refused at once naming the reason, and writing to /dev/full (a disk that
 * is full) turns the output's status to "failed: No space left ..."
 * without blocking the pushes. Sanitizers check the teardown.
 *
 * usage: test_record_sink WORK_DIR
 */
#include <math.h>
#include <string.h>

#include <gst/app/gstappsink.h>
#include <gst/gst.h>

#include "check.h"
#include "gst_run.h"
#include "media/record_sink.h"

#define W 64
#define H 48
#define FRAMES 50
#define TONE_AMPLITUDE 8000.0

/* Frame n's grey level: 37 and 190 are coprime, so neighbouring frames
 * differ by 37 levels or more, and a run of decoded levels matches one run
 * of frame numbers only. */
static float grey_level(int64_t n)
{
    return (float)(30 + (n * 37) % 190);
}

/* The frame number the decoded run of levels starts at: the best match. */
static int64_t first_frame_of(const float *levels, int count)
{
    int64_t best = 0;
    double best_error = INFINITY;
    for (int64_t n0 = 0; n0 + count <= FRAMES; n0++) {
        double error = 0;
        for (int i = 0; i < count; i++)
            error += fabs(levels[i] - grey_level(n0 + i));
        if (error < best_error) {
            best_error = error;
            best = n0;
        }
    }
    return best;
}

static void make_frame(ls_image *img, int16_t audio[LS_MEDIA_AUDIO_PER_VIDEO], int64_t n)
{
    memset(img->data, (int)grey_level(n), (size_t)W * H * 3);
    for (int i = 0; i < LS_MEDIA_AUDIO_PER_VIDEO; i++) {
        double t = (double)(n * LS_MEDIA_AUDIO_PER_VIDEO + i) / LS_MEDIA_AUDIO_RATE;
        audio[i] = (int16_t)lrint(TONE_AMPLITUDE * sin(2 * M_PI * 440 * t));
    }
}

typedef struct status_log {
    char last[512];
    int changes;
} status_log;

static void on_changed(void *user, ls_output *o, const char *status)
{
    status_log *log = user;
    g_strlcpy(log->last, status, sizeof log->last);
    log->changes++;
}

static ls_output_config config(GstClock *clock, status_log *log)
{
    ls_output_config c = { "test", W, H, clock, 0, g_main_context_default(), on_changed, log };
    c.base_time = gst_clock_get_time(clock);
    return c;
}

/* Pushes frames first..last-1 at their clock times, running the main context
 * between them; the longest push in *max_push_ms. */
static void push_paced(ls_output *o, const ls_output_config *c, int64_t first, int64_t last, double *max_push_ms)
{
    ls_image img;
    ls_error err;
    ls_image_alloc(&img, W, H, 3, &err);
    int16_t audio[LS_MEDIA_AUDIO_PER_VIDEO];
    *max_push_ms = 0;
    for (int64_t n = first; n < last; n++) {
        GstClockID id = gst_clock_new_single_shot_id(c->clock, c->base_time + (GstClockTime)n * LS_MEDIA_FRAME_NS);
        gst_clock_id_wait(id, NULL);
        gst_clock_id_unref(id);
        make_frame(&img, audio, n);
        gint64 t0 = g_get_monotonic_time();
        CHECK(ls_media_sink_push_frame(ls_output_sink(o), &img, audio, n) == 0, "push %lld", (long long)n);
        *max_push_ms = fmax(*max_push_ms, (g_get_monotonic_time() - t0) / 1000.0);
        while (g_main_context_iteration(NULL, FALSE))
            ;
    }
    ls_image_free(&img);
}

// --- decoding the file back ---------------------------------------------------------

typedef struct decoded {
    float levels[4 * FRAMES];   /* mean grey of each video frame */
    int frames;
    double sum_squares;
    int64_t samples;
} decoded;

static GstFlowReturn on_video(GstAppSink *sink, gpointer data)
{
    decoded *d = data;
    GstSample *s = gst_app_sink_pull_sample(sink);
    GstMapInfo map;
    GstBuffer *b = gst_sample_get_buffer(s);
    gst_buffer_map(b, &map, GST_MAP_READ);
    double sum = 0;
    for (int i = 0; i < W * H; i++)   /* BGRx: the mean of B, G and R */
        sum += (map.data[4 * i] + map.data[4 * i + 1] + map.data[4 * i + 2]) / 3.0;
    if (d->frames < 4 * FRAMES)
        d->levels[d->frames] = (float)(sum / (W * H));
    d->frames++;
    gst_buffer_unmap(b, &map);
    gst_sample_unref(s);
    return GST_FLOW_OK;
}

static GstFlowReturn on_audio(GstAppSink *sink, gpointer data)
{
    decoded *d = data;
    GstSample *s = gst_app_sink_pull_sample(sink);
    GstMapInfo map;
    GstBuffer *b = gst_sample_get_buffer(s);
    gst_buffer_map(b, &map, GST_MAP_READ);
    const int16_t *pcm = (const int16_t *)map.data;
    for (gsize i = 0; i < map.size / 2; i++)
        d->sum_squares += (double)pcm[i] * pcm[i];
    d->samples += (int64_t)(map.size / 2);
    gst_buffer_unmap(b, &map);
    gst_sample_unref(s);
    return GST_FLOW_OK;
}

static void attach_sink(GstElement *pipeline, const char *name, GstFlowReturn (*fn)(GstAppSink *, gpointer),
                        decoded *d)
{
    GstAppSinkCallbacks cb = { 0 };
    cb.new_sample = fn;
    GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), name);
    gst_app_sink_set_callbacks(GST_APP_SINK(sink), &cb, d, NULL);
    gst_object_unref(sink);
}

static int decode(const char *path, decoded *d)
{
    memset(d, 0, sizeof *d);
    gchar *desc = g_strdup_printf(
        "filesrc location=%s ! qtdemux name=d "
        "d.video_0 ! queue ! h264parse ! avdec_h264 ! videoconvert ! video/x-raw,format=BGRx ! "
        "appsink name=v sync=false "
        "d.audio_0 ! queue ! aacparse ! avdec_aac ! audioconvert ! audioresample ! "
        "audio/x-raw,format=S16LE,rate=16000,channels=1 ! appsink name=a sync=false",
        path);
    GstElement *p = gst_parse_launch(desc, NULL);
    g_free(desc);
    if (!p)
        return -1;
    attach_sink(p, "v", on_video, d);
    attach_sink(p, "a", on_audio, d);
    return gst_run_to_end(p, 20);
}

// --- the tests ------------------------------------------------------------------------

static void test_recording(GstClock *clock, const char *dir)
{
    gchar *path = g_build_filename(dir, "record_test.mp4", NULL);
    status_log log = { 0 };
    ls_output_config c = config(clock, &log);
    ls_output *o;
    ls_error err;
    if (ls_record_output_new(path, &c, &o, &err) < 0) {
        CHECK(0, "record: %s", err.msg);
        g_free(path);
        return;
    }
    double max_push_ms;
    push_paced(o, &c, 0, FRAMES, &max_push_ms);
    CHECK(strcmp(log.last, "live") == 0, "status while recording: '%s'", log.last);
    ls_output_free(o);

    decoded d;
    CHECK(decode(path, &d) == 0, "%s does not decode", path);
    /* The recording starts a few frames after it was asked for (how many
     * depends on how long building the pipeline took) and then has every one. */
    int64_t first = first_frame_of(d.levels, MIN(d.frames, FRAMES));
    int recorded = FRAMES - (int)first;
    printf("recorded from frame %lld: %d frames, decoded %d; audio %lld samples; longest push %.2f ms\n",
           (long long)first, recorded, d.frames, (long long)d.samples, max_push_ms);
    /* (under the sanitizers' slow allocator, building takes up to a second) */
    CHECK(first >= 3 && first < 40, "the recording starts at frame %lld", (long long)first);
    CHECK(d.frames == recorded, "decoded %d frames, recorded %d", d.frames, recorded);
    float want[FRAMES];
    for (int i = 0; i < recorded; i++)
        want[i] = grey_level(first + i);
    /* BGR -> limited-range YUV (219 levels) -> BGR rounds twice, and H.264
     * at 2 Mbit/s leaves a few levels on a frame that changes completely:
     * within 6 levels, far from the 37 between neighbouring frames. */
    if (d.frames == recorded)
        check_close("decoded grey levels", d.levels, want, recorded, 6.0, 0);
    /* The audio: the recorded frames' samples, plus at most one AAC frame
     * (1024 samples) of encoder priming and padding. */
    int64_t want_samples = (int64_t)recorded * LS_MEDIA_AUDIO_PER_VIDEO;
    CHECK(d.samples >= want_samples - 1024 && d.samples <= want_samples + 2048, "audio: %lld samples, want %lld",
          (long long)d.samples, (long long)want_samples);
    /* AAC at 64 kbit/s keeps a pure tone's level within a few percent. */
    float rms = (float)sqrt(d.sum_squares / (double)(d.samples ? d.samples : 1));
    /* (the priming's silence, if decoded, lowers the mean square in proportion) */
    float want_rms = (float)(TONE_AMPLITUDE / sqrt(2.0) * sqrt((double)want_samples / (double)(d.samples ? d.samples : 1)));
    check_close("audio rms (tone level)", &rms, &want_rms, 1, 0, 0.1);
    CHECK(max_push_ms < 100, "a push took %.1f ms", max_push_ms);   /* never waits for the encoder or disk */
    g_free(path);
}

static void test_missing_folder(GstClock *clock)
{
    status_log log = { 0 };
    ls_output_config c = config(clock, &log);
    ls_output *o = NULL;
    ls_error err;
    int rc = ls_record_output_new("/nonexistent-lipstream-dir/rec.mp4", &c, &o, &err);
    CHECK(rc < 0 && strstr(err.msg, "/nonexistent-lipstream-dir/rec.mp4") &&
              strstr(err.msg, "No such file or directory"),
          "missing folder: rc %d, '%s'", rc, rc < 0 ? err.msg : "");
    if (rc == 0)
        ls_output_free(o);
}

static void test_disk_full(GstClock *clock)
{
    status_log log = { 0 };
    ls_output_config c = config(clock, &log);
    ls_output *o;
    ls_error err;
    if (ls_record_output_new("/dev/full", &c, &o, &err) < 0) {
        CHECK(0, "/dev/full: %s", err.msg);
        return;
    }
    double max_push_ms;
    push_paced(o, &c, 0, 2 * LS_MEDIA_VIDEO_FPS, &max_push_ms);
    printf("disk full: status '%s'\n", log.last);
    CHECK(g_str_has_prefix(log.last, "failed: ") && strstr(log.last, "No space left"),
          "disk full: status '%s'", log.last);
    CHECK(strcmp(ls_output_status(o), log.last) == 0 && !ls_output_ok(o), "status kept");
    CHECK(max_push_ms < 100, "a push took %.1f ms", max_push_ms);   /* never waits for the encoder or disk */
    ls_output_free(o);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_record_sink WORK_DIR\n");
        return 2;
    }
    gst_init(NULL, NULL);
    g_mkdir_with_parents(argv[1], 0755);
    GstClock *clock = gst_system_clock_obtain();
    test_recording(clock, argv[1]);
    test_missing_folder(clock);
    test_disk_full(clock);
    gst_object_unref(clock);
    return check_result("test_record_sink");
}
