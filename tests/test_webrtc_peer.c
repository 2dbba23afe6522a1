/*
 * test_webrtc_peer.c - the server side of WebRTC in process: answers to
 * real offers (tests/e2e/offers) without a browser.
 *
 * For each offer the peer must answer within the 3 s fallback with an SDP
 * that sends (a=sendonly) the chosen codec under the offer's payload type,
 * holds a 127.0.0.1 host candidate (non-trickle), and bundles exactly when
 * the offer can be bundled. Pushing frames before any peer connects must
 * not block. An offer webrtcbin rejects ends in the answer callback's error,
 * not a crash. Sanitizers check the teardown.
 *
 * usage: test_webrtc_peer OFFERS_DIR
 */
#include <string.h>

#include <gst/gst.h>

#include "check.h"
#include "media/webrtc_peer.h"

typedef struct outcome {
    int done;
    char *sdp;
    char error[256];
} outcome;

static void on_answer(void *user, const char *sdp, const char *error)
{
    outcome *o = user;
    o->done = 1;
    o->sdp = g_strdup(sdp);
    if (error)
        g_strlcpy(o->error, error, sizeof o->error);
}

static void on_closed(void *user, const char *why)
{
}

static int answer_offer(GMainContext *ctx, const char *offer, const ls_offer_media *m, outcome *o, double *seconds)
{
    ls_webrtc_config cfg = { 64, 48, NULL, ctx };
    ls_webrtc_callbacks cb = { on_answer, on_closed, o };
    ls_webrtc_peer *peer;
    ls_error err;
    memset(o, 0, sizeof *o);
    gint64 t0 = g_get_monotonic_time();
    if (ls_webrtc_peer_new(offer, m, &cfg, &cb, &peer, &err) < 0) {
        CHECK(0, "peer: %s", err.msg);
        return -1;
    }
    while (!o->done && g_get_monotonic_time() - t0 < 5 * G_USEC_PER_SEC)
        g_main_context_iteration(ctx, TRUE);
    *seconds = (g_get_monotonic_time() - t0) / 1e6;

    /* frames before anyone is connected: dropped, never waited for */
    ls_image frame;
    ls_image_alloc(&frame, 64, 48, 3, &err);
    memset(frame.data, 90, 64 * 48 * 3);
    int16_t audio[LS_MEDIA_AUDIO_PER_VIDEO] = { 0 };
    gint64 t1 = g_get_monotonic_time();
    int pushed = 0;
    for (int n = 0; n < 50; n++)
        pushed += ls_media_sink_push_frame(ls_webrtc_peer_sink(peer), &frame, audio, n) == 0;
    double push_ms = (g_get_monotonic_time() - t1) / 1000.0;
    CHECK(pushed == 50 && push_ms < 1000, "50 pushes: %d ok in %.1f ms", pushed, push_ms);
    ls_image wrong;
    ls_image_alloc(&wrong, 32, 32, 3, &err);
    CHECK(ls_media_sink_push_frame(ls_webrtc_peer_sink(peer), &wrong, audio, 50) < 0, "a frame of the wrong size");
    ls_image_free(&wrong);
    ls_image_free(&frame);
    ls_webrtc_peer_free(peer);
    while (g_main_context_pending(ctx))
        g_main_context_iteration(ctx, FALSE);
    return 0;
}

static void check_answer(GMainContext *ctx, const char *name, const char *offer)
{
    ls_offer_media m;
    ls_error err;
    if (ls_sdp_offer_read(offer, strlen(offer), &m, &err) < 0) {
        CHECK(0, "%s: %s", name, err.msg);
        return;
    }
    outcome o;
    double seconds;
    if (answer_offer(ctx, offer, &m, &o, &seconds) < 0)
        return;
    CHECK(o.sdp != NULL, "%s: no answer (%s)", name, o.error);
    if (o.sdp) {
        char rtpmap[64];
        snprintf(rtpmap, sizeof rtpmap, "a=rtpmap:%d %s/90000", m.video_pt, ls_video_codec_name(m.video_codec));
        char opus[64];
        snprintf(opus, sizeof opus, "a=rtpmap:%d OPUS/48000/2", m.audio_pt);
        int bundled = strstr(o.sdp, "a=group:BUNDLE") != NULL;
        printf("%-22s answered in %.2f s: %s pt %d, Opus pt %d, bundle %d, loopback candidate %s\n", name, seconds,
               ls_video_codec_name(m.video_codec), m.video_pt, m.audio_pt, bundled,
               strstr(o.sdp, " 127.0.0.1 ") ? "yes" : "no");
        CHECK(strstr(o.sdp, rtpmap), "%s: no '%s' in the answer:\n%s", name, rtpmap, o.sdp);
        CHECK(g_strrstr(o.sdp, opus) || strstr(o.sdp, "opus/48000/2"), "%s: no Opus %d", name, m.audio_pt);
        CHECK(strstr(o.sdp, "a=sendonly"), "%s: not sendonly", name);
        CHECK(strstr(o.sdp, "a=candidate:") && strstr(o.sdp, " 127.0.0.1 "), "%s: no loopback candidate", name);
        CHECK(bundled == m.bundle, "%s: bundle %d, offer allows %d", name, bundled, m.bundle);
        CHECK(seconds < 3.5, "%s: answer took %.2f s", name, seconds);
    }
    g_free(o.sdp);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_webrtc_peer OFFERS_DIR\n");
        return 2;
    }
    gst_init(NULL, NULL);
    GMainContext *ctx = g_main_context_new();
    const char *names[] = { "chrome.sdp", "firefox.sdp", "aiortc.sdp" };
    char *chrome = NULL;
    for (int i = 0; i < 3; i++) {
        char *path = g_build_filename(argv[1], names[i], NULL), *offer = NULL;
        CHECK(g_file_get_contents(path, &offer, NULL, NULL), "cannot read %s", path);
        if (offer)
            check_answer(ctx, names[i], offer);
        if (i == 0)
            chrome = offer;
        else
            g_free(offer);
        g_free(path);
    }
    if (chrome) {
        /* the browser prefers H.264: the answer sends it under PT 108 */
        const char *formats = "SAVPF 96 97 98";
        char *at = strstr(chrome, formats);
        if (at) {
            char *h264 = g_strdup_printf("%.*sSAVPF 108 109 96 97 98%s", (int)(at - chrome), chrome,
                                         at + strlen(formats));
            check_answer(ctx, "chrome, H.264 first", h264);
            g_free(h264);
        }
        /* webrtcbin refuses this one (a BUNDLE group naming a missing m-line): an error, no crash */
        char *broken = g_strdup(chrome);
        char *group = strstr(broken, "a=group:BUNDLE 0 1");
        if (group)
            memcpy(group, "a=group:BUNDLE 0 7", 18);
        ls_offer_media m;
        ls_error err;
        outcome o;
        double seconds;
        if (ls_sdp_offer_read(broken, strlen(broken), &m, &err) == 0 && answer_offer(ctx, broken, &m, &o, &seconds) == 0) {
            printf("broken BUNDLE group -> %s\n", o.sdp ? "an answer" : o.error);
            CHECK(o.done, "the answer callback ran");
            g_free(o.sdp);
        }
        g_free(broken);
        g_free(chrome);
    }
    g_main_context_unref(ctx);
    gst_deinit();
    return check_result("test_webrtc_peer");
}
