/*
 * webrtc_common.c - host candidates, events to the main context, sender
 * report timing, promise errors, RTCP liveness and DTLS transport watches
 * for webrtcbin (see webrtc_common.h).
 */
#include "media/webrtc_common.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>

#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>

void ls_webrtc_add_local_addresses(GstElement *webrtcbin)
{
    GstWebRTCICE *ice = NULL;
    g_object_get(webrtcbin, "ice-agent", &ice, NULL);
    if (!ice)
        return;
    gboolean ok;
    g_signal_emit_by_name(ice, "add-local-ip-address", "127.0.0.1", &ok);
    struct ifaddrs *ifs;
    if (getifaddrs(&ifs) == 0) {
        for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
            if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_LOOPBACK) ||
                !(i->ifa_flags & IFF_UP))
                continue;
            char text[INET_ADDRSTRLEN];
            if (inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, text, sizeof text))
                g_signal_emit_by_name(ice, "add-local-ip-address", text, &ok);
        }
        freeifaddrs(ifs);
    }
    gst_object_unref(ice);
}

typedef struct webrtc_event {
    const ls_webrtc_event_target *target;
    void *owner;
    int kind;
    char text[256];
} webrtc_event;

static gboolean run_event(gpointer data)
{
    webrtc_event *e = data;
    e->target->handle(e->owner, e->kind, e->text);
    return G_SOURCE_REMOVE;
}

static void free_event(gpointer data)
{
    webrtc_event *e = data;
    e->target->unref(e->owner);
    g_free(e);
}

void ls_webrtc_post(GMainContext *context, const ls_webrtc_event_target *target, void *owner, int kind,
                    const char *text)
{
    webrtc_event *e = g_new0(webrtc_event, 1);
    e->target = target;
    e->owner = target->ref(owner);
    e->kind = kind;
    if (text)
        g_strlcpy(e->text, text, sizeof e->text);
    GSource *s = g_idle_source_new();
    g_source_set_callback(s, run_event, e, free_event);
    g_source_attach(s, context);
    g_source_unref(s);
}

void ls_webrtc_sync_by_capture_time(GstElement *rtpbin)
{
    g_object_set(rtpbin, "rtcp-sync-send-time", FALSE, NULL);
}

int ls_webrtc_gathering_complete(GObject *webrtcbin)
{
    GstWebRTCICEGatheringState state;
    g_object_get(webrtcbin, "ice-gathering-state", &state, NULL);
    return state == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE;
}

int ls_webrtc_promise_failed(GstPromise *promise, char *why, size_t size)
{
    if (gst_promise_wait(promise) != GST_PROMISE_RESULT_REPLIED) {
        snprintf(why, size, "webrtc: negotiation was interrupted");
        return 1;
    }
    const GstStructure *reply = gst_promise_get_reply(promise);
    GError *gerr = NULL;
    if (reply && gst_structure_has_field(reply, "error")) {
        gst_structure_get(reply, "error", G_TYPE_ERROR, &gerr, NULL);
        snprintf(why, size, "webrtc: %s", gerr ? gerr->message : "negotiation failed");
        g_clear_error(&gerr);
        return 1;
    }
    return 0;
}

void ls_rtcp_heard(gint64 *last_us)
{
    __atomic_store_n(last_us, g_get_monotonic_time(), __ATOMIC_RELAXED);
}

void ls_rtcp_connected(gint64 *last_us)
{
    gint64 never = 0;
    __atomic_compare_exchange_n(last_us, &never, g_get_monotonic_time(), 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

int ls_rtcp_silent(const gint64 *last_us)
{
    gint64 last = __atomic_load_n(last_us, __ATOMIC_RELAXED);
    return last > 0 && g_get_monotonic_time() - last > LS_RTCP_SILENCE_S * G_USEC_PER_SEC;
}

typedef struct dtls_watch {
    GMainContext *context;
    const ls_webrtc_event_target *target;
    void *owner;
    int connected_kind, closed_kind;
} dtls_watch;

static void on_dtls_state(GObject *transport, GParamSpec *pspec, gpointer data)
{
    const dtls_watch *w = data;
    GstWebRTCDTLSTransportState state;
    g_object_get(transport, "state", &state, NULL);
    if (state == GST_WEBRTC_DTLS_TRANSPORT_STATE_CONNECTED && w->connected_kind >= 0)
        ls_webrtc_post(w->context, w->target, w->owner, w->connected_kind, NULL);
    else if (state == GST_WEBRTC_DTLS_TRANSPORT_STATE_CLOSED && w->closed_kind >= 0)
        ls_webrtc_post(w->context, w->target, w->owner, w->closed_kind,
                       "the peer closed its connection (DTLS close_notify)");
}

static void free_dtls_watch(gpointer data, GClosure *closure)
{
    dtls_watch *w = data;
    w->target->unref(w->owner);
    g_main_context_unref(w->context);
    g_free(w);
}

static void watch_transport(GstWebRTCDTLSTransport *dtls, const dtls_watch *how)
{
    if (g_signal_handler_find(dtls, G_SIGNAL_MATCH_FUNC, 0, 0, NULL, on_dtls_state, NULL))
        return;   /* bundled: already watched for another transceiver */
    dtls_watch *w = g_memdup2(how, sizeof *how);
    w->owner = how->target->ref(how->owner);
    g_main_context_ref(w->context);
    g_signal_connect_data(dtls, "notify::state", G_CALLBACK(on_dtls_state), w, free_dtls_watch, 0);
    on_dtls_state(G_OBJECT(dtls), NULL, w);
}

void ls_webrtc_watch_dtls(GstElement *webrtcbin, GMainContext *context, const ls_webrtc_event_target *target,
                          void *owner, int connected_kind, int closed_kind)
{
    const dtls_watch how = { context, target, owner, connected_kind, closed_kind };
    GArray *transceivers = NULL;
    g_signal_emit_by_name(webrtcbin, "get-transceivers", &transceivers);
    for (guint i = 0; transceivers && i < transceivers->len; i++) {
        GstWebRTCRTPSender *sender = NULL;
        GstWebRTCDTLSTransport *dtls = NULL;
        g_object_get(g_array_index(transceivers, GstWebRTCRTPTransceiver *, i), "sender", &sender, NULL);
        if (sender)
            g_object_get(sender, "transport", &dtls, NULL);
        if (dtls) {
            watch_transport(dtls, &how);
            gst_object_unref(dtls);
        }
        if (sender)
            gst_object_unref(sender);
    }
    if (transceivers)
        g_array_unref(transceivers);
}

int ls_webrtc_set_local_description(GstPromise *promise, GstElement *webrtcbin, const char *kind, char *why,
                                    size_t size)
{
    if (ls_webrtc_promise_failed(promise, why, size))
        return 1;
    GstWebRTCSessionDescription *desc = NULL;
    gst_structure_get(gst_promise_get_reply(promise), kind, GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &desc, NULL);
    if (!desc) {
        snprintf(why, size, "webrtc: create-%s gave no %s", kind, kind);
        return 1;
    }
    g_signal_emit_by_name(webrtcbin, "set-local-description", desc, NULL);
    gst_webrtc_session_description_free(desc);
    return 0;
}
