/*
 * webrtc_peer.c - the per-session WebRTC pipeline and its answer to the offer.
 *
 * Construction builds the two encoding branches as bins (gst_parse), links
 * them to webrtcbin request pads in the offer's m-line order, adds the host
 * candidates (media/webrtc_common.h), configures the appsrcs
 * (media/av_appsrc.h), fixes the clock and base time, sets PLAYING, then
 * runs webrtcbin's answerer steps:
 * set-remote-description -> create-answer -> set-local-description (each
 * promise callback starting the next). ICE gathering starts at the local
 * description; when it completes the local description holds the
 * candidates and becomes the answer.
 *
 * Threads: webrtcbin's signals and promises fire on its own threads. They
 * only record state and post a small event to the main context (post()),
 * where callbacks run. Every posted event, pending promise and DTLS
 * transport watch holds a reference on the peer, so the struct outlives
 * them; `stopping` (set by ls_webrtc_peer_free) makes late events do
 * nothing.
 */
#include "media/webrtc_peer.h"

#include <stdio.h>

#include <gst/sdp/sdp.h>
#include <gst/video/video.h>
#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>

#include "media/av_appsrc.h"
#include "media/encoders.h"
#include "media/webrtc_common.h"
#include "util/glib_source.h"

#define ANSWER_TIMEOUT_MS 3000     /* send what was gathered by then */
#define CONNECT_TIMEOUT_S 30       /* a peer that never connects is closed */
#define APPSRC_FRAMES 3            /* frames the appsrcs hold before dropping the oldest */

struct ls_webrtc_peer {
    ls_media_sink sink;            /* first member: the peer is a media sink */
    gint refs;                     /* the owner, pending events and promises */
    gint stopping;                 /* set by ls_webrtc_peer_free */
    gint connection_state;         /* GstWebRTCPeerConnectionState */
    gint64 last_rtcp_us;           /* the peer's liveness (ls_rtcp_heard, webrtc_common.h) */
    GstElement *pipeline, *webrtc, *video_branch;
    ls_av_appsrc av;               /* the raw inputs: appsrcs "video" and "audio" */
    GstClock *clock;
    GstClockTime base_time;
    GMainContext *context;
    ls_webrtc_callbacks cb;
    GSource *answer_timeout, *connect_timeout, *liveness, *bus_watch;
    int answered, closed;          /* main context only */
};

typedef enum event_kind {
    EVENT_ANSWER,        /* gathering complete */
    EVENT_CONNECTED,
    EVENT_DTLS_CONNECTED,  /* media can flow: the silence clock starts */
    EVENT_CLOSED,        /* failed, closed or left: `text` says why */
} event_kind;

static void *peer_ref(void *data)
{
    ls_webrtc_peer *p = data;
    g_atomic_int_inc(&p->refs);
    return p;
}

static void peer_unref(gpointer data)
{
    ls_webrtc_peer *p = data;
    if (!g_atomic_int_dec_and_test(&p->refs))
        return;
    if (p->clock)
        gst_object_unref(p->clock);
    g_free(p);
}

// --- main-context side ---------------------------------------------------------

static void watch_dtls_transports(ls_webrtc_peer *p);

static void send_answer(ls_webrtc_peer *p)
{
    if (p->answered)
        return;
    p->answered = 1;
    GstWebRTCSessionDescription *desc = NULL;
    g_object_get(p->webrtc, "local-description", &desc, NULL);
    if (!desc) {
        p->cb.answer(p->cb.user, NULL, "webrtc: no answer was created in time");
        return;
    }
    gchar *text = gst_sdp_message_as_text(desc->sdp);
    gst_webrtc_session_description_free(desc);
    watch_dtls_transports(p);
    p->cb.answer(p->cb.user, text, NULL);
    g_free(text);
}

static void report_closed(ls_webrtc_peer *p, const char *why)
{
    if (!p->answered) {
        p->answered = 1;
        p->cb.answer(p->cb.user, NULL, why);
        return;
    }
    if (p->closed)
        return;
    p->closed = 1;
    p->cb.closed(p->cb.user, why);
}


/* The encoder made its first keyframe before anyone could receive it: the
 * newly connected peer gets one now rather than at the next interval. */
static void request_keyframe(ls_webrtc_peer *p)
{
    GstPad *pad = gst_element_get_static_pad(p->video_branch, "src");
    gst_pad_send_event(pad, gst_video_event_new_upstream_force_key_unit(GST_CLOCK_TIME_NONE, TRUE, 0));
    gst_object_unref(pad);
}

static void handle_event(void *owner, int kind, const char *text)
{
    ls_webrtc_peer *p = owner;
    if (g_atomic_int_get(&p->stopping))
        return;
    switch ((event_kind)kind) {
    case EVENT_ANSWER:
        ls_source_clear(&p->answer_timeout);
        send_answer(p);
        break;
    case EVENT_CONNECTED:
        ls_source_clear(&p->connect_timeout);
        request_keyframe(p);
        break;
    case EVENT_DTLS_CONNECTED:
        ls_rtcp_connected(&p->last_rtcp_us);
        break;
    case EVENT_CLOSED:
        report_closed(p, text);
        break;
    }
}

static const ls_webrtc_event_target peer_events = { peer_ref, peer_unref, handle_event };

/* The first DTLS transport connected starts the silence clock (media flows
 * from then on, even while webrtcbin still calls the connection
 * "connecting"); one the peer closed ends the session at once, without
 * waiting for its RTCP to fall silent. */
static void watch_dtls_transports(ls_webrtc_peer *p)
{
    ls_webrtc_watch_dtls(p->webrtc, p->context, &peer_events, p, EVENT_DTLS_CONNECTED, EVENT_CLOSED);
}

/* From any thread: queue an event for the main context. */
static void post(ls_webrtc_peer *p, event_kind kind, const char *text)
{
    ls_webrtc_post(p->context, &peer_events, p, kind, text);
}

static gboolean on_answer_timeout(gpointer data)
{
    ls_webrtc_peer *p = data;
    g_source_unref(p->answer_timeout);
    p->answer_timeout = NULL;
    send_answer(p);
    return G_SOURCE_REMOVE;
}

static gboolean on_connect_timeout(gpointer data)
{
    ls_webrtc_peer *p = data;
    g_source_unref(p->connect_timeout);
    p->connect_timeout = NULL;
    report_closed(p, "the peer did not connect within 30 s");
    return G_SOURCE_REMOVE;
}

/* A peer silent for LS_RTCP_SILENCE_S has left without a BYE or a
 * close_notify (crash, network: webrtc_common.h). */
static gboolean on_liveness_check(gpointer data)
{
    ls_webrtc_peer *p = data;
    if (ls_rtcp_silent(&p->last_rtcp_us))
        report_closed(p, "the peer sent no RTCP for " G_STRINGIFY(LS_RTCP_SILENCE_S) " s (it left)");
    return G_SOURCE_CONTINUE;
}

static gboolean on_bus_message(GstBus *bus, GstMessage *msg, gpointer data)
{
    ls_webrtc_peer *p = data;
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
        GError *gerr = NULL;
        gst_message_parse_error(msg, &gerr, NULL);
        char why[256];
        snprintf(why, sizeof why, "media pipeline error from %s: %s", GST_OBJECT_NAME(msg->src),
                 gerr ? gerr->message : "unknown");
        g_clear_error(&gerr);
        report_closed(p, why);
    }
    return G_SOURCE_CONTINUE;
}

static GSource *attach_timeout(ls_webrtc_peer *p, guint ms, GSourceFunc fn)
{
    GSource *s = g_timeout_source_new(ms);
    g_source_set_callback(s, fn, p, NULL);
    g_source_attach(s, p->context);
    return s;
}

// --- webrtcbin's threads --------------------------------------------------------

static void on_answer_created(GstPromise *promise, gpointer data)
{
    ls_webrtc_peer *p = data;
    char why[256];
    if (!g_atomic_int_get(&p->stopping) &&
        ls_webrtc_set_local_description(promise, p->webrtc, "answer", why, sizeof why))
        post(p, EVENT_CLOSED, why);
    gst_promise_unref(promise);
}

static void on_offer_set(GstPromise *promise, gpointer data)
{
    ls_webrtc_peer *p = data;
    char why[256];
    if (ls_webrtc_promise_failed(promise, why, sizeof why)) {
        post(p, EVENT_CLOSED, why);
    } else if (!g_atomic_int_get(&p->stopping)) {
        GstPromise *next = gst_promise_new_with_change_func(on_answer_created, peer_ref(p), peer_unref);
        g_signal_emit_by_name(p->webrtc, "create-answer", NULL, next);
    }
    gst_promise_unref(promise);
}

static void on_gathering_state(GObject *webrtc, GParamSpec *pspec, gpointer data)
{
    if (ls_webrtc_gathering_complete(webrtc))
        post(data, EVENT_ANSWER, NULL);
}

static void on_connection_state(GObject *webrtc, GParamSpec *pspec, gpointer data)
{
    ls_webrtc_peer *p = data;
    GstWebRTCPeerConnectionState state;
    g_object_get(webrtc, "connection-state", &state, NULL);
    g_atomic_int_set(&p->connection_state, (gint)state);
    if (state == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED)
        post(p, EVENT_CONNECTED, NULL);
    else if (state == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED)
        post(p, EVENT_CLOSED, "the WebRTC connection failed");
    else if (state == GST_WEBRTC_PEER_CONNECTION_STATE_CLOSED)
        post(p, EVENT_CLOSED, "the WebRTC connection closed");
}

/* rtpbin: the peer said goodbye (RTCP BYE, sent by browsers on close). */
static void on_bye(GstElement *rtpbin, guint session, guint ssrc, gpointer data)
{
    post(data, EVENT_CLOSED, "the peer left (RTCP BYE)");
}

/* rtpbin: RTCP arrived from one of the peer's sources: it is still there. */
static void on_rtcp_from_peer(GstElement *rtpbin, guint session, guint ssrc, gpointer data)
{
    ls_webrtc_peer *p = data;
    ls_rtcp_heard(&p->last_rtcp_us);
}

// --- the sink (producer thread) -------------------------------------------------

static int push_frame(ls_media_sink *sink, const ls_image *bgr, const int16_t audio[LS_MEDIA_AUDIO_PER_VIDEO],
                      int64_t n)
{
    return ls_av_appsrc_push(&((ls_webrtc_peer *)sink)->av, bgr, audio, n) == GST_FLOW_OK ? 0 : -1;
}

static const ls_media_sink_ops webrtc_sink_ops = { push_frame };

// --- construction ---------------------------------------------------------------

/* A branch "appsrc name=video|audio ! ... ! capsfilter (RTP caps)" as a bin
 * with a src ghost pad (gst_parse takes caps only between two elements). */
static GstElement *make_branch(const char *description, ls_error *err)
{
    GError *gerr = NULL;
    GstElement *bin = gst_parse_bin_from_description(description, TRUE, &gerr);
    if (!bin) {
        ls_error_set(err, "webrtc: cannot build '%s': %s", description, gerr ? gerr->message : "?");
        g_clear_error(&gerr);
    }
    return bin;
}

static GstElement *make_video_branch(const ls_offer_media *m, const ls_webrtc_config *cfg, ls_error *err)
{
    /* x264 and 4:2:0 need even sizes: an odd avatar loses its last column/row (videoscale). */
    gchar *encoder = ls_encoder_webrtc_video(m->video_codec, m->video_pt);
    gchar *desc = g_strdup_printf(
        "appsrc name=video ! videoconvert ! videoscale ! video/x-raw,format=I420,width=%d,height=%d ! %s",
        cfg->width & ~1, cfg->height & ~1, encoder);
    GstElement *branch = make_branch(desc, err);
    g_free(desc);
    g_free(encoder);
    return branch;
}

static GstElement *make_audio_branch(const ls_offer_media *m, ls_error *err)
{
    char desc[512];
    snprintf(desc, sizeof desc,
             "appsrc name=audio ! opusenc ! rtpopuspay pt=%d ! "
             "capsfilter caps=\"application/x-rtp,media=audio,encoding-name=OPUS,clock-rate=48000,payload=%d\"",
             m->audio_pt, m->audio_pt);
    return make_branch(desc, err);
}

static int link_to_webrtc(ls_webrtc_peer *p, GstElement *branch, ls_error *err)
{
    gst_bin_add(GST_BIN(p->pipeline), branch);
    GstPad *sink = gst_element_request_pad_simple(p->webrtc, "sink_%u");
    GstPad *src = gst_element_get_static_pad(branch, "src");
    GstPadLinkReturn r = sink && src ? gst_pad_link(src, sink) : GST_PAD_LINK_REFUSED;
    if (src)
        gst_object_unref(src);
    if (sink)
        gst_object_unref(sink);  /* webrtcbin keeps its request pad until it is disposed */
    if (r != GST_PAD_LINK_OK)
        return ls_error_set(err, "webrtc: cannot link %s to webrtcbin (%s)", GST_OBJECT_NAME(branch),
                            gst_pad_link_get_name(r));
    return 0;
}

static int build_pipeline(ls_webrtc_peer *p, const ls_offer_media *m, const ls_webrtc_config *cfg,
                          ls_error *err)
{
    p->pipeline = gst_pipeline_new("session");
    p->webrtc = gst_element_factory_make("webrtcbin", "webrtc");
    if (!p->webrtc)
        return ls_error_set(err, "webrtc: no webrtcbin element (install gstreamer1.0-plugins-bad, "
                                 "gstreamer1.0-nice)");
    /* max-bundle follows the browser's BUNDLE group (the default policy ignores it) */
    g_object_set(p->webrtc, "bundle-policy",
                 m->bundle ? GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE : GST_WEBRTC_BUNDLE_POLICY_NONE, NULL);
    if (cfg->stun)
        g_object_set(p->webrtc, "stun-server", cfg->stun, NULL);
    gst_bin_add(GST_BIN(p->pipeline), p->webrtc);
    ls_webrtc_add_local_addresses(p->webrtc);

    GstElement *video = make_video_branch(m, cfg, err);
    if (!video)
        return -1;
    p->video_branch = video;
    GstElement *audio = make_audio_branch(m, err);
    if (!audio) {
        gst_object_unref(gst_object_ref_sink(video));
        return -1;
    }
    /* Transceivers are created in request order: follow the offer's m-lines. */
    GstElement *first = m->video_first ? video : audio, *second = m->video_first ? audio : video;
    int rc = link_to_webrtc(p, first, err);
    if (rc < 0) {
        gst_object_unref(gst_object_ref_sink(second));
        return -1;
    }
    if (link_to_webrtc(p, second, err) < 0 ||
        ls_av_appsrc_init(&p->av, p->pipeline, cfg->width, cfg->height, APPSRC_FRAMES, 0, err) < 0)
        return -1;

    g_signal_connect(p->webrtc, "notify::ice-gathering-state", G_CALLBACK(on_gathering_state), p);
    g_signal_connect(p->webrtc, "notify::connection-state", G_CALLBACK(on_connection_state), p);
    GstElement *rtpbin = gst_bin_get_by_name(GST_BIN(p->webrtc), "rtpbin");
    if (!rtpbin)
        return ls_error_set(err, "webrtc: webrtcbin has no rtpbin (GStreamer 1.22 expected)");
    g_signal_connect(rtpbin, "on-bye-ssrc", G_CALLBACK(on_bye), p);
    g_signal_connect(rtpbin, "on-ssrc-active", G_CALLBACK(on_rtcp_from_peer), p);
    ls_webrtc_sync_by_capture_time(rtpbin);
    gst_object_unref(rtpbin);

    /* One clock, and a base time fixed now: running time 0 is this instant. */
    p->clock = gst_system_clock_obtain();
    gst_pipeline_use_clock(GST_PIPELINE(p->pipeline), p->clock);
    gst_element_set_start_time(p->pipeline, GST_CLOCK_TIME_NONE);
    p->base_time = gst_clock_get_time(p->clock);
    gst_element_set_base_time(p->pipeline, p->base_time);
    return 0;
}

/* An offer whose BUNDLE group cannot be honoured (separate ICE credentials)
 * is read without the group: webrtcbin would refuse it, and the answer then
 * simply gives each m-line its own transport. */
static void drop_bundle_group(GstSDPMessage *sdp)
{
    for (guint i = gst_sdp_message_attributes_len(sdp); i-- > 0;) {
        const GstSDPAttribute *a = gst_sdp_message_get_attribute(sdp, i);
        if (g_strcmp0(a->key, "group") == 0 && a->value && g_str_has_prefix(a->value, "BUNDLE"))
            gst_sdp_message_remove_attribute(sdp, i);
    }
}

static int start_negotiation(ls_webrtc_peer *p, const char *offer_sdp, int bundle, ls_error *err)
{
    GstSDPMessage *sdp = NULL;
    if (gst_sdp_message_new_from_text(offer_sdp, &sdp) != GST_SDP_OK) {
        if (sdp)
            gst_sdp_message_free(sdp);
        return ls_error_set(err, "offer SDP: not parsable");
    }
    if (!bundle)
        drop_bundle_group(sdp);
    GstWebRTCSessionDescription *offer = gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_OFFER, sdp);
    GstPromise *promise = gst_promise_new_with_change_func(on_offer_set, peer_ref(p), peer_unref);
    g_signal_emit_by_name(p->webrtc, "set-remote-description", offer, promise);
    gst_webrtc_session_description_free(offer);
    return 0;
}

int ls_webrtc_peer_new(const char *offer_sdp, const ls_offer_media *media, const ls_webrtc_config *cfg,
                       const ls_webrtc_callbacks *cb, ls_webrtc_peer **out, ls_error *err)
{
    ls_webrtc_peer *p = g_new0(ls_webrtc_peer, 1);
    p->sink.ops = &webrtc_sink_ops;
    p->refs = 1;
    p->cb = *cb;
    p->context = cfg->context;
    p->connection_state = GST_WEBRTC_PEER_CONNECTION_STATE_NEW;

    if (build_pipeline(p, media, cfg, err) < 0)
        goto fail;
    GstBus *bus = gst_element_get_bus(p->pipeline);
    p->bus_watch = gst_bus_create_watch(bus);
    gst_object_unref(bus);
    g_source_set_callback(p->bus_watch, (GSourceFunc)(void (*)(void))on_bus_message, p, NULL);
    g_source_attach(p->bus_watch, p->context);

    if (gst_element_set_state(p->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
        ls_error_set(err, "webrtc: the media pipeline does not start");
        goto fail;
    }
    if (start_negotiation(p, offer_sdp, media->bundle, err) < 0)
        goto fail;
    p->answer_timeout = attach_timeout(p, ANSWER_TIMEOUT_MS, on_answer_timeout);
    p->connect_timeout = attach_timeout(p, CONNECT_TIMEOUT_S * 1000, on_connect_timeout);
    p->liveness = attach_timeout(p, LS_RTCP_CHECK_MS, on_liveness_check);
    *out = p;
    return 0;
fail:
    ls_webrtc_peer_free(p);
    return -1;
}

void ls_webrtc_peer_free(ls_webrtc_peer *p)
{
    if (!p)
        return;
    g_atomic_int_set(&p->stopping, 1);
    ls_source_clear(&p->answer_timeout);
    ls_source_clear(&p->connect_timeout);
    ls_source_clear(&p->liveness);
    ls_source_clear(&p->bus_watch);
    if (p->pipeline) {
        gst_element_set_state(p->pipeline, GST_STATE_NULL);
        ls_av_appsrc_clear(&p->av);
        gst_object_unref(p->pipeline);
    }
    peer_unref(p);
}

ls_media_sink *ls_webrtc_peer_sink(ls_webrtc_peer *p)
{
    return &p->sink;
}

GstClock *ls_webrtc_peer_clock(ls_webrtc_peer *p, GstClockTime *base_time)
{
    *base_time = p->base_time;
    return gst_object_ref(p->clock);
}

const char *ls_webrtc_peer_state(ls_webrtc_peer *p)
{
    switch ((GstWebRTCPeerConnectionState)g_atomic_int_get(&p->connection_state)) {
    case GST_WEBRTC_PEER_CONNECTION_STATE_NEW: return "new";
    case GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTING: return "connecting";
    case GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED: return "connected";
    case GST_WEBRTC_PEER_CONNECTION_STATE_DISCONNECTED: return "disconnected";
    case GST_WEBRTC_PEER_CONNECTION_STATE_FAILED: return "failed";
    case GST_WEBRTC_PEER_CONNECTION_STATE_CLOSED: return "closed";
    }
    return "unknown";
}
