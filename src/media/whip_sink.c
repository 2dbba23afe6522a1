/*
 * whip_sink.c - the WHIP push: webrtcbin as offerer, the offer POSTed over
 * HTTP (see whip_sink.h).
 *
 * Each pipeline built is one try, with its own `attempt`: the webrtcbin,
 * the HTTP request in flight, the timers and the resource's Location.
 * webrtcbin's signals and promises fire on its threads; they only post
 * small events to the main context (post()), where the HTTP exchange runs
 * (libsoup, asynchronous) and where failures are reported to output.c.
 * Events, promises and signal handlers each hold a reference on their
 * attempt; when the try ends (the kind's `stopping` hook, main context) the
 * attempt is marked cancelled, so their late news does nothing, and the
 * `ls_output` pointer in it is never used again.
 */
#include "media/whip_sink.h"

#include <stdio.h>
#include <string.h>

#include <gst/sdp/sdp.h>
#include <libsoup/soup.h>
#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>

#include "media/encoders.h"
#include "media/webrtc_common.h"
#include "util/glib_source.h"
#include "util/url.h"

#define VIDEO_PT 96
#define AUDIO_PT 111
#define QUEUED_FRAMES 3
#define GATHER_TIMEOUT_MS 3000     /* offer what was gathered by then */
#define CONNECT_TIMEOUT_S 20
#define HTTP_TIMEOUT_S 10
#define DELETE_TIMEOUT_S 3

typedef struct attempt {
    gint refs;
    gint cancelled;                /* the try is over: ignore its news */
    gint offering;                 /* create-offer was emitted */
    ls_output *o;                  /* main context, while not cancelled */
    GMainContext *context;         /* the output's (a reference) */
    GstElement *webrtc;            /* a reference */
    GCancellable *cancel;          /* the POST */
    GSource *gather_timeout, *connect_timeout, *liveness;
    gint64 last_rtcp_us;           /* the endpoint's liveness (ls_rtcp_heard, webrtc_common.h) */
    int offer_sent;
    char *location;                /* the resource, to DELETE */
} attempt;

typedef struct whip {
    char *url, *stun;
    char *authorization;           /* "Bearer <token>", or NULL */
    char shown[256];               /* the URL, redacted */
    SoupSession *http;
    attempt *current;
} whip;

static void *attempt_ref(void *data)
{
    attempt *a = data;
    g_atomic_int_inc(&a->refs);
    return a;
}

static void attempt_unref(gpointer data)
{
    attempt *a = data;
    if (!g_atomic_int_dec_and_test(&a->refs))
        return;
    if (a->webrtc)
        gst_object_unref(a->webrtc);
    g_main_context_unref(a->context);
    g_object_unref(a->cancel);
    g_free(a->location);
    g_free(a);
}

static void closure_unref(gpointer data, GClosure *closure)
{
    attempt_unref(data);
}

static int cancelled(attempt *a)
{
    return g_atomic_int_get(&a->cancelled);
}


// --- events: webrtcbin's threads -> main context ------------------------------------

typedef enum event_kind { EVENT_GATHERED, EVENT_CONNECTED, EVENT_FAILED } event_kind;

static void send_offer(attempt *a);

static void handle_event(void *owner, int kind, const char *text)
{
    attempt *a = owner;
    if (cancelled(a))
        return;
    switch ((event_kind)kind) {
    case EVENT_GATHERED:
        send_offer(a);
        break;
    case EVENT_CONNECTED:
        ls_source_clear(&a->connect_timeout);
        ls_output_live(a->o);
        break;
    case EVENT_FAILED:
        ls_output_fail(a->o, text);
        break;
    }
}

static const ls_webrtc_event_target attempt_events = { attempt_ref, attempt_unref, handle_event };

static void post(attempt *a, event_kind kind, const char *text)
{
    if (!cancelled(a))
        ls_webrtc_post(a->context, &attempt_events, a, kind, text);
}

// --- webrtcbin's threads ------------------------------------------------------------

static void on_offer_created(GstPromise *promise, gpointer data)
{
    attempt *a = data;
    char why[256];
    if (!cancelled(a) && ls_webrtc_set_local_description(promise, a->webrtc, "offer", why, sizeof why))
        post(a, EVENT_FAILED, why);
    gst_promise_unref(promise);
}

static void on_negotiation_needed(GstElement *webrtc, gpointer data)
{
    attempt *a = data;
    if (cancelled(a) || !g_atomic_int_compare_and_exchange(&a->offering, 0, 1))
        return;
    GstPromise *promise = gst_promise_new_with_change_func(on_offer_created, attempt_ref(a), attempt_unref);
    g_signal_emit_by_name(webrtc, "create-offer", NULL, promise);
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
    if (state == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED)
        post(data, EVENT_CONNECTED, NULL);
    else if (state == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED)
        post(data, EVENT_FAILED, "the WebRTC connection failed");
}

/* rtpbin: RTCP arrived from the endpoint: it is still there. */
static void on_rtcp_from_endpoint(GstElement *rtpbin, guint session, guint ssrc, gpointer data)
{
    attempt *a = data;
    ls_rtcp_heard(&a->last_rtcp_us);
}

static void on_answer_set(GstPromise *promise, gpointer data)
{
    char why[256];
    if (ls_webrtc_promise_failed(promise, why, sizeof why))
        post(data, EVENT_FAILED, why);
    gst_promise_unref(promise);
}

// --- HTTP: main context -------------------------------------------------------------

static whip *whip_of(attempt *a)
{
    return ls_output_data(a->o);
}

static void apply_answer(attempt *a, GBytes *body)
{
    gsize size;
    const char *data = g_bytes_get_data(body, &size);
    gchar *text = g_strndup(data, size);
    GstSDPMessage *sdp = NULL;
    gst_sdp_message_new(&sdp);
    int ok = gst_sdp_message_parse_buffer((const guint8 *)text, (guint)strlen(text), sdp) == GST_SDP_OK &&
             gst_sdp_message_medias_len(sdp) > 0;
    g_free(text);
    if (!ok) {
        gst_sdp_message_free(sdp);
        char why[320];
        snprintf(why, sizeof why, "WHIP endpoint %s: the answer is not SDP", whip_of(a)->shown);
        ls_output_fail(a->o, why);
        return;
    }
    GstWebRTCSessionDescription *answer = gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_ANSWER, sdp);
    GstPromise *promise = gst_promise_new_with_change_func(on_answer_set, attempt_ref(a), attempt_unref);
    g_signal_emit_by_name(a->webrtc, "set-remote-description", answer, promise);
    gst_webrtc_session_description_free(answer);
}

static void on_posted(GObject *source, GAsyncResult *result, gpointer data)
{
    attempt *a = data;
    GError *gerr = NULL;
    GBytes *body = soup_session_send_and_read_finish(SOUP_SESSION(source), result, &gerr);
    if (cancelled(a))
        goto done;
    whip *w = whip_of(a);
    SoupMessage *msg = soup_session_get_async_result_message(SOUP_SESSION(source), result);
    guint status = msg ? soup_message_get_status(msg) : 0;
    char why[400];
    if (!body) {
        snprintf(why, sizeof why, "WHIP endpoint %s: %s", w->shown, gerr ? gerr->message : "no answer");
        ls_output_fail(a->o, why);
        goto done;
    }
    if (status != SOUP_STATUS_CREATED && status != SOUP_STATUS_OK) {
        snprintf(why, sizeof why, "WHIP endpoint %s answered %u %s", w->shown, status,
                 msg ? soup_message_get_reason_phrase(msg) : "");
        ls_output_fail(a->o, why);
        goto done;
    }
    const char *location = soup_message_headers_get_one(soup_message_get_response_headers(msg), "Location");
    if (location)
        a->location = g_uri_resolve_relative(w->url, location, G_URI_FLAGS_NONE, NULL);
    apply_answer(a, body);
done:
    if (body)
        g_bytes_unref(body);
    g_clear_error(&gerr);
    attempt_unref(a);
}

static void authorize(const whip *w, SoupMessage *msg)
{
    if (w->authorization)
        soup_message_headers_replace(soup_message_get_request_headers(msg), "Authorization", w->authorization);
}

static void send_offer(attempt *a)
{
    if (a->offer_sent)
        return;
    ls_source_clear(&a->gather_timeout);
    GstWebRTCSessionDescription *offer = NULL;
    g_object_get(a->webrtc, "local-description", &offer, NULL);
    if (!offer)
        return; /* not made yet (a loaded machine): sent once gathering completes */
    a->offer_sent = 1;
    /* an endpoint that closes the connection (a media server ending the
     * stream or restarting) fails the try: the output tries again */
    ls_webrtc_watch_dtls(a->webrtc, a->context, &attempt_events, a, -1, EVENT_FAILED);
    gchar *text = gst_sdp_message_as_text(offer->sdp);
    gst_webrtc_session_description_free(offer);
    whip *w = whip_of(a);
    SoupMessage *msg = soup_message_new(SOUP_METHOD_POST, w->url);
    authorize(w, msg);
    GBytes *body = g_bytes_new_take(text, strlen(text));
    soup_message_set_request_body_from_bytes(msg, "application/sdp", body);
    g_bytes_unref(body);
    soup_session_send_and_read_async(w->http, msg, G_PRIORITY_DEFAULT, a->cancel, on_posted, attempt_ref(a));
    g_object_unref(msg);
}

static void delete_resource(const whip *w, const char *location)
{
    SoupSession *s = soup_session_new_with_options("timeout", DELETE_TIMEOUT_S, "user-agent", "lipstream", NULL);
    SoupMessage *msg = soup_message_new(SOUP_METHOD_DELETE, location);
    if (!msg) {
        g_object_unref(s);
        return;
    }
    authorize(w, msg);
    GError *gerr = NULL;
    GBytes *reply = soup_session_send_and_read(s, msg, NULL, &gerr);
    guint status = soup_message_get_status(msg);
    if (!reply || !SOUP_STATUS_IS_SUCCESSFUL(status))
        fprintf(stderr, "lipstream: whip %s: DELETE of the stream's resource: %s\n", w->shown,
                gerr ? gerr->message : soup_message_get_reason_phrase(msg));
    if (reply)
        g_bytes_unref(reply);
    g_clear_error(&gerr);
    g_object_unref(msg);
    g_object_unref(s);
}

static gboolean on_gather_timeout(gpointer data)
{
    attempt *a = data;
    ls_source_clear(&a->gather_timeout);
    send_offer(a);
    return G_SOURCE_REMOVE;
}

static gboolean on_connect_timeout(gpointer data)
{
    attempt *a = data;
    ls_source_clear(&a->connect_timeout);
    char why[128];
    snprintf(why, sizeof why, a->offer_sent ? "no WebRTC connection within %d s" : "webrtc: no offer within %d s",
             CONNECT_TIMEOUT_S);
    ls_output_fail(a->o, why);
    return G_SOURCE_REMOVE;
}

/* An endpoint silent for LS_RTCP_SILENCE_S (a media server that crashed,
 * a network gone: webrtc_common.h) fails the try: the output tries again.
 * The silence counts from the endpoint's first report, not from the
 * connection as for browsers: a media server that sends no RTCP at all is
 * left streaming. */
static gboolean on_liveness_check(gpointer data)
{
    attempt *a = data;
    if (!ls_rtcp_silent(&a->last_rtcp_us))
        return G_SOURCE_CONTINUE;
    ls_source_clear(&a->liveness);
    ls_output_fail(a->o, "the WHIP endpoint sent no RTCP for " G_STRINGIFY(LS_RTCP_SILENCE_S) " s");
    return G_SOURCE_REMOVE;
}

static GSource *attach_timeout(attempt *a, guint ms, GSourceFunc fn)
{
    GSource *s = g_timeout_source_new(ms);
    g_source_set_callback(s, fn, a, NULL);
    g_source_attach(s, a->context);
    return s;
}

// --- the kind's hooks (main context) ---------------------------------------------------

/* "appsrc name=NAME ! ... ! capsfilter (RTP caps)" as a bin with a src ghost pad. */
static GstElement *make_branch(const char *description, ls_error *err)
{
    GError *gerr = NULL;
    GstElement *bin = gst_parse_bin_from_description(description, TRUE, &gerr);
    if (!bin) {
        ls_error_set(err, "whip: cannot build '%s': %s", description, gerr ? gerr->message : "?");
        g_clear_error(&gerr);
    }
    return bin;
}

static int link_to_webrtc(GstElement *pipeline, GstElement *webrtc, GstElement *branch, ls_error *err)
{
    gst_bin_add(GST_BIN(pipeline), branch);
    GstPad *sink = gst_element_request_pad_simple(webrtc, "sink_%u");
    GstPad *src = gst_element_get_static_pad(branch, "src");
    GstPadLinkReturn r = sink && src ? gst_pad_link(src, sink) : GST_PAD_LINK_REFUSED;
    GstWebRTCRTPTransceiver *transceiver = NULL;
    if (sink)
        g_object_get(sink, "transceiver", &transceiver, NULL);
    if (transceiver) {
        g_object_set(transceiver, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY, NULL);
        gst_object_unref(transceiver);
    }
    if (src)
        gst_object_unref(src);
    if (sink)
        gst_object_unref(sink);
    if (r != GST_PAD_LINK_OK)
        return ls_error_set(err, "whip: cannot link %s to webrtcbin (%s)", GST_OBJECT_NAME(branch),
                            gst_pad_link_get_name(r));
    return 0;
}

static int add_branches(GstElement *pipeline, GstElement *webrtc, int width, int height, ls_error *err)
{
    gchar *h264 = ls_encoder_h264(width, height, "constrained-baseline");
    gchar *video_desc = g_strdup_printf(
        "appsrc name=video ! %s ! rtph264pay config-interval=-1 aggregate-mode=zero-latency pt=%d ! "
        "capsfilter caps=\"application/x-rtp,media=video,encoding-name=H264,clock-rate=90000,payload=%d,"
        "packetization-mode=(string)1\"",
        h264, VIDEO_PT, VIDEO_PT);
    gchar *audio_desc = g_strdup_printf(
        "appsrc name=audio ! audioconvert ! audioresample ! opusenc ! rtpopuspay pt=%d ! "
        "capsfilter caps=\"application/x-rtp,media=audio,encoding-name=OPUS,clock-rate=48000,payload=%d\"",
        AUDIO_PT, AUDIO_PT);
    GstElement *video = make_branch(video_desc, err);
    GstElement *audio = video ? make_branch(audio_desc, err) : NULL;
    g_free(h264);
    g_free(video_desc);
    g_free(audio_desc);
    int rc = -1;
    if (audio) {
        rc = link_to_webrtc(pipeline, webrtc, video, err);
        video = NULL;   /* the pipeline has it */
        if (rc == 0)
            rc = link_to_webrtc(pipeline, webrtc, audio, err);
        audio = NULL;
    }
    if (video)
        gst_object_unref(gst_object_ref_sink(video));
    return rc;
}

/* The try is over: its news is ignored from now on, its resource deleted. */
static void end_attempt(whip *w)
{
    attempt *a = w->current;
    if (!a)
        return;
    w->current = NULL;
    g_atomic_int_set(&a->cancelled, 1);
    g_cancellable_cancel(a->cancel);
    ls_source_clear(&a->gather_timeout);
    ls_source_clear(&a->connect_timeout);
    ls_source_clear(&a->liveness);
    if (a->location)
        delete_resource(w, a->location);
    attempt_unref(a);
}

static GstElement *build(ls_output *o, ls_error *err)
{
    static const char *const needed[] = { "webrtcbin", "x264enc", "rtph264pay", "opusenc", "rtpopuspay", NULL };
    if (ls_encoder_require(needed, "gstreamer1.0-plugins-bad, gstreamer1.0-nice, gstreamer1.0-plugins-ugly, "
                                   "gstreamer1.0-plugins-base, gstreamer1.0-plugins-good", err) < 0)
        return NULL;
    whip *w = ls_output_data(o);
    attempt *a = g_new0(attempt, 1);
    a->refs = 1;
    a->o = o;
    a->context = g_main_context_ref(ls_output_context(o));
    a->cancel = g_cancellable_new();
    w->current = a;

    GstElement *pipeline = gst_pipeline_new("whip");
    a->webrtc = gst_element_factory_make("webrtcbin", "webrtc");
    gst_object_ref(a->webrtc);
    gst_bin_add(GST_BIN(pipeline), a->webrtc);
    g_object_set(a->webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, NULL);
    GstElement *rtpbin = gst_bin_get_by_name(GST_BIN(a->webrtc), "rtpbin");
    if (rtpbin) {
        ls_webrtc_sync_by_capture_time(rtpbin);
        g_signal_connect_data(rtpbin, "on-ssrc-active", G_CALLBACK(on_rtcp_from_endpoint), attempt_ref(a),
                              closure_unref, 0);
        gst_object_unref(rtpbin);
    }
    if (w->stun)
        g_object_set(a->webrtc, "stun-server", w->stun, NULL);
    ls_webrtc_add_local_addresses(a->webrtc);
    if (add_branches(pipeline, a->webrtc, ls_output_width(o), ls_output_height(o), err) < 0) {
        gst_object_unref(pipeline);
        end_attempt(w);
        return NULL;
    }
    g_signal_connect_data(a->webrtc, "on-negotiation-needed", G_CALLBACK(on_negotiation_needed), attempt_ref(a),
                          closure_unref, 0);
    g_signal_connect_data(a->webrtc, "notify::ice-gathering-state", G_CALLBACK(on_gathering_state),
                          attempt_ref(a), closure_unref, 0);
    g_signal_connect_data(a->webrtc, "notify::connection-state", G_CALLBACK(on_connection_state), attempt_ref(a),
                          closure_unref, 0);
    return pipeline;
}

static int started(ls_output *o, ls_error *err)
{
    attempt *a = ((whip *)ls_output_data(o))->current;
    a->gather_timeout = attach_timeout(a, GATHER_TIMEOUT_MS, on_gather_timeout);
    a->connect_timeout = attach_timeout(a, CONNECT_TIMEOUT_S * 1000, on_connect_timeout);
    a->liveness = attach_timeout(a, LS_RTCP_CHECK_MS, on_liveness_check);
    return 0;
}

static void stopping(ls_output *o)
{
    end_attempt(ls_output_data(o));
}

static void free_whip(void *data)
{
    whip *w = data;
    end_attempt(w);
    if (w->http)
        g_object_unref(w->http);
    g_free(w->url);
    g_free(w->stun);
    g_free(w->authorization);
    g_free(w);
}

static const ls_output_kind whip_kind = {
    .name = "whip",
    .restart = 1,
    .finish_on_stop = 0,
    .max_frames = QUEUED_FRAMES,
    .build = build,
    .started = started,
    .stopping = stopping,
    .free_data = free_whip,
};

int ls_whip_output_new(const char *url, const char *stun, const char *token, const ls_output_config *cfg,
                       ls_output **out, ls_error *err)
{
    whip *w = g_new0(whip, 1);
    ls_url_redact(url, w->shown, sizeof w->shown);
    if (!g_str_has_prefix(url, "http://") && !g_str_has_prefix(url, "https://")) {
        ls_error_set(err, "push URL %s: WHIP needs an http:// or https:// endpoint", w->shown);
        free_whip(w);
        return -1;
    }
    w->url = g_strdup(url);
    w->stun = g_strdup(stun);
    w->authorization = token && token[0] ? g_strdup_printf("Bearer %s", token) : NULL;
    w->http = soup_session_new_with_options("timeout", HTTP_TIMEOUT_S, "user-agent", "lipstream", NULL);
    gchar *what = g_strdup_printf("whip %s", w->shown);
    int rc = ls_output_new(&whip_kind, w, cfg, what, out, err);
    g_free(what);
    return rc;
}
