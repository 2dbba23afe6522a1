/*
 * webrtc_clients.c - N WebRTC viewers of one lipstream server, in C: the
 * test clients of the sessions benchmark (bench/sessions.py) on a machine
 * without a Python WebRTC stack (a GPU host with only CUDA and PyTorch).
 *
 * Each viewer is a webrtcbin with two receive-only transceivers (VP8 or
 * H.264 video, Opus audio). Its offer, once ICE gathering completes (or
 * after 3 s), is POSTed to URL/offer as LiveTalking's clients do; the
 * answer is applied, and the media that arrives is depayloaded, decoded
 * and counted (decoded video frames, milliseconds of decoded audio).
 * webrtcbin's threads only count and post events to the main context
 * (media/webrtc_common.h), where the HTTP exchange runs.
 *
 * usage: webrtc_clients URL N [--codec vp8|h264] [--avatar ID]
 *
 * stdout, one JSON line each:
 *   {"opened": ["sid", ...]}           every viewer has decoded its first frame
 *   {"t": s, "frames": [...], "audio_ms": [...]}   totals per viewer, each second
 *   {"closed": true, "t": s, "frames": [...], "audio_ms": [...]}
 *                                      at the end: standard input closed, or SIGINT/SIGTERM
 * A refused offer, a failed connection, or no first frame within 30 s is
 * one line on stderr naming the viewer and the reason, and exit status 1.
 * The soft open-file limit is raised for the viewers' sockets and pipes
 * (about VIEWER_FILES each), as the server raises its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>
#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <libsoup/soup.h>
#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>

#include "media/webrtc_common.h"
#include "server/json_out.h"
#include "util/json.h"
#include "util/open_files.h"

#define GATHER_TIMEOUT_MS 3000
#define FIRST_FRAME_TIMEOUT_S 30
#define HTTP_TIMEOUT_S 30
#define VIEWER_FILES 64             /* descriptors per viewer, with room (ICE sockets, pipes) */

typedef struct clients clients;

typedef struct viewer {
    clients *all;
    int index;
    GstElement *pipeline, *webrtc;
    char *sid;
    int offer_sent, opened;
    gint frames;            /* decoded video frames (atomic) */
    gint64 audio_ns;        /* decoded audio (atomic) */
} viewer;

struct clients {
    const char *url, *avatar;
    int codec_h264;
    int n, opened;
    viewer *viewers;
    GMainLoop *loop;
    SoupSession *http;
    gint64 t0;
    int status;
};

typedef enum event_kind { EVENT_GATHERED, EVENT_FIRST_FRAME, EVENT_FAILED } event_kind;

static void fail(viewer *v, const char *why)
{
    if (v->sid)
        fprintf(stderr, "webrtc_clients: viewer %d (session %s): %s\n", v->index, v->sid, why);
    else
        fprintf(stderr, "webrtc_clients: viewer %d: %s\n", v->index, why);
    v->all->status = 1;
    g_main_loop_quit(v->all->loop);
}

// --- totals ---------------------------------------------------------------------------

static void print_totals(clients *c, const char *head)
{
    GString *line = g_string_new(head);
    g_string_append_printf(line, "\"t\": %.2f, \"frames\": [", (g_get_monotonic_time() - c->t0) / 1e6);
    for (int i = 0; i < c->n; i++)
        g_string_append_printf(line, "%s%d", i ? ", " : "", g_atomic_int_get(&c->viewers[i].frames));
    g_string_append(line, "], \"audio_ms\": [");
    for (int i = 0; i < c->n; i++)
        g_string_append_printf(line, "%s%lld", i ? ", " : "",
                               (long long)(__atomic_load_n(&c->viewers[i].audio_ns, __ATOMIC_RELAXED) / 1000000));
    g_string_append(line, "]}");
    puts(line->str);
    fflush(stdout);
    g_string_free(line, TRUE);
}

static void print_opened(clients *c)
{
    GString *line = g_string_new("{\"opened\": [");
    for (int i = 0; i < c->n; i++) {
        if (i)
            g_string_append(line, ", ");
        ls_json_append_string(line, c->viewers[i].sid);
    }
    g_string_append(line, "]}");
    puts(line->str);
    fflush(stdout);
    g_string_free(line, TRUE);
}

static gboolean on_second(gpointer data)
{
    print_totals(data, "{");
    return G_SOURCE_CONTINUE;
}

// --- events: webrtcbin's threads -> main context ----------------------------------------

static void send_offer(viewer *v);

static void *viewer_ref(void *owner)
{
    return owner;   /* viewers live until the program ends */
}

static void viewer_unref(void *owner)
{
}

static void handle_event(void *owner, int kind, const char *text)
{
    viewer *v = owner;
    switch ((event_kind)kind) {
    case EVENT_GATHERED:
        send_offer(v);
        break;
    case EVENT_FIRST_FRAME:
        if (!v->opened) {
            v->opened = 1;
            if (++v->all->opened == v->all->n)
                print_opened(v->all);
        }
        break;
    case EVENT_FAILED:
        fail(v, text);
        break;
    }
}

static const ls_webrtc_event_target viewer_events = { viewer_ref, viewer_unref, handle_event };

static void post(viewer *v, event_kind kind, const char *text)
{
    ls_webrtc_post(NULL, &viewer_events, v, kind, text);
}

// --- webrtcbin's threads --------------------------------------------------------------

static GstPadProbeReturn on_video_frame(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
    viewer *v = data;
    if (g_atomic_int_add(&v->frames, 1) == 0)
        post(v, EVENT_FIRST_FRAME, NULL);
    return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn on_audio(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
    viewer *v = data;
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
    if (GST_BUFFER_DURATION_IS_VALID(buf))
        __atomic_add_fetch(&v->audio_ns, (gint64)GST_BUFFER_DURATION(buf), __ATOMIC_RELAXED);
    return GST_PAD_PROBE_OK;
}

/* A stream arrived: depayload, decode and count it. */
static void on_pad_added(GstElement *webrtc, GstPad *pad, gpointer data)
{
    viewer *v = data;
    if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC)
        return;
    GstCaps *caps = gst_pad_get_current_caps(pad);
    if (!caps)
        caps = gst_pad_query_caps(pad, NULL);
    const char *media = gst_structure_get_string(gst_caps_get_structure(caps, 0), "media");
    int video = media && strcmp(media, "video") == 0;
    gst_caps_unref(caps);
    const char *desc = !video             ? "rtpopusdepay ! opusdec ! fakesink name=sink sync=false"
                       : v->all->codec_h264 ? "rtph264depay ! avdec_h264 ! fakesink name=sink sync=false"
                                            : "rtpvp8depay ! vp8dec ! fakesink name=sink sync=false";
    GError *gerr = NULL;
    GstElement *bin = gst_parse_bin_from_description(desc, TRUE, &gerr);
    if (!bin) {
        char why[320];
        snprintf(why, sizeof why, "cannot build '%s': %s", desc, gerr ? gerr->message : "?");
        g_clear_error(&gerr);
        post(v, EVENT_FAILED, why);
        return;
    }
    GstElement *sink = gst_bin_get_by_name(GST_BIN(bin), "sink");
    GstPad *counted = gst_element_get_static_pad(sink, "sink");
    gst_pad_add_probe(counted, GST_PAD_PROBE_TYPE_BUFFER, video ? on_video_frame : on_audio, v, NULL);
    gst_object_unref(counted);
    gst_object_unref(sink);
    gst_bin_add(GST_BIN(v->pipeline), bin);
    gst_element_sync_state_with_parent(bin);
    GstPad *in = gst_element_get_static_pad(bin, "sink");
    if (gst_pad_link(pad, in) != GST_PAD_LINK_OK)
        post(v, EVENT_FAILED, "cannot link a received stream to its decoder");
    gst_object_unref(in);
}

static void on_offer_created(GstPromise *promise, gpointer data)
{
    viewer *v = data;
    char why[256];
    if (ls_webrtc_set_local_description(promise, v->webrtc, "offer", why, sizeof why))
        post(v, EVENT_FAILED, why);
    gst_promise_unref(promise);
}

static void on_gathering_state(GObject *webrtc, GParamSpec *pspec, gpointer data)
{
    if (ls_webrtc_gathering_complete(webrtc))
        post(data, EVENT_GATHERED, NULL);
}

static void on_connection_state(GObject *webrtc, GParamSpec *pspec, gpointer data)
{
    GstWebRTCPeerConnectionState state;
    g_object_get(webrtc, "connection-state", &state, NULL);
    if (state == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED)
        post(data, EVENT_FAILED, "the WebRTC connection failed");
}

static void on_answer_set(GstPromise *promise, gpointer data)
{
    char why[256];
    if (ls_webrtc_promise_failed(promise, why, sizeof why))
        post(data, EVENT_FAILED, why);
    gst_promise_unref(promise);
}

// --- HTTP: main context -------------------------------------------------------------

/* The server's answer to /offer: {"sdp", "type": "answer", "sessionid"},
 * or {"code": -1, "msg"}. */
static void apply_answer(viewer *v, const char *body, size_t size, guint status)
{
    ls_json *answer = NULL;
    ls_error err = { 0 };
    const char *sdp_text = NULL, *sid = NULL, *msg = NULL;
    char why[600];
    if (ls_json_parse(body, size, &answer, &err) < 0) {
        snprintf(why, sizeof why, "/offer answered %u, not JSON: %s", status, err.msg);
        fail(v, why);
        return;
    }
    if (ls_json_get_string(answer, "sdp", &sdp_text, &err) != 1 ||
        ls_json_get_string(answer, "sessionid", &sid, &err) != 1) {
        ls_json_get_string(answer, "msg", &msg, &err);
        snprintf(why, sizeof why, "/offer answered %u: %s", status, msg ? msg : "no sdp and sessionid");
        ls_json_free(answer);
        fail(v, why);
        return;
    }
    v->sid = g_strdup(sid);
    GstSDPMessage *sdp = NULL;
    gst_sdp_message_new(&sdp);
    if (gst_sdp_message_parse_buffer((const guint8 *)sdp_text, (guint)strlen(sdp_text), sdp) != GST_SDP_OK) {
        gst_sdp_message_free(sdp);
        ls_json_free(answer);
        fail(v, "the answer's sdp does not parse");
        return;
    }
    ls_json_free(answer);
    GstWebRTCSessionDescription *desc = gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_ANSWER, sdp);
    g_signal_emit_by_name(v->webrtc, "set-remote-description", desc,
                          gst_promise_new_with_change_func(on_answer_set, v, NULL));
    gst_webrtc_session_description_free(desc);
}

static void on_posted(GObject *source, GAsyncResult *result, gpointer data)
{
    viewer *v = data;
    GError *gerr = NULL;
    GBytes *body = soup_session_send_and_read_finish(SOUP_SESSION(source), result, &gerr);
    if (!body) {
        char why[400];
        snprintf(why, sizeof why, "POST /offer: %s", gerr ? gerr->message : "no answer");
        g_clear_error(&gerr);
        fail(v, why);
        return;
    }
    SoupMessage *msg = soup_session_get_async_result_message(SOUP_SESSION(source), result);
    gsize size;
    const char *text = g_bytes_get_data(body, &size);
    apply_answer(v, text ? text : "", size, msg ? soup_message_get_status(msg) : 0);
    g_bytes_unref(body);
}

static void send_offer(viewer *v)
{
    if (v->offer_sent)
        return;
    GstWebRTCSessionDescription *offer = NULL;
    g_object_get(v->webrtc, "local-description", &offer, NULL);
    if (!offer)
        return;   /* not made yet: sent once gathering completes */
    v->offer_sent = 1;
    gchar *sdp = gst_sdp_message_as_text(offer->sdp);
    gst_webrtc_session_description_free(offer);
    GString *body = g_string_new("{\"type\": \"offer\", \"sdp\": ");
    ls_json_append_string(body, sdp);
    g_free(sdp);
    if (v->all->avatar) {
        g_string_append(body, ", \"avatar\": ");
        ls_json_append_string(body, v->all->avatar);
    }
    g_string_append(body, "}");
    gchar *url = g_strconcat(v->all->url, "/offer", NULL);
    SoupMessage *msg = soup_message_new(SOUP_METHOD_POST, url);
    g_free(url);
    if (!msg) {
        g_string_free(body, TRUE);
        fail(v, "the server URL is not a valid URL");
        return;
    }
    GBytes *bytes = g_string_free_to_bytes(body);
    soup_message_set_request_body_from_bytes(msg, "application/json", bytes);
    g_bytes_unref(bytes);
    soup_session_send_and_read_async(v->all->http, msg, G_PRIORITY_DEFAULT, NULL, on_posted, v);
    g_object_unref(msg);
}

static gboolean on_gather_timeout(gpointer data)
{
    send_offer(data);
    return G_SOURCE_REMOVE;
}

static gboolean on_first_frame_timeout(gpointer data)
{
    clients *c = data;
    for (int i = 0; i < c->n; i++)
        if (!c->viewers[i].opened) {
            fail(&c->viewers[i], "no video frame within " G_STRINGIFY(FIRST_FRAME_TIMEOUT_S) " s");
            break;
        }
    return G_SOURCE_REMOVE;
}

// --- set-up and the end --------------------------------------------------------------

static int add_receiver(GstElement *webrtc, const char *caps_text)
{
    GstCaps *caps = gst_caps_from_string(caps_text);
    GstWebRTCRTPTransceiver *transceiver = NULL;
    g_signal_emit_by_name(webrtc, "add-transceiver", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY, caps,
                          &transceiver);
    gst_caps_unref(caps);
    if (!transceiver)
        return -1;
    gst_object_unref(transceiver);
    return 0;
}

static int start_viewer(clients *c, viewer *v)
{
    v->pipeline = gst_pipeline_new(NULL);
    v->webrtc = gst_element_factory_make("webrtcbin", NULL);
    if (!v->webrtc) {
        fail(v, "no webrtcbin (gstreamer1.0-plugins-bad, gstreamer1.0-nice)");
        return -1;
    }
    gst_bin_add(GST_BIN(v->pipeline), v->webrtc);
    g_object_set(v->webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, NULL);
    ls_webrtc_add_local_addresses(v->webrtc);
    const char *video = c->codec_h264
                            ? "application/x-rtp,media=video,encoding-name=H264,clock-rate=90000,payload=102,"
                              "packetization-mode=(string)1,profile-level-id=(string)42e01f"
                            : "application/x-rtp,media=video,encoding-name=VP8,clock-rate=90000,payload=96";
    if (add_receiver(v->webrtc, video) < 0 ||
        add_receiver(v->webrtc, "application/x-rtp,media=audio,encoding-name=OPUS,clock-rate=48000,"
                                "encoding-params=(string)2,payload=111") < 0) {
        fail(v, "webrtcbin refused a receive-only transceiver");
        return -1;
    }
    g_signal_connect(v->webrtc, "notify::ice-gathering-state", G_CALLBACK(on_gathering_state), v);
    g_signal_connect(v->webrtc, "notify::connection-state", G_CALLBACK(on_connection_state), v);
    g_signal_connect(v->webrtc, "pad-added", G_CALLBACK(on_pad_added), v);
    if (gst_element_set_state(v->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
        fail(v, "the pipeline does not start");
        return -1;
    }
    /* offered once both transceivers exist (on-negotiation-needed can come
     * between the two) */
    g_signal_emit_by_name(v->webrtc, "create-offer", NULL,
                          gst_promise_new_with_change_func(on_offer_created, v, NULL));
    g_timeout_add(GATHER_TIMEOUT_MS, on_gather_timeout, v);
    return 0;
}

static gboolean on_stop(gpointer data)
{
    g_main_loop_quit(((clients *)data)->loop);
    return G_SOURCE_REMOVE;
}

static gboolean on_stdin(gint fd, GIOCondition condition, gpointer data)
{
    char buf[256];
    if (read(fd, buf, sizeof buf) > 0)
        return G_SOURCE_CONTINUE;
    g_main_loop_quit(((clients *)data)->loop);   /* closed */
    return G_SOURCE_REMOVE;
}

static void usage(void)
{
    fprintf(stderr, "usage: webrtc_clients URL N [--codec vp8|h264] [--avatar ID]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    gst_init(&argc, &argv);
    if (argc < 3)
        usage();
    clients c = { .url = argv[1], .n = atoi(argv[2]) };
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--codec") == 0 && i + 1 < argc) {
            const char *codec = argv[++i];
            if (strcmp(codec, "h264") != 0 && strcmp(codec, "vp8") != 0)
                usage();
            c.codec_h264 = strcmp(codec, "h264") == 0;
        } else if (strcmp(argv[i], "--avatar") == 0 && i + 1 < argc) {
            c.avatar = argv[++i];
        } else {
            usage();
        }
    }
    if (c.n < 1 || c.n > 256) {
        fprintf(stderr, "webrtc_clients: N: '%s' (1 to 256 viewers)\n", argv[2]);
        return 2;
    }
    ls_open_files files;
    if (ls_open_files_raise((long)c.n * VIEWER_FILES + 64, 65536, &files) < 0) {
        fprintf(stderr, "webrtc_clients: %d viewers need about %ld open files; the limit is %ld\n", c.n,
                (long)c.n * VIEWER_FILES + 64, files.hard);
        return 1;
    }
    c.loop = g_main_loop_new(NULL, FALSE);
    c.http = soup_session_new_with_options("timeout", HTTP_TIMEOUT_S, "user-agent", "lipstream-bench", NULL);
    c.viewers = g_new0(viewer, c.n);
    c.t0 = g_get_monotonic_time();
    for (int i = 0; i < c.n; i++) {
        c.viewers[i] = (viewer){ .all = &c, .index = i };
        if (start_viewer(&c, &c.viewers[i]) < 0)
            break;
    }
    g_timeout_add_seconds(FIRST_FRAME_TIMEOUT_S, on_first_frame_timeout, &c);
    g_timeout_add_seconds(1, on_second, &c);
    g_unix_signal_add(SIGINT, on_stop, &c);
    g_unix_signal_add(SIGTERM, on_stop, &c);
    g_unix_fd_add(0, G_IO_IN | G_IO_HUP | G_IO_ERR, on_stdin, &c);
    if (c.status == 0)
        g_main_loop_run(c.loop);
    if (c.status == 0)
        print_totals(&c, "{\"closed\": true, ");
    for (int i = 0; i < c.n; i++) {
        viewer *v = &c.viewers[i];
        if (v->pipeline) {
            gst_element_set_state(v->pipeline, GST_STATE_NULL);
            gst_object_unref(v->pipeline);
        }
        g_free(v->sid);
    }
    g_free(c.viewers);
    g_object_unref(c.http);
    g_main_loop_unref(c.loop);
    return c.status;
}
