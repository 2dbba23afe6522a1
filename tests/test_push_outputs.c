/*
 * test_push_outputs.c - the push outputs' failures, in process, with no
 * server to push to.
 *
 * RTMP and WHIP to a loopback port nobody listens on, and a virtual camera
 * whose device does not exist, must each report why ("Connection refused",
 * "No such file or directory") in a "retrying in 1 s: ..." status, then try
 * again after 1 s and back off to 2 s, while every push returns at once.
 * URLs of the wrong scheme and an audio sink that does not exist are
 * refused up front. Push URLs show only scheme and host (util/url.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gst/gst.h>

#include "check.h"
#include "media/rtmp_sink.h"
#include "media/vcam_sink.h"
#include "media/whip_sink.h"
#include "util/url.h"

#define W 64
#define H 48

typedef struct status_log {
    char first_retry[512];
    int retries_1s, retries_2s;
} status_log;

static void on_changed(void *user, ls_output *o, const char *status)
{
    status_log *log = user;
    if (g_str_has_prefix(status, "retrying in 1 s: ")) {
        if (!log->retries_1s++)
            g_strlcpy(log->first_retry, status, sizeof log->first_retry);
    } else if (g_str_has_prefix(status, "retrying in 2 s: ")) {
        log->retries_2s++;
    }
}

/* A loopback port that nothing listens on. */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

/* Pushes frames at 25 fps, running the main context, until the output has
 * scheduled its retry after 2 s or `max_seconds` have passed; returns the
 * longest push in ms. */
static double push_until_second_retry(ls_output *o, const status_log *log, double max_seconds)
{
    ls_image img;
    ls_error err;
    ls_image_alloc(&img, W, H, 3, &err);
    memset(img.data, 128, W * H * 3);
    int16_t audio[LS_MEDIA_AUDIO_PER_VIDEO] = { 0 };
    double longest = 0;
    for (int64_t n = 0; n < max_seconds * LS_MEDIA_VIDEO_FPS && !log->retries_2s; n++) {
        gint64 t0 = g_get_monotonic_time();
        CHECK(ls_media_sink_push_frame(ls_output_sink(o), &img, audio, n) == 0, "push %lld", (long long)n);
        longest = MAX(longest, (g_get_monotonic_time() - t0) / 1000.0);
        gint64 until = t0 + LS_MEDIA_FRAME_NS / 1000;
        while (g_get_monotonic_time() < until)
            if (!g_main_context_iteration(NULL, FALSE))
                g_usleep(2000);
    }
    ls_image_free(&img);
    return longest;
}

static ls_output_config config(GstClock *clock, status_log *log)
{
    ls_output_config c = { "test", W, H, clock, gst_clock_get_time(clock), g_main_context_default(), on_changed,
                           log };
    return c;
}

/* Runs an output that cannot reach its target until it has failed, retried
 * after 1 s, failed again and set its next retry for 2 s later (about 3 s;
 * WHIP fails only once ICE gathering is done and the POST is refused). The
 * 30 s cap only bounds a broken back-off on a loaded machine. A push must
 * never wait for the network: the 100 ms bound is far below the 1 s a
 * blocking connect attempt would take, and far above a loaded machine's
 * scheduling noise. */
static void check_retries(const char *what, ls_output *o, status_log *log, const char *reason)
{
    double longest = push_until_second_retry(o, log, 30.0);
    printf("%s: '%s', %d retries in 1 s, %d in 2 s, longest push %.2f ms\n", what, log->first_retry,
           log->retries_1s, log->retries_2s, longest);
    CHECK(log->retries_1s == 1 && log->retries_2s == 1, "%s: %d retries after 1 s, %d after 2 s", what,
          log->retries_1s, log->retries_2s);
    CHECK(strstr(log->first_retry, reason) != NULL, "%s: '%s' does not say '%s'", what, log->first_retry, reason);
    CHECK(!ls_output_ok(o) || g_str_has_prefix(ls_output_status(o), "starting"), "%s: status '%s'", what,
          ls_output_status(o));
    CHECK(longest < 100, "%s: a push took %.1f ms", what, longest);
}

static void test_rtmp(GstClock *clock)
{
    status_log log = { 0 };
    ls_output_config c = config(clock, &log);
    char url[128];
    snprintf(url, sizeof url, "rtmp://127.0.0.1:%d/live/secret-key", closed_port());
    ls_output *o;
    ls_error err;
    if (ls_rtmp_output_new(url, &c, &o, &err) < 0) {
        CHECK(0, "rtmp: %s", err.msg);
        return;
    }
    check_retries("rtmp", o, &log, "Connection refused");
    CHECK(!strstr(log.first_retry, "secret-key"), "the stream key shows: '%s'", log.first_retry);
    ls_output_free(o);
    CHECK(ls_rtmp_output_new("http://127.0.0.1/live", &c, &o, &err) < 0 && strstr(err.msg, "rtmp://"),
          "an http URL for RTMP: '%s'", err.msg);
}

static void test_whip(GstClock *clock)
{
    status_log log = { 0 };
    ls_output_config c = config(clock, &log);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/whip/live?token=secret", closed_port());
    ls_output *o;
    ls_error err;
    if (ls_whip_output_new(url, NULL, NULL, &c, &o, &err) < 0) {
        CHECK(0, "whip: %s", err.msg);
        return;
    }
    check_retries("whip", o, &log, "Could not connect");
    CHECK(!strstr(log.first_retry, "secret"), "the token shows: '%s'", log.first_retry);
    ls_output_free(o);
    CHECK(ls_whip_output_new("rtmp://127.0.0.1/live", NULL, NULL, &c, &o, &err) < 0 && strstr(err.msg, "http://"),
          "an rtmp URL for WHIP: '%s'", err.msg);
}

static void test_vcam(GstClock *clock)
{
    status_log log = { 0 };
    ls_output_config c = config(clock, &log);
    ls_output *o;
    ls_error err;
    if (ls_vcam_output_new("/dev/video-lipstream-none", "none", &c, &o, &err) < 0) {
        CHECK(0, "vcam: %s", err.msg);
        return;
    }
    check_retries("virtual camera", o, &log, "/dev/video-lipstream-none: No such file or directory");
    ls_output_free(o);
    CHECK(ls_vcam_output_new(NULL, "nosuchaudiosink", &c, &o, &err) < 0 && strstr(err.msg, "--vcam_audio") &&
              strstr(err.msg, "nosuchaudiosink is missing"),
          "an audio sink that does not exist: '%s'", err.msg);
}

static void test_redaction(void)
{
    static const char *const cases[][2] = {
        { "rtmp://live.example.com/app/KEY123", "rtmp://live.example.com/(redacted)" },
        { "rtmp://user:p@ss@host:1935/live/x", "rtmp://host:1935/(redacted)" },
        { "http://127.0.0.1:1985/rtc/v1/whip/?app=live&stream=s", "http://127.0.0.1:1985/(redacted)" },
        { "https://host", "https://host" },
        { "not a url", "(redacted)" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[128];
        ls_url_redact(cases[i][0], out, sizeof out);
        CHECK(strcmp(out, cases[i][1]) == 0, "redact '%s': '%s', want '%s'", cases[i][0], out, cases[i][1]);
    }
}

int main(void)
{
    gst_init(NULL, NULL);
    GstClock *clock = gst_system_clock_obtain();
    test_redaction();
    test_rtmp(clock);
    test_whip(clock);
    test_vcam(clock);
    gst_object_unref(clock);
    return check_result("test_push_outputs");
}
